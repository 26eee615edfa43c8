package turnrest

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamwire/streamwire/internal/logstr"
)

// TestZeroMinterAndHandler checks that a Minter or Handler not made by New
// fails with a clear error, never a nil dereference.
func TestZeroMinterAndHandler(t *testing.T) {
	for name, m := range map[string]*Minter{"zero": {}, "nil": nil} {
		if _, err := m.Mint("alice"); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s Minter Mint: %v", name, err)
		}
		if _, err := m.Verify("4000000000:alice", "x"); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s Minter Verify: %v", name, err)
		}
		if _, err := m.Keys("4000000000:alice", "realm"); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s Minter Keys: %v", name, err)
		}
		if _, err := m.FindKey("4000000000:alice", "realm", func([]byte) bool { return true }); !errors.Is(err, ErrNoSecret) {
			t.Errorf("%s Minter FindKey: %v", name, err)
		}
	}
	for name, h := range map[string]http.Handler{
		"zero Handler":          &Handler{},
		"nil Handler":           (*Handler)(nil),
		"zero Minter's Handler": (&Minter{}).Handler(FormatREST),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/turn?service=turn", nil))
		if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "not configured") {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
}

// TestLogLinesBounded sends 1 MB of client-chosen text in the path, the
// method and the username parameter, and checks that every log line stays
// bounded.
func TestLogLinesBounded(t *testing.T) {
	var buf bytes.Buffer
	m, err := New(Config{Secrets: []string{testSecret}, Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(FormatREST)
	huge := strings.Repeat("x", 1<<20)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/"+huge+"?service=turn", nil),           // issued, long path
		httptest.NewRequest(http.MethodGet, "/turn?username="+huge, nil),             // refused user
		httptest.NewRequest(http.MethodGet, "/turn?service="+huge, nil),              // refused service
		httptest.NewRequest(strings.ToUpper(huge[:1<<16]), "/turn", nil),             // refused method
		httptest.NewRequest(http.MethodGet, "/turn?username=a%zz"+huge[:1<<16], nil), // bad query
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	_, _ = m.Verify(strings.Repeat("9", 10)+":"+huge, "x")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 5 {
		t.Fatalf("%d log lines:\n%s", len(lines), logstr.Bound(buf.String()))
	}
	for _, l := range lines {
		if len(l) > 8*logstr.MaxLen {
			t.Errorf("log line of %d bytes: %s", len(l), logstr.Bound(l))
		}
	}
}

// TestVerifyUsernameOf513Bytes verifies a credential whose username has 513
// bytes, which coturn's STUN_MAX_USERNAME_SIZE allows and RFC 5389 §15.3
// did: Mint never makes one (508 is its limit), but another minter may.
func TestVerifyUsernameOf513Bytes(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	m, err := New(Config{Secrets: []string{testSecret}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.FormatInt(now.Unix()+3600, 10)
	for _, username := range []string{
		ts + ":" + strings.Repeat("u", MaxParsedUsernameLen-len(ts)-1), // timestamp:user
		strings.Repeat("u", MaxParsedUsernameLen-len(ts)-1) + ":" + ts, // user:timestamp
	} {
		if len(username) != 513 {
			t.Fatalf("username of %d bytes", len(username))
		}
		if _, err := m.Verify(username, Password(testSecret, username)); err != nil {
			t.Errorf("513-byte username: %v", err)
		}
	}
	if _, err := m.Verify(ts+":"+strings.Repeat("u", 513), "x"); !errors.Is(err, ErrMalformedUsername) {
		t.Errorf("over-long username: %v", err)
	}
}
