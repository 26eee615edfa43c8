package stun_test

import (
	"fmt"
	"net/netip"

	"github.com/streamwire/streamwire/stun"
)

// An ICE-lite server answers a connectivity check: decode, verify with the
// local ice-pwd, answer with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and
// FINGERPRINT.
func ExampleMessage_Decode() {
	integ := stun.NewShortTermIntegrity("local-ice-pwd-0123456789")

	// A request as a browser would send it (built here for the example).
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	b.AddUsername("srvufrag:brwsufrag")
	b.AddPriority(1845501695)
	b.AddICEControlling(0x1122334455667788)
	b.AddUseCandidate()
	b.AddMessageIntegrity(integ)
	b.AddFingerprint()
	packet, _ := b.Finish()

	var m stun.Message
	if err := m.Decode(packet); err != nil {
		fmt.Println("decode:", err)
		return
	}
	if err := integ.Verify(&m); err != nil {
		fmt.Println("integrity:", err)
		return
	}
	if err := m.VerifyFingerprint(); err != nil {
		fmt.Println("fingerprint:", err)
		return
	}
	user, _ := m.Username()
	prio, _ := m.Priority()
	fmt.Printf("%v from %s, priority %d, nominated %v\n", m.Type(), user, prio, m.UseCandidate())
	// Output: Binding request from srvufrag:brwsufrag, priority 1845501695, nominated true
}

// Building a Binding success response into a reusable buffer.
func ExampleBuilder() {
	integ := stun.NewShortTermIntegrity("local-ice-pwd-0123456789")
	buf := make([]byte, 0, 1500) // reused for every response: no allocation
	id := stun.TransactionID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}

	var b stun.Builder
	b.Start(buf[:0], stun.BindingSuccess, id)
	b.AddXORMappedAddress(netip.MustParseAddrPort("192.0.2.1:32853"))
	b.AddMessageIntegrity(integ)
	b.AddFingerprint()
	resp, err := b.Finish()
	if err != nil {
		fmt.Println(err)
		return
	}

	var m stun.Message
	_ = m.Decode(resp)
	addr, _ := m.XORMappedAddress()
	fmt.Println(len(resp), m.Type(), addr, integ.Verify(&m), m.VerifyFingerprint())
	// Output: 64 Binding success response 192.0.2.1:32853 <nil> <nil>
}

// A server rejects a request that carries comprehension-required attributes
// it does not understand with a 420 error listing them (RFC 8489 §6.3.1).
func ExampleMessage_AppendUnknown() {
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{7})
	b.Add(stun.AttrRequestedTransport, []byte{17, 0, 0, 0}) // a TURN attribute
	b.Add(0x7001, []byte("?"))                              // unassigned, required
	b.Add(0xC123, []byte("optional"))                       // ignored: optional range
	req, _ := b.Finish()

	var m stun.Message
	_ = m.Decode(req)
	var scratch [8]stun.AttrType
	unknown := m.AppendUnknown(scratch[:0])
	fmt.Println(unknown)

	b.Start(nil, stun.BindingError, m.TransactionID())
	b.AddErrorCode(stun.CodeUnknownAttribute, "")
	b.AddUnknownAttributes(unknown)
	resp, _ := b.Finish()
	_ = m.Decode(resp)
	code, reason, _ := m.ErrorCode()
	fmt.Println(m.Type(), code, string(reason))
	// Output:
	// [REQUESTED-TRANSPORT 0x7001]
	// Binding error response 420 Unknown Attribute
}

// Long-term credentials (RFC 8489 §9.2): the key is derived once from
// username, realm and password and reused for every message of the session.
func ExampleNewLongTermIntegrity() {
	integ := stun.NewLongTermIntegrity("1700000000:alice", "streamwire.test", "s3cr3t")
	fmt.Printf("%x\n", integ.Key())

	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{1})
	b.AddUsername("1700000000:alice")
	b.AddRealm("streamwire.test")
	b.AddNonce("n0nce")
	b.AddMessageIntegrity(integ)
	b.AddFingerprint()
	req, _ := b.Finish()

	var m stun.Message
	_ = m.Decode(req)
	fmt.Println(integ.Verify(&m))
	fmt.Println(stun.NewLongTermIntegrity("1700000000:alice", "streamwire.test", "wrong").Verify(&m))
	// Output:
	// 31296577b3ff5ef8314472710c85e993
	// <nil>
	// stun: message integrity mismatch
}
