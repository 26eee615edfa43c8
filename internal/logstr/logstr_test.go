package logstr

import (
	"strings"
	"testing"
)

func TestBound(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"live", 8, "live"},
		{"", 0, ""},
		{"abcdefgh", 8, "abcdefgh"},
		{"abcdefghi", 8, "abcdefgh…(+1 bytes)"},
		{"aé", 2, "a…(+2 bytes)"}, // never cuts inside a rune
		{"abc", -1, "…(+3 bytes)"},
	} {
		if got := BoundN(tc.in, tc.n); got != tc.want {
			t.Errorf("BoundN(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	long := strings.Repeat("x", 1<<20)
	if got := Bound(long); len(got) > MaxLen+32 {
		t.Fatalf("Bound of 1 MiB kept %d bytes", len(got))
	}
	if a := Attr("app", long); len(a.Value.String()) > MaxLen+32 {
		t.Fatalf("Attr kept %d bytes", len(a.Value.String()))
	}
}
