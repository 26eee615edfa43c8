package dtlssrtp

import (
	"bytes"
	"crypto/aes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// aeadProfiles are the profiles whose outgoing RTP aeadSender protects.
var aeadProfiles = []Profile{ProfileAEADAES128GCM, ProfileAEADAES256GCM}

// keyedSession returns a Session keyed with random master keys, without a
// handshake, and the material it was keyed with.
func keyedSession(t testing.TB, p Profile, seed uint64) (*Session, KeyingMaterial) {
	t.Helper()
	material := make([]byte, KeyingMaterialLen(p))
	r := rand.New(rand.NewPCG(seed, uint64(p)))
	for i := range material {
		material[i] = byte(r.Uint32())
	}
	keys, err := SplitKeyingMaterial(p, dtlsparams.RoleClient, material)
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	if err := s.setKeys(keys, 0); err != nil {
		t.Fatal(err)
	}
	return &s, keys
}

// receiver is pion/srtp's decryption context for what the Session with
// keys sends, with its ROC of ssrc set to roc when roc >= 0.
func receiver(t testing.TB, keys KeyingMaterial, ssrc uint32, roc int64) *srtp.Context {
	t.Helper()
	c, err := srtp.CreateContext(keys.LocalKey, keys.LocalSalt, keys.Profile.srtpProfile())
	if err != nil {
		t.Fatal(err)
	}
	if roc >= 0 {
		c.SetROC(ssrc, uint32(roc))
	}
	return c
}

// rtpPacket marshals an RTP packet; csrc adds two CSRCs and a one-byte
// header extension (RFC 8285 §4.2).
func rtpPacket(t testing.TB, ssrc uint32, seq uint16, payload []byte, csrc bool) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
		Timestamp: uint32(seq) * 90, SSRC: ssrc}, Payload: payload}
	if csrc {
		p.CSRC = []uint32{0x01020304, 0x05060708}
		if err := p.SetExtension(3, []byte{1, 2, 3}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProtectRTPPion: what ProtectRTP and ProtectRTPParts produce, pion's
// receiving context decrypts, for every profile, across three interleaved
// SSRCs, a sequence wrap (ROC 0 to 1), a retransmission of a packet from
// before the wrap, CSRCs with a header extension, an empty payload and a
// header marshalled in place in dst.
func TestProtectRTPPion(t *testing.T) {
	type send struct {
		ssrc    uint32
		seq     uint16
		payload int
		csrc    bool
	}
	var plan []send
	for i := range 12 {
		seq := uint16(65530 + i) // wraps after 6
		plan = append(plan,
			send{0xA, seq, 1200, i%3 == 0},
			send{0xB, uint16(100 + i), 160, false},
			send{0xC, seq + 3, i % 2 * 50, true}, // wraps after 3, empty payloads
		)
	}
	plan = append(plan, send{0xA, 65532, 1200, false}, send{0xC, 65535, 0, true}, send{0xA, 6, 1200, false})
	for _, p := range AllProfiles {
		t.Run(p.String(), func(t *testing.T) {
			s, keys := keyedSession(t, p, 1)
			rx := receiver(t, keys, 0, -1)
			dst := make([]byte, 0, 1500)
			for i, pk := range plan {
				payload := bytes.Repeat([]byte{byte(i)}, pk.payload)
				plain := rtpPacket(t, pk.ssrc, pk.seq, payload, pk.csrc)
				hl := len(plain) - len(payload)
				var out []byte
				var err error
				switch i % 3 {
				case 0:
					out, err = s.ProtectRTP(dst[:0], plain)
				case 1:
					out, err = s.ProtectRTPParts(dst[:0], plain[:hl], payload)
				default: // the header marshalled in place, the payload after it
					buf := append(dst[:0], plain...)
					out, err = s.ProtectRTPParts(buf, buf[:hl], buf[hl:])
				}
				if err != nil {
					t.Fatalf("packet %d: %v", i, err)
				}
				if len(out) != len(plain)+p.Overhead() || &out[0] != &dst[:1][0] {
					t.Fatalf("packet %d: %d bytes, want %d in dst", i, len(out), len(plain)+p.Overhead())
				}
				got, err := rx.DecryptRTP(nil, out, nil)
				if err != nil {
					t.Fatalf("packet %d (SSRC %x seq %d): pion: %v", i, pk.ssrc, pk.seq, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("packet %d: pion decrypted %x, want %x", i, got, plain)
				}
			}
		})
	}
}

// TestProtectRTPRetransmissionROC: after a wrap, a retransmission of a
// packet from before it is protected with the old ROC, one from after it
// with the new one, and the index closest to the highest sent wins (RFC
// 3711 §3.3.1); fresh pion contexts set to each ROC tell which was used.
func TestProtectRTPRetransmissionROC(t *testing.T) {
	for _, p := range aeadProfiles {
		t.Run(p.String(), func(t *testing.T) {
			s, keys := keyedSession(t, p, 2)
			for _, seq := range []uint16{65534, 65535, 0, 1, 100} {
				if _, err := s.ProtectRTP(nil, rtpPacket(t, 7, seq, []byte{1}, false)); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				seq uint16
				roc uint32
			}{
				{65535, 0}, {65534, 0}, // from before the wrap
				{50, 1}, {100, 1}, // from after it
				{40000, 0},                       // 39,900 ahead of 100 is further than 25,636 behind it
				{32000, 1}, {65000, 0}, {200, 1}, // 31,900 ahead is new; then 65000 is 33,000 ahead, so old
			} {
				out, err := s.ProtectRTP(nil, rtpPacket(t, 7, c.seq, []byte{2}, false))
				if err != nil {
					t.Fatal(err)
				}
				for _, roc := range []uint32{c.roc, c.roc + 1} {
					_, err := receiver(t, keys, 7, int64(roc)).DecryptRTP(nil, out, nil)
					if (err == nil) != (roc == c.roc) {
						t.Errorf("seq %d: decrypting with ROC %d: %v, want the packet to carry ROC %d", c.seq, roc, err, c.roc)
					}
				}
			}
		})
	}
}

// TestRollover: the sender's ROC per sequence number, newest first when
// less than half the space ahead, else a retransmission in the cycle
// closest to the highest sent.
func TestRollover(t *testing.T) {
	a := &aeadSender{}
	for _, c := range []struct {
		seq uint16
		roc uint32
	}{
		{65000, 0}, {10, 1}, // a wrap
		{40000, 0},             // 39,990 ahead of 10: further than 25,546 behind, so old
		{30000, 1}, {60000, 1}, // less than half ahead: new
		{100, 2}, {59000, 1}, {101, 2}, {65535, 1}, {0, 2},
	} {
		if roc, err := a.rollover(9, c.seq); err != nil || roc != c.roc {
			t.Fatalf("seq %d: ROC %d, %v; want %d", c.seq, roc, err, c.roc)
		}
	}
}

// TestProtectRTPIndexErrors: a packet before the SSRC's first across a
// wrap has no index, and a ROC past 2^32-1 is refused (RFC 3711 §9.2).
func TestProtectRTPIndexErrors(t *testing.T) {
	s, _ := keyedSession(t, ProfileAEADAES128GCM, 3)
	if _, err := s.ProtectRTP(nil, rtpPacket(t, 1, 100, nil, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProtectRTP(nil, rtpPacket(t, 1, 65000, nil, false)); !errors.Is(err, ErrRTPIndex) {
		t.Fatalf("seq 65000 after first seq 100: %v, want ErrRTPIndex", err)
	}
	if _, err := s.ProtectRTP(nil, rtpPacket(t, 1, 50, nil, false)); err != nil {
		t.Fatalf("seq 50 after first seq 100, same ROC: %v", err)
	}
	s.outRTP.streams[0].roc = math.MaxUint32
	for _, seq := range []uint16{30000, 60000} {
		if _, err := s.ProtectRTP(nil, rtpPacket(t, 1, seq, nil, false)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ProtectRTP(nil, rtpPacket(t, 1, 3, nil, false)); !errors.Is(err, ErrRTPIndex) {
		t.Fatalf("wrap at ROC 2^32-1: %v, want ErrRTPIndex", err)
	}
}

// TestProtectRTPTooManySSRCs: MaxSendSSRCs SSRCs are served, the next is
// refused, and the first ones keep working.
func TestProtectRTPTooManySSRCs(t *testing.T) {
	s, keys := keyedSession(t, ProfileAEADAES128GCM, 4)
	for i := range MaxSendSSRCs {
		if _, err := s.ProtectRTP(nil, rtpPacket(t, uint32(i), 1, nil, false)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ProtectRTP(nil, rtpPacket(t, 1000, 1, nil, false)); !errors.Is(err, ErrTooManySSRCs) {
		t.Fatalf("SSRC %d: %v, want ErrTooManySSRCs", MaxSendSSRCs+1, err)
	}
	out, err := s.ProtectRTP(nil, rtpPacket(t, 5, 2, []byte{1}, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := receiver(t, keys, 5, 0).DecryptRTP(nil, out, nil); err != nil {
		t.Fatal(err)
	}
}

// TestProtectRTPBadHeader: malformed headers give ErrBadRTPHeader, never a
// panic, with every profile (the others check before joining for pion).
func TestProtectRTPBadHeader(t *testing.T) {
	good := rtpPacket(t, 1, 1, nil, true) // 12 + 8 CSRC + 8 extension
	cases := []struct {
		name   string
		header []byte
		parts  bool // only ProtectRTPParts can tell a header too long
	}{
		{"empty", nil, false},
		{"11 bytes", good[:11], false},
		{"version 1", append([]byte{0x50}, good[1:]...), false},
		{"CSRCs cut", good[:16], false},
		{"extension header cut", good[:22], false},
		{"extension cut", good[:27], false},
		{"extension length too long", append(append([]byte{}, good[:22]...), 0, 9, 0, 0, 0, 0), false},
		{"cryptex", append(append([]byte{0x90}, good[1:12]...), 0xC0, 0xDE, 0, 0), false},
		{"header too long", append(append([]byte{}, good...), 0), true},
		{"payload in header", rtpPacket(t, 1, 1, []byte{1, 2, 3, 4}, false), true},
	}
	for _, p := range AllProfiles {
		s, _ := keyedSession(t, p, 5)
		for _, c := range cases {
			if _, err := s.ProtectRTPParts(nil, c.header, []byte{1}); !errors.Is(err, ErrBadRTPHeader) {
				t.Errorf("%v %s: ProtectRTPParts: %v, want ErrBadRTPHeader", p, c.name, err)
			}
			if !p.aead() || c.parts {
				continue // pion's own parse error
			}
			if _, err := s.ProtectRTP(nil, c.header); !errors.Is(err, ErrBadRTPHeader) {
				t.Errorf("%v %s: ProtectRTP: %v, want ErrBadRTPHeader", p, c.name, err)
			}
		}
	}
	var zero Session
	if _, err := zero.ProtectRTPParts(nil, good, nil); !errors.Is(err, ErrNotEstablished) {
		t.Errorf("zero Session: %v, want ErrNotEstablished", err)
	}
}

// TestProtectRTPPartsAllocs: with a dst of enough capacity neither
// ProtectRTP nor ProtectRTPParts allocates, with any profile. The
// AES-CM profiles go through pion/srtp, whose sync.Pool the race
// detector empties at random (a quarter of Puts): one call per run keeps
// that below one allocation per run, as TestSessionProtectZeroAllocs does.
func TestProtectRTPPartsAllocs(t *testing.T) {
	for _, p := range AllProfiles {
		s, _ := keyedSession(t, p, 6)
		plain := rtpPacket(t, 1, 0, make([]byte, 1200), true)
		hl := len(plain) - 1200
		dst := make([]byte, 0, 1500)
		seq := uint16(0)
		if n := testing.AllocsPerRun(100, func() {
			seq++
			binary.BigEndian.PutUint16(plain[2:], seq)
			if _, err := s.ProtectRTPParts(dst, plain[:hl], plain[hl:]); err != nil {
				t.Fatal(err)
			}
			if !p.aead() {
				return
			}
			if _, err := s.ProtectRTP(dst, plain); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%v: %v allocs/op", p, n)
		}
	}
}

// TestDeriveSessionKeyRFC3711: the AES-CM PRF reproduces the key
// derivation test vectors of RFC 3711 Appendix B.3.
func TestDeriveSessionKeyRFC3711(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	master, err := aes.NewCipher(unhex("E1F97A0D3E018BE0D64FA32C06DE4139"))
	if err != nil {
		t.Fatal(err)
	}
	masterSalt := unhex("0EC675AD498AFEEBB6960B3AABE6")
	for _, c := range []struct {
		label byte
		want  string
	}{
		{labelSRTPEncryption, "C61E7A93744F39EE10734AFE3FF7A087"},
		{labelSRTPSalt, "30CBBC08863D8C85D49DB34A9AE1"},
		{0x01, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE" +
			"E049646C43D9327AD175578EF7227098" + "6371C10C9A369AC2F94A8C5FBCDDDC256D6E919A48B610EF17C2041E47403576" +
			"6B68642C59BBFC2F34DB60DBDFB2"},
	} {
		want := unhex(c.want)
		out := make([]byte, len(want))
		deriveSessionKey(master, c.label, masterSalt, out)
		if !bytes.Equal(out, want) {
			t.Errorf("label %d: %X, want %X", c.label, out, want)
		}
	}
}

// rtpSeeds are RTP packets shaped like real senders': this module's peer
// (abs-send-time, RFC 8285 one-byte), a browser's video (abs-send-time,
// transport-cc, mid), two-byte extensions, a mixer's CSRCs, padding.
func rtpSeeds(t testing.TB) [][]byte {
	t.Helper()
	mk := func(seq uint16, csrcs int, ext map[uint8][]byte, twoByte bool, payload, padding int) []byte {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, Marker: seq%2 == 0, SequenceNumber: seq,
			Timestamp: 3000 * uint32(seq), SSRC: 0x5eed0000 | uint32(seq)}, Payload: make([]byte, payload)}
		for i := range csrcs {
			p.CSRC = append(p.CSRC, uint32(i+1))
		}
		if twoByte {
			p.Extension, p.ExtensionProfile = true, rtp.ExtensionProfileTwoByte
		}
		for id := uint8(1); id < 255; id++ {
			if v, ok := ext[id]; ok {
				if err := p.SetExtension(id, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if padding > 0 {
			p.Padding, p.PaddingSize = true, byte(padding)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return [][]byte{
		mk(1, 0, map[uint8][]byte{2: {1, 2, 3}}, false, 1200, 0),
		mk(2, 0, map[uint8][]byte{2: {1, 2, 3}, 3: {0, 7}, 4: []byte("0")}, false, 1100, 0),
		mk(3, 0, map[uint8][]byte{1: {}, 200: bytes.Repeat([]byte{9}, 20)}, true, 160, 0),
		mk(4, 15, nil, false, 40, 0),
		mk(65535, 2, map[uint8][]byte{14: {5}}, false, 0, 0),
		mk(6, 0, nil, false, 0, 224), // a padding-only probe
		{0x80, 0x60},
		{0x40, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},
	}
}

// FuzzProtectRTPParts: any packet whose header is valid is protected so
// that pion/srtp decrypts it back, a header split anywhere else is
// refused with ErrBadRTPHeader, and nothing panics.
func FuzzProtectRTPParts(f *testing.F) {
	for _, seed := range rtpSeeds(f) {
		f.Add(seed, uint16(12))
		f.Add(seed, uint16(20))
	}
	f.Fuzz(func(t *testing.T, pkt []byte, split uint16) {
		s, keys := keyedSession(t, ProfileAEADAES128GCM, 7)
		hl, err := rtpHeaderLen(pkt)
		k := min(int(split), len(pkt))
		if err != nil || k != hl {
			if _, err := s.ProtectRTPParts(nil, pkt[:k], pkt[k:]); !errors.Is(err, ErrBadRTPHeader) {
				t.Fatalf("header %x (valid length %d): %v, want ErrBadRTPHeader", pkt[:k], hl, err)
			}
			if err != nil {
				return
			}
		}
		out, err := s.ProtectRTPParts(make([]byte, 0, len(pkt)+gcmTagLen), pkt[:hl], pkt[hl:])
		if err != nil {
			t.Fatalf("%x: %v", pkt, err)
		}
		var h rtp.Header
		if n, err := h.Unmarshal(pkt); err != nil || n != hl {
			return // pion's receiver cannot parse it (e.g. padding longer than the payload)
		}
		got, err := receiver(t, keys, 0, -1).DecryptRTP(nil, out, nil)
		if err != nil || !bytes.Equal(got, pkt) {
			t.Fatalf("%x: pion decrypted %x, %v", pkt, got, err)
		}
	})
}

// BenchmarkProtectRTP compares pion/srtp's EncryptRTP, behind a mutex as
// Session.ProtectRTP called it, with ProtectRTPParts, on the
// AEAD_AES_128_GCM profile, for a video-sized and an audio-sized payload
// behind the 20-byte header the peer writes (abs-send-time). With
// sessions/1000 each packet goes to the next of 1,000 sessions, as a
// fan-out server sends a frame to its viewers: the per-session state is
// then out of the CPU's caches, as it is in a server.
func BenchmarkProtectRTP(b *testing.B) {
	for _, sessions := range []int{1, 1000} {
		for _, size := range []int{1200, 160} {
			name := fmt.Sprintf("%d/sessions=%d", size, sessions)
			plain := append(rtpSeeds(b)[0][:20:20], make([]byte, size)...)
			dst := make([]byte, 0, 1500)
			own := make([]*Session, sessions)
			pion := make([]*srtp.Context, sessions)
			for i := range own {
				var keys KeyingMaterial
				own[i], keys = keyedSession(b, ProfileAEADAES128GCM, uint64(i))
				pion[i] = receiver(b, keys, 0, -1)
			}
			var mu sync.Mutex
			var hdr rtp.Header
			b.Run("pion/"+name, func(b *testing.B) {
				benchProtect(b, plain, func(i int) error {
					mu.Lock()
					defer mu.Unlock()
					_, err := pion[i%sessions].EncryptRTP(dst, plain, &hdr)
					return err
				})
			})
			b.Run("own/"+name, func(b *testing.B) {
				benchProtect(b, plain, func(i int) error {
					_, err := own[i%sessions].ProtectRTPParts(dst, plain[:20], plain[20:])
					return err
				})
			})
		}
	}
}

// benchProtect runs protect(i) for packet i, advancing plain's sequence
// number once per round of sessions.
func benchProtect(b *testing.B, plain []byte, protect func(i int) error) {
	b.SetBytes(int64(len(plain) - 20))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		binary.BigEndian.PutUint16(plain[2:], uint16(i/1000))
		if err := protect(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
