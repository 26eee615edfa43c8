package ice_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"

	"github.com/streamwire/streamwire/ice"
)

// A browser's trickled candidate: an mDNS host name stays a name, and the
// extensions Chromium adds are kept in order.
func ExampleParseCandidate() {
	c, err := ice.ParseCandidate("a=candidate:3340276329 1 udp 2113937151 " +
		"4c1b6d5c-3e6e-4a8c-9c1e-2b7d0b0f4a11.local 54321 typ host generation 0 network-cost 999")
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Transport, c.Type, c.Hostname, c.Port, c.IsMDNS(), c.Extensions)

	_, err = ice.ParseCandidate("candidate:1 1 udp 2130706431 192.0.2.1 70000 typ host")
	var ce *ice.CandidateError
	fmt.Println(errors.Is(err, ice.ErrCandidate), errors.As(err, &ce) && ce.Field == ice.FieldPort)
	fmt.Println(err)

	_, err = ice.ParseCandidate("candidate:1 1 dccp 2130706431 192.0.2.1 5000 typ host")
	fmt.Println(errors.Is(err, ice.ErrUnsupported)) // RFC 8839 §5.1: ignore the candidate
	// Output:
	// udp host 4c1b6d5c-3e6e-4a8c-9c1e-2b7d0b0f4a11.local 54321 true [{generation 0} {network-cost 999}]
	// true true
	// ice: malformed candidate: port "70000": want 0-65535
	// true
}

// A server's candidates: priorities from RFC 8445 §5.1.2 and RFC 6544 §4.2,
// then the order an answer needs (UDP host first, for ffmpeg's WHIP muxer).
func ExampleSortForAnswer() {
	addr := netip.MustParseAddr("192.0.2.10")
	cands := []ice.Candidate{
		{Component: 1, Transport: ice.TransportTCP, Addr: addr, Port: 8443, Type: ice.TypeHost, TCPType: ice.TCPTypePassive},
		{Component: 1, Transport: ice.TransportUDP, Addr: addr, Port: 8443, Type: ice.TypeHost},
	}
	for i := range cands {
		c := &cands[i]
		c.Foundation = ice.Foundation(c.Type, c.Transport, c.Addr, netip.Addr{})
		pref := uint16(ice.DefaultLocalPreference)
		if c.Transport == ice.TransportTCP {
			pref = ice.MaxOtherPreference
		}
		c.Priority = c.RecommendedPriority(pref)
	}
	ice.SortForAnswer(cands)
	var b []byte
	for i := range cands {
		b = append(cands[i].AppendTo(append(b, "a="...)), '\n') // CRLF in a real SDP
	}
	fmt.Print(string(b))
	// Output:
	// a=candidate:3758582702 1 udp 2130706431 192.0.2.10 8443 typ host
	// a=candidate:2986034181 1 tcp 2124414975 192.0.2.10 8443 typ host tcptype passive
}

// Local credentials for an answer, and a check of the remote ones.
func ExampleNewCredentials() {
	local, err := ice.NewCredentials(bytes.NewReader(make([]byte, 64))) // use nil (crypto/rand) in real code
	if err != nil {
		panic(err)
	}
	fmt.Println(local.Ufrag, local.Pwd)

	remote := ice.Credentials{Ufrag: "Pfad", Pwd: "IcB6H0Z30fnds7NLjCTq8/QW"} // Chromium's shape
	fmt.Println(remote.Validate())
	fmt.Println(ice.ValidatePwd("too-short"))
	// Output:
	// AAAAAAAA AAAAAAAAAAAAAAAAAAAAAAAA
	// <nil>
	// ice: invalid ice-pwd: 9 chars, want 22-256 (RFC 8839 §5.4)
}
