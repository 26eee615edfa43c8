package dtlssrtp

import (
	"encoding/hex"
	"testing"
)

// Real first bytes of each protocol, from RFC vectors and captures.
var demuxSamples = []struct {
	name string
	hex  string
	want PacketClass
}{
	// RFC 5769 §2.1 sample request (header and first attribute).
	{"stun binding request", "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74", ClassSTUN},
	// Binding success response header.
	{"stun success", "010100002112a442b7e7a701bc34d686fa87dfae", ClassSTUN},
	// ZRTP Hello preamble (RFC 6189 §5): 0001 0000 ... "ZRTP" magic.
	{"zrtp", "10000001" + "5a525450" + "12345678", ClassZRTP},
	// DTLS 1.2 ClientHello record header: handshake(22), DTLS 1.0 version on the first flight.
	{"dtls client hello", "16feff000000000000000000c3010000b7", ClassDTLS},
	// DTLS application data (23) and alert (21), DTLS 1.2.
	{"dtls application data", "17fefd000100000000000100200102", ClassDTLS},
	{"dtls alert", "15fefd0001000000000002001a", ClassDTLS},
	// TURN ChannelData (RFC 8656 §12.4), channel 0x4000.
	{"turn channel", "4000000401020304", ClassTURNChannel},
	// RTP VP8, payload type 96, with and without marker.
	{"rtp pt96", "8060000100000bb8a0a0a0a0", ClassRTP},
	{"rtp pt96 marker", "80e0000100000bb8a0a0a0a0", ClassRTP},
	// RTP Opus payload type 111.
	{"rtp pt111", "806f1234000000010badcafe", ClassRTP},
	// RTCP SR (200), RR (201), SDES (202), BYE (203), RTPFB (205), PSFB (206), XR (207).
	{"rtcp sr", "80c80006a0a0a0a0", ClassRTCP},
	{"rtcp rr", "81c90007a0a0a0a0", ClassRTCP},
	{"rtcp sdes", "81ca0003", ClassRTCP},
	{"rtcp bye", "81cb0001", ClassRTCP},
	{"rtcp nack", "81cd0003", ClassRTCP},
	{"rtcp pli", "81ce0002", ClassRTCP},
	{"rtcp xr", "80cf0002", ClassRTCP},
	{"empty", "", ClassUnknown},
	{"rtp one byte", "80", ClassUnknown},
	{"gap 4-15", "0a000000", ClassUnknown},
	{"gap 80-127", "7f000000", ClassUnknown},
	{"above 191", "c0000000", ClassUnknown},
}

func TestClassifySamples(t *testing.T) {
	for _, s := range demuxSamples {
		b, err := hex.DecodeString(s.hex)
		if err != nil {
			t.Fatal(err)
		}
		if got := Classify(b); got != s.want {
			t.Errorf("%s: %v, want %v", s.name, got, s.want)
		}
	}
}

// Every first byte, against the RFC 7983 §7 table written out again.
func TestClassifyEveryFirstByte(t *testing.T) {
	for c := 0; c < 256; c++ {
		var want PacketClass
		switch {
		case c < 4:
			want = ClassSTUN
		case c >= 16 && c < 20:
			want = ClassZRTP
		case c >= 20 && c < 64:
			want = ClassDTLS
		case c >= 64 && c < 80:
			want = ClassTURNChannel
		case c >= 128 && c < 192:
			want = ClassRTP
		}
		if got := Classify([]byte{byte(c), 96}); got != want {
			t.Errorf("first byte %d: %v, want %v", c, got, want)
		}
		if c >= 128 && c < 192 {
			for pt := 0; pt < 256; pt++ {
				want := ClassRTP
				if pt >= 192 && pt <= 223 {
					want = ClassRTCP
				}
				if got := Classify([]byte{byte(c), byte(pt)}); got != want {
					t.Errorf("bytes %d,%d: %v, want %v", c, pt, got, want)
				}
			}
		}
	}
}

func TestClassifyZeroAllocs(t *testing.T) {
	b := []byte{0x80, 0xc8, 0, 6}
	if n := testing.AllocsPerRun(100, func() { _ = Classify(b) }); n != 0 {
		t.Fatalf("%v allocs", n)
	}
}

func FuzzDemux(f *testing.F) {
	for _, s := range demuxSamples {
		b, _ := hex.DecodeString(s.hex)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := Classify(b)
		if c.String() == "" {
			t.Fatal("class without a name")
		}
		if len(b) == 0 {
			if c != ClassUnknown {
				t.Fatalf("empty input classified %v", c)
			}
			return
		}
		// Only the first two bytes decide.
		if c2 := Classify(b[:min(len(b), 2)]); c2 != c {
			t.Fatalf("%x: %v, but its first two bytes give %v", b, c, c2)
		}
		switch first := b[0]; c {
		case ClassRTP, ClassRTCP:
			if first < 128 || first > 191 || len(b) < 2 {
				t.Fatalf("%x classified %v", b, c)
			}
			if (c == ClassRTCP) != (b[1] >= 192 && b[1] <= 223) {
				t.Fatalf("%x: RTP/RTCP split wrong", b)
			}
		case ClassDTLS:
			if first < 20 || first > 63 {
				t.Fatalf("%x classified DTLS", b)
			}
		case ClassSTUN:
			if first > 3 {
				t.Fatalf("%x classified STUN", b)
			}
		}
	})
}
