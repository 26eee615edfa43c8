package turnrest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/streamwire/streamwire/turnrest"
)

// now is a fixed clock so the output is reproducible.
func now() time.Time { return time.Unix(1700000000, 0) }

func ExampleMinter_Mint() {
	m, err := turnrest.New(turnrest.Config{
		Secrets: []string{"north"},
		TTL:     time.Hour,
		URIs:    []string{"turn:127.0.0.1:3478?transport=udp"},
		Now:     now,
	})
	if err != nil {
		panic(err)
	}
	c, err := m.Mint("alice")
	if err != nil {
		panic(err)
	}
	_ = json.NewEncoder(os.Stdout).Encode(c)
	// Output:
	// {"username":"1700003600:alice","password":"wjwSXO2ch1B6VaLTLMy2Avn5O9o=","ttl":3600,"uris":["turn:127.0.0.1:3478?transport=udp"]}
}

func ExampleMinter_Verify() {
	// "south" is the new secret; "north" is still accepted during rotation.
	m, _ := turnrest.New(turnrest.Config{Secrets: []string{"south", "north"}, Now: now})
	u, err := m.Verify("1700000000:alice", "Cd/49soE35ICqcJF/bCTn8Z4OyE=")
	fmt.Println(u.User, u.Expiry, err)
	_, err = m.Verify("1699999999:alice", turnrest.Password("north", "1699999999:alice"))
	fmt.Println(err)
	// Output:
	// alice 1700000000 <nil>
	// turnrest: credential expired: expired at 1699999999, now 1700000000
}

func ExampleMinter_Keys() {
	m, _ := turnrest.New(turnrest.Config{Secrets: []string{"north"}, Now: now})
	keys, err := m.Keys("1700000000:alice", "streamwire.test")
	fmt.Printf("%x %v\n", keys[0], err)
	// Output:
	// aa2e13eff5310afe9b14115eef0b4158 <nil>
}

func ExampleNewHandler() {
	h, err := turnrest.NewHandler(turnrest.Config{
		Secrets: []string{"north"},
		URIs:    []string{"turn:127.0.0.1:3478?transport=udp", "stun:127.0.0.1:3478"},
		Now:     now,
	}, turnrest.FormatICE)
	if err != nil {
		panic(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1alpha/iceconfig", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 {"lifetimeDuration":"86400.000s","iceServers":[{"urls":["turn:127.0.0.1:3478?transport=udp"],"username":"1700086400","credential":"K+RlgFj3QLvB7WAVHfjfgMgyBeA="},{"urls":["stun:127.0.0.1:3478"]}]}
}
