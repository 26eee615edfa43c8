package ice_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/streamwire/streamwire/ice"
	"github.com/streamwire/streamwire/stun"
)

// One Mux on a loopback UDP socket serves a session; a controlling peer
// (here built with the stun package) sends a nominating check, gets an
// authenticated answer, and then a DTLS-range datagram reaches the
// session's Read.
func ExampleMux() {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	mux := ice.NewMux(conn, ice.MuxConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.Serve(ctx) }()

	local := ice.Credentials{Ufrag: "srv1", Pwd: "serverPasswordOf24Chars+"} // normally ice.NewCredentials
	session, err := mux.NewSession(local, ice.Credentials{Ufrag: "peer"})
	if err != nil {
		panic(err)
	}

	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer peer.Close()
	key := stun.NewShortTermIntegrity(local.Pwd)
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{1})
	b.AddUsername("srv1:peer") // receiver's ufrag first (RFC 8445 §7.2.2)
	b.AddPriority(ice.Priority(ice.TypePrflx.Preference(), ice.DefaultLocalPreference, 1))
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(key)
	b.AddFingerprint()
	check, err := b.Finish()
	if err != nil {
		panic(err)
	}
	_, _ = peer.WriteTo(check, conn.LocalAddr())
	buf := make([]byte, 1500)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := peer.ReadFrom(buf)
	if err != nil {
		panic(err)
	}
	var resp stun.Message
	if err := resp.Decode(buf[:n]); err != nil {
		panic(err)
	}
	fmt.Println(resp.Type(), key.Verify(&resp) == nil)
	<-session.Connected()

	_, _ = peer.WriteTo([]byte{22, 0xfe, 0xfd, 'h', 'i'}, conn.LocalAddr())
	_ = session.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = session.Read(buf)
	fmt.Printf("%q %v\n", buf[3:n], err)

	cancel()
	fmt.Println(<-served)
	// Output:
	// Binding success response true
	// "hi" <nil>
	// ice: server closed
}

// ICE-TCP: the Mux also serves a TCP listener, announced as a passive TCP
// candidate (RFC 6544 §4.5). A peer that cannot use UDP connects, sends
// its checks in RFC 4571 frames (a 2-byte length, then the STUN message)
// and gets the answer framed on the same connection; the connection then
// carries the session's media both ways.
func ExampleMux_ServeTCP() {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	mux := ice.NewMux(conn, ice.MuxConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- mux.ServeTCP(ctx, ln) }()

	tcpAddr := ln.Addr().(*net.TCPAddr).AddrPort()
	cand := ice.Candidate{Component: 1, Transport: ice.TransportTCP, Addr: tcpAddr.Addr(), Port: tcpAddr.Port(),
		Type: ice.TypeHost, TCPType: ice.TCPTypePassive}
	cand.Foundation = ice.Foundation(cand.Type, cand.Transport, cand.Addr, netip.Addr{})
	cand.Priority = cand.RecommendedPriority(ice.MaxOtherPreference)
	fmt.Println("announce:", cand.Transport, cand.Type, cand.TCPType) // cand.String() goes in the answer

	local := ice.Credentials{Ufrag: "srv2", Pwd: "serverPasswordOf24Chars+"} // normally ice.NewCredentials
	session, err := mux.NewSession(local, ice.Credentials{})
	if err != nil {
		panic(err)
	}

	peer, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer peer.Close()
	key := stun.NewShortTermIntegrity(local.Pwd)
	var b stun.Builder
	b.Start(nil, stun.BindingRequest, stun.TransactionID{2})
	b.AddUsername("srv2:peer")
	b.AddICEControlling(1)
	b.AddUseCandidate()
	b.AddMessageIntegrity(key)
	b.AddFingerprint()
	check, err := b.Finish()
	if err != nil {
		panic(err)
	}
	writeFrame := func(d []byte) { _, _ = peer.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(d))), d...)) }
	readFrame := func() []byte {
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		var hdr [2]byte
		if _, err := io.ReadFull(peer, hdr[:]); err != nil {
			panic(err)
		}
		d := make([]byte, binary.BigEndian.Uint16(hdr[:]))
		if _, err := io.ReadFull(peer, d); err != nil {
			panic(err)
		}
		return d
	}
	writeFrame(check)
	var resp stun.Message
	if err := resp.Decode(readFrame()); err != nil {
		panic(err)
	}
	fmt.Println(resp.Type(), key.Verify(&resp) == nil)
	<-session.Connected()
	fmt.Println("selected over", session.RemoteAddr().Network())

	writeFrame([]byte{22, 0xfe, 0xfd, 'h', 'i'}) // a DTLS record
	buf := make([]byte, 1500)
	_ = session.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := session.Read(buf)
	fmt.Printf("%q %v\n", buf[3:n], err)
	if _, err := session.Write([]byte{22, 0xfe, 0xfd, 'h', 'o'}); err != nil {
		panic(err)
	}
	fmt.Printf("%q\n", readFrame()[3:])

	cancel()
	fmt.Println(<-served)
	// Output:
	// announce: tcp host passive
	// Binding success response true
	// selected over tcp
	// "hi" <nil>
	// "ho"
	// ice: server closed
}
