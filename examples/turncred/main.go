// Command turncred prints a TURN REST credential for coturn's use-auth-secret
// mode as JSON, in the draft-uberti-behave-turn-rest-00 shape or (-ice) as a
// browser iceServers list.
//
//	go run ./examples/turncred -secret S -user U -ttl 24h -uri turn:127.0.0.1:3478
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/streamwire/streamwire/turnrest"
)

// uriList collects a repeatable -uri flag.
type uriList []string

func (u *uriList) String() string     { return strings.Join(*u, ",") }
func (u *uriList) Set(s string) error { *u = append(*u, s); return nil }

func main() {
	var uris uriList
	secret := flag.String("secret", os.Getenv("TURN_SECRET"), "shared secret, as coturn's static-auth-secret (default $TURN_SECRET)")
	user := flag.String("user", "", "user id after the expiry timestamp (optional)")
	ttl := flag.Duration("ttl", turnrest.DefaultTTL, "credential lifetime")
	sep := flag.String("sep", ":", "coturn rest-api-separator")
	ice := flag.Bool("ice", false, `print {"iceServers":[...]} (RTCIceServer) instead of the TURN REST shape`)
	flag.Var(&uris, "uri", "TURN/STUN URI to include (repeatable), e.g. turn:127.0.0.1:3478?transport=udp")
	flag.Parse()

	if err := run(os.Stdout, *secret, *user, *sep, *ttl, uris, *ice); err != nil {
		fmt.Fprintln(os.Stderr, "turncred:", err)
		os.Exit(2)
	}
}

func run(w io.Writer, secret, user, sep string, ttl time.Duration, uris []string, ice bool) error {
	if secret == "" {
		return errors.New("-secret (or $TURN_SECRET) is required")
	}
	m, err := turnrest.New(turnrest.Config{Secrets: []string{secret}, TTL: ttl, Separator: sep, URIs: uris})
	if err != nil {
		return err
	}
	c, err := m.Mint(user)
	if err != nil {
		return err
	}
	var out any = c
	if ice {
		out = c.ICEConfig()
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
