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
