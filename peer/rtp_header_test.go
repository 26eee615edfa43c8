package peer

import (
	"bytes"
	"testing"
)

func TestRTPExtension(t *testing.T) {
	exts := map[uint8][]byte{1: {0xAA}, 3: {0x12, 0x34}, 14: bytes.Repeat([]byte{7}, 16)}
	one := mkRTP(t, 5, rtpOpts{payload: 10, csrc: []uint32{1, 2}, ext: exts})
	exts2 := map[uint8][]byte{1: {0xAA}, 3: {0x12, 0x34}, 200: bytes.Repeat([]byte{7}, 40), 14: {}}
	two := mkRTP(t, 5, rtpOpts{payload: 10, ext: exts2, twoByte: true})
	for name, c := range map[string]struct {
		pkt  []byte
		exts map[uint8][]byte
	}{"one-byte": {one, exts}, "two-byte": {two, exts2}} {
		for id, want := range c.exts {
			got, ok := rtpExtension(c.pkt, id)
			if !ok || !bytes.Equal(got, want) {
				t.Errorf("%s: extension %d = %x %v, want %x", name, id, got, ok, want)
			}
		}
		if _, ok := rtpExtension(c.pkt, 2); ok {
			t.Errorf("%s: found an absent extension", name)
		}
		if _, ok := rtpExtension(c.pkt, 0); ok {
			t.Errorf("%s: found extension 0", name)
		}
	}
	// Padding bytes between elements, and the stop id 15 (RFC 8285 §4.2).
	hdr := []byte{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 2}
	pkt := append(append([]byte(nil), hdr...), 0, 0, 0x21, 9, 9, 0xF0, 0x51, 1)
	if v, ok := rtpExtension(pkt, 2); !ok || !bytes.Equal(v, []byte{9, 9}) {
		t.Errorf("after padding: %x %v", v, ok)
	}
	if _, ok := rtpExtension(pkt, 5); ok {
		t.Error("read past the stop id")
	}
}

func TestRTPHeaderMalformed(t *testing.T) {
	good := mkRTP(t, 1, rtpOpts{payload: 10, ext: map[uint8][]byte{1: {1, 2}}, padding: 3})
	if n, ok := rtpHeaderSize(good); !ok || n != 12+4+4 {
		t.Fatalf("header size %d %v", n, ok)
	}
	if s, e, ok := rtpPayloadBounds(good); !ok || e-s != 10 {
		t.Fatalf("payload %d..%d %v", s, e, ok)
	}
	for i := range len(good) - 4 { // every truncation that cuts into the header or padding
		if _, _, ok := rtpPayloadBounds(good[:i]); ok && i < 20 {
			t.Errorf("truncated to %d: payload bounds accepted", i)
		}
	}
	for _, p := range [][]byte{
		{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 9},                // extension longer than the packet
		{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x13, 1, 2, 0}, // element longer than the block
		{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x00, 0, 1, 1, 5, 0, 0},    // two-byte element too long
		{0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x12, 0x34, 0, 1, 0x11, 0, 0, 0}, // unknown profile
		{0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1},                                  // no extension
		{0x50, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 1, 0, 0}, // version 1
	} {
		if v, ok := rtpExtension(p, 1); ok {
			t.Errorf("rtpExtension(%x) = %x", p, v)
		}
	}
}
