package turnrest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func benchMinter(b *testing.B, secrets ...string) *Minter {
	m, err := New(Config{Secrets: secrets, Now: fixedNow, URIs: []string{"turn:127.0.0.1:3478?transport=udp"}})
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkMint(b *testing.B) {
	m := benchMinter(b, "north")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Mint("alice"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies with the second of two secrets (a rotation), the
// work a TURN server does per authenticated request before checking
// MESSAGE-INTEGRITY.
func BenchmarkVerify(b *testing.B) {
	m := benchMinter(b, "south", "north")
	p := Password("north", "1700000000:alice")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify("1700000000:alice", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeys(b *testing.B) {
	m := benchMinter(b, "south", "north")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Keys("1700000000:alice", "streamwire.test"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseUsername(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseUsername("alice:1700000000", ':'); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandlerREST(b *testing.B) {
	h := benchMinter(b, "north").Handler(FormatREST)
	req := httptest.NewRequest(http.MethodGet, "/turn?service=turn&username=alice", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}

func TestParseUsernameAllocs(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		_, _ = ParseUsername("alice:1700000000", ':')
		_, _ = ParseUsername("1700000000:alice", ':')
	})
	if n != 0 {
		t.Fatalf("ParseUsername allocates %v times", n)
	}
}
