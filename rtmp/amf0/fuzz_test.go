package amf0

import (
	"bytes"
	"errors"
	"testing"
)

// The seed corpus in testdata/fuzz/FuzzDecode comes from a recorded ffmpeg
// publish; ../fuzz_test.go regenerates it (go test -run Seeds -seeds).
// FuzzDecode checks that decoding never panics and that what decodes
// re-encodes stably: enc(dec(x)) == enc(dec(enc(dec(x)))).
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		vs, err := DecodeAll(data)
		if err != nil {
			return
		}
		enc, err := AppendValues(nil, vs...)
		if err != nil {
			if errors.Is(err, ErrType) || errors.Is(err, ErrDepth) {
				return // e.g. an AMF3 ByteArray has no AMF0 form
			}
			t.Fatal(err)
		}
		vs2, err := DecodeAll(enc)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		enc2, err := AppendValues(nil, vs2...)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable encoding:\n%x\n%x (%v)", enc, enc2, err)
		}
	})
}
