package flv

import (
	"errors"
	"strings"
	"testing"
)

// TestReaderNil: NewReader(nil) and ReadTag on a zero Reader give
// ErrNoReader instead of a nil dereference.
func TestReaderNil(t *testing.T) {
	if r, err := NewReader(nil); r != nil || !errors.Is(err, ErrNoReader) {
		t.Errorf("NewReader(nil) = %v, %v; want ErrNoReader", r, err)
	}
	var zero Reader
	if _, err := zero.ReadTag(); !errors.Is(err, ErrNoReader) {
		t.Errorf("zero Reader.ReadTag: %v; want ErrNoReader", err)
	}
	if !strings.HasPrefix(ErrNoReader.Error(), "flv: ") || !strings.HasPrefix(ErrMalformed.Error(), "flv: ") {
		t.Errorf("sentinels %q, %q do not start with \"flv: \"", ErrNoReader, ErrMalformed)
	}
}
