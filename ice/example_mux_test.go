package ice_test

import (
	"context"
	"fmt"
	"net"
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
