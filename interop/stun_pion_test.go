package interop

// Cross-checks of streamwire/stun against pion/stun v3: messages built by one
// library decode and verify (MESSAGE-INTEGRITY, short-term and long-term, and
// FINGERPRINT) in the other, and the attributes read back equal.

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	pstun "github.com/pion/stun/v3"

	"github.com/streamwire/streamwire/stun"
)

// stunCredentials are the two kinds of credential both libraries support.
var stunCredentials = []struct {
	name                  string
	user, realm, password string
	ours                  func() *stun.Integrity
	pion                  func() pstun.MessageIntegrity
}{
	{
		name: "short-term", user: "srvU:brwU", password: "streamwireIceLitePwd0123",
		ours: func() *stun.Integrity { return stun.NewShortTermIntegrity("streamwireIceLitePwd0123") },
		pion: func() pstun.MessageIntegrity { return pstun.NewShortTermIntegrity("streamwireIceLitePwd0123") },
	},
	{
		name: "long-term", user: "1700000000:alice", realm: "streamwire.test", password: "s3cr3t/Base64+=",
		ours: func() *stun.Integrity {
			return stun.NewLongTermIntegrity("1700000000:alice", "streamwire.test", "s3cr3t/Base64+=")
		},
		pion: func() pstun.MessageIntegrity {
			return pstun.NewLongTermIntegrity("1700000000:alice", "streamwire.test", "s3cr3t/Base64+=")
		},
	},
}

var stunPionAddrs = []netip.AddrPort{
	netip.MustParseAddrPort("203.0.113.77:40000"),
	netip.MustParseAddrPort("[2001:db8:85a3::8a2e:370:7334]:3478"),
}

func TestSTUNPionDecodesOurs(t *testing.T) {
	for _, cred := range stunCredentials {
		for _, addr := range stunPionAddrs {
			t.Run(cred.name+"/"+addr.String(), func(t *testing.T) {
				id := stun.TransactionID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}
				var b stun.Builder
				b.Start(nil, stun.BindingRequest, id)
				b.AddUsername(cred.user)
				if cred.realm != "" {
					b.AddRealm(cred.realm)
					b.AddNonce("nonce-0123456789")
				}
				b.AddSoftware("streamwire interop")
				b.AddPriority(1853824767)
				b.AddICEControlling(0x0102030405060708)
				b.AddUseCandidate()
				b.AddXORMappedAddress(addr)
				b.AddErrorCode(stun.CodeRoleConflict, "")
				b.AddMessageIntegrity(cred.ours())
				b.AddFingerprint()
				raw, err := b.Finish()
				if err != nil {
					t.Fatal(err)
				}

				m := new(pstun.Message)
				if err := pstun.Decode(raw, m); err != nil {
					t.Fatalf("pion decode: %v", err)
				}
				if m.Type != pstun.BindingRequest || m.TransactionID != [12]byte(id) {
					t.Fatalf("pion sees %v %x", m.Type, m.TransactionID)
				}
				if err := cred.pion().Check(m); err != nil {
					t.Fatalf("pion MESSAGE-INTEGRITY: %v", err)
				}
				if err := pstun.Fingerprint.Check(m); err != nil {
					t.Fatalf("pion FINGERPRINT: %v", err)
				}
				if err := pstun.NewShortTermIntegrity("wrong").Check(m); err == nil {
					t.Fatal("pion accepted a wrong key")
				}
				var (
					user pstun.Username
					sw   pstun.Software
					xor  pstun.XORMappedAddress
					ec   pstun.ErrorCodeAttribute
				)
				if err := m.Parse(&user, &sw, &xor, &ec); err != nil {
					t.Fatalf("pion parse: %v", err)
				}
				if user.String() != cred.user || sw.String() != "streamwire interop" {
					t.Errorf("pion USERNAME %q SOFTWARE %q", user, sw)
				}
				if got, _ := netip.AddrFromSlice(xor.IP); got.Unmap() != addr.Addr() || xor.Port != int(addr.Port()) {
					t.Errorf("pion XOR-MAPPED-ADDRESS %v, want %v", xor, addr)
				}
				if ec.Code != 487 || string(ec.Reason) != "Role Conflict" {
					t.Errorf("pion ERROR-CODE %v", ec)
				}
				if cred.realm != "" {
					var realm pstun.Realm
					if err := realm.GetFrom(m); err != nil || realm.String() != cred.realm {
						t.Errorf("pion REALM %q, %v", realm, err)
					}
				}
				prio, err := m.Get(pstun.AttrPriority)
				if err != nil || binary.BigEndian.Uint32(prio) != 1853824767 {
					t.Errorf("pion PRIORITY %x, %v", prio, err)
				}
				if !m.Contains(pstun.AttrUseCandidate) {
					t.Error("pion misses USE-CANDIDATE")
				}
			})
		}
	}
}

func TestSTUNOursDecodesPion(t *testing.T) {
	for _, cred := range stunCredentials {
		for _, addr := range stunPionAddrs {
			t.Run(cred.name+"/"+addr.String(), func(t *testing.T) {
				id := [12]byte{9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0xaa, 0xbb}
				prio := make([]byte, 4)
				binary.BigEndian.PutUint32(prio, 2130706431)
				setters := []pstun.Setter{
					pstun.BindingSuccess, pstun.NewTransactionIDSetter(id),
					pstun.NewUsername(cred.user),
					pstun.NewSoftware("pion interop"),
					&pstun.XORMappedAddress{IP: net.IP(addr.Addr().AsSlice()), Port: int(addr.Port())},
					&pstun.MappedAddress{IP: net.IP(addr.Addr().AsSlice()), Port: int(addr.Port())},
					pstun.ErrorCodeAttribute{Code: 438, Reason: []byte("Stale Nonce")},
					pstun.UnknownAttributes{0x0042, 0x7001},
					pstun.RawAttribute{Type: pstun.AttrPriority, Value: prio},
				}
				if cred.realm != "" {
					setters = append(setters, pstun.NewRealm(cred.realm), pstun.NewNonce("n0nce"))
				}
				setters = append(setters, cred.pion(), pstun.Fingerprint)
				pm, err := pstun.Build(setters...)
				if err != nil {
					t.Fatal(err)
				}

				var m stun.Message
				if err := m.Decode(pm.Raw); err != nil {
					t.Fatalf("decode pion's %x: %v", pm.Raw, err)
				}
				if m.Type() != stun.BindingSuccess || m.TransactionID() != stun.TransactionID(id) {
					t.Fatalf("type %v id %v", m.Type(), m.TransactionID())
				}
				if err := cred.ours().Verify(&m); err != nil {
					t.Fatalf("MESSAGE-INTEGRITY: %v", err)
				}
				if err := m.VerifyFingerprint(); err != nil {
					t.Fatalf("FINGERPRINT: %v", err)
				}
				if err := stun.NewShortTermIntegrity("wrong").Verify(&m); err != stun.ErrIntegrity {
					t.Fatalf("wrong key: %v", err)
				}
				if got, err := m.XORMappedAddress(); err != nil || got != addr {
					t.Errorf("XOR-MAPPED-ADDRESS %v, %v; want %v", got, err, addr)
				}
				if got, err := m.MappedAddress(); err != nil || got != addr {
					t.Errorf("MAPPED-ADDRESS %v, %v; want %v", got, err, addr)
				}
				if u, err := m.Username(); err != nil || string(u) != cred.user {
					t.Errorf("USERNAME %q, %v", u, err)
				}
				if code, reason, err := m.ErrorCode(); err != nil || code != 438 || string(reason) != "Stale Nonce" {
					t.Errorf("ERROR-CODE %d %q, %v", code, reason, err)
				}
				if ua, err := m.UnknownAttributes(nil); err != nil || len(ua) != 2 || ua[1] != 0x7001 {
					t.Errorf("UNKNOWN-ATTRIBUTES %v, %v", ua, err)
				}
				if p, err := m.Priority(); err != nil || p != 2130706431 {
					t.Errorf("PRIORITY %d, %v", p, err)
				}
				if cred.realm != "" {
					if r, err := m.Realm(); err != nil || string(r) != cred.realm {
						t.Errorf("REALM %q, %v", r, err)
					}
				}
				// pion's integrity covers exactly what ours does: the
				// bytes re-signed by Builder are the bytes pion sent.
				var b stun.Builder
				b.Start(nil, m.Type(), m.TransactionID())
				for typ, v := range m.All() {
					switch typ {
					case stun.AttrMessageIntegrity:
						b.AddMessageIntegrity(cred.ours())
					case stun.AttrFingerprint:
						b.AddFingerprint()
					default:
						b.Add(typ, v)
					}
				}
				out, err := b.Finish()
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != string(pm.Raw) {
					t.Errorf("re-signed\n%x\npion\n%x", out, pm.Raw)
				}
			})
		}
	}
}
