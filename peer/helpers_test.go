package peer

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// t0 is the wall clock instant of at(0) in every test.
var t0 = time.Unix(1_700_000_000, 0)

// at returns the monotime ms milliseconds after the test's start, which is
// one second after the clock's origin, as a monoClock would give it.
func at(ms float64) monotime {
	return monotime(monoOriginLead + time.Duration(ms*float64(time.Millisecond)))
}

// wallAt returns the wall clock instant of at(ms).
func wallAt(ms float64) time.Time { return t0.Add(time.Duration(ms * float64(time.Millisecond))) }

// rtpOpts describes a test RTP packet beyond its sequence number.
type rtpOpts struct {
	ssrc    uint32
	pt      uint8
	ts      uint32
	marker  bool
	payload int  // payload bytes, filled with a pattern derived from seq
	padding byte // padding bytes, 0 for none
	csrc    []uint32
	ext     map[uint8][]byte // one-byte header extensions
	twoByte bool             // use the two-byte extension profile
}

// mkRTP marshals an RTP packet with pion/rtp.
func mkRTP(t testing.TB, seq uint16, o rtpOpts) []byte {
	t.Helper()
	p := rtp.Packet{Header: rtp.Header{
		Version:        2,
		Marker:         o.marker,
		PayloadType:    o.pt,
		SequenceNumber: seq,
		Timestamp:      o.ts,
		SSRC:           o.ssrc,
		CSRC:           o.csrc,
	}}
	if o.padding > 0 {
		p.Header.Padding = true
		p.Header.PaddingSize = o.padding
	}
	for id := uint8(1); id < 255; id++ { // deterministic order
		v, ok := o.ext[id]
		if !ok {
			continue
		}
		p.Header.Extension = true
		p.Header.ExtensionProfile = rtp.ExtensionProfileOneByte
		if o.twoByte {
			p.Header.ExtensionProfile = rtp.ExtensionProfileTwoByte
		}
		if err := p.Header.SetExtension(id, v); err != nil {
			t.Fatalf("SetExtension(%d): %v", id, err)
		}
	}
	p.Payload = bytes.Repeat([]byte{byte(seq), byte(seq >> 8), 0xA5}, o.payload/3+1)[:o.payload]
	b, err := p.Marshal()
	if err != nil {
		t.Fatalf("marshal RTP: %v", err)
	}
	return b
}

// parseRTP unmarshals b with pion/rtp.
func parseRTP(t testing.TB, b []byte) *rtp.Packet {
	t.Helper()
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		t.Fatalf("unmarshal RTP %x: %v", b, err)
	}
	return &p
}

// assertNoAllocs fails t if f allocates.
func assertNoAllocs(t *testing.T, what string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(200, f); n != 0 {
		t.Errorf("%s: %.1f allocations per run, want 0", what, n)
	}
}
