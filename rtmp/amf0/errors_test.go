package amf0

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
)

// nested returns levels objects, each holding the next under one key of
// keyLen bytes, with a number at the bottom and no end markers.
func nested(levels, keyLen int) []byte {
	key := strings.Repeat("k", keyLen)
	var b []byte
	for range levels {
		b = append(b, amf0Object)
		b = binary.BigEndian.AppendUint16(b, uint16(keyLen))
		b = append(b, key...)
	}
	return AppendNumber(b, 1)
}

// TestErrorTextBounded: a peer chooses the keys and the depth, so the text
// of an error that names its path must stay small. 40 levels of 65,535-byte
// keys made a 2 MB error string before the keys and the path were bounded.
func TestErrorTextBounded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		d        Decoder
		in       []byte
		sentinel error
	}{
		{"40 levels of 65535-byte keys", Decoder{}, nested(40, math.MaxUint16), ErrDepth},
		{"1000 levels of 1000-byte keys, truncated", Decoder{MaxDepth: 2000}, nested(1000, 1000)[:1000*1003+3], ErrMalformed},
		{"1000 levels, a bad marker at the bottom", Decoder{MaxDepth: 2000}, append(nested(1000, 1000)[:1000*1003], 0x04), ErrMalformed},
	} {
		for name, decode := range map[string]func() error{
			"Decode":    func() error { _, _, err := tc.d.Decode(tc.in); return err },
			"DecodeAll": func() error { _, err := tc.d.DecodeAll(tc.in); return err },
		} {
			err := decode()
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("%s: %s: %v, want %v", tc.name, name, err, tc.sentinel)
			}
			if msg := err.Error(); len(msg) > 1024 || !strings.HasPrefix(msg, "amf0: ") {
				t.Errorf("%s: %s: error of %d bytes: %.200q...; want at most 1 KiB starting with \"amf0: \"", tc.name, name, len(msg), msg)
			}
		}
	}
	_, _, err := Decode(nested(3, 100)[:3*103+3])
	if want := `property "` + strings.Repeat("k", maxErrKey) + `…(+68 bytes)": `; !strings.Contains(err.Error(), want) {
		t.Errorf("%v does not name the bounded key %s", err, want)
	}
}

// TestErrorPrefix: every error text of the package starts with "amf0: ",
// and still matches its sentinel.
func TestErrorPrefix(t *testing.T) {
	for _, s := range []error{ErrMalformed, ErrDepth, ErrType} {
		if !strings.HasPrefix(s.Error(), "amf0: ") {
			t.Errorf("sentinel %q does not start with \"amf0: \"", s)
		}
	}
	long := strings.Repeat("x", 70000)
	for _, tc := range []struct {
		name string
		err  func() error
		is   error
	}{
		{"empty", func() error { _, _, err := Decode(nil); return err }, ErrMalformed},
		{"truncated string", func() error { _, _, err := Decode([]byte{amf0String, 0, 5, 'a'}); return err }, ErrMalformed},
		{"unknown marker", func() error { _, err := DecodeAll([]byte{0x20}); return err }, ErrMalformed},
		{"bad AMF3 marker", func() error { _, _, err := Decode([]byte{amf0AVMPlus, 0x7f}); return err }, ErrMalformed},
		{"Append chan", func() error { _, err := Append(nil, make(chan int)); return err }, ErrType},
		{"AppendValues long key", func() error { _, err := AppendValues(nil, Object{{Key: long, Value: 1}}); return err }, ErrType},
	} {
		err := tc.err()
		if !errors.Is(err, tc.is) || !strings.HasPrefix(err.Error(), "amf0: ") {
			t.Errorf("%s: %v; want %v with the \"amf0: \" prefix", tc.name, err, tc.is)
		}
	}
}
