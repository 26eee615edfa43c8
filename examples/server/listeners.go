package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
)

// listeners are the server's sockets, opened before anything is served so
// that a taken port fails at start.
type listeners struct {
	udp         net.PacketConn // STUN and ICE (the Mux)
	tcp         net.Listener   // ICE-TCP, nil when off
	http, https net.Listener   // https nil when off
	tls         *tls.Config    // for https
	rtmp, rtmps net.Listener   // rtmps nil when off
	closers     []func() error
}

// udpBufferBytes is the socket buffer size the server asks for on its
// UDP socket, each way.
const udpBufferBytes = 4 << 20

// listen opens every listener of cfg. On an error it closes those it
// opened and returns the error alone.
func listen(cfg config) (_ *listeners, err error) {
	if cfg.HTTP == "" || cfg.RTMP == "" {
		return nil, errors.New("-http and -rtmp need an address")
	}
	ls := &listeners{}
	defer func() {
		if err != nil {
			ls.close() // ls, not the result, which the error returns leave nil
		}
	}()
	if ls.udp, err = net.ListenPacket("udp", cfg.UDP); err != nil {
		return nil, fmt.Errorf("-udp: %w", err)
	}
	if c, ok := ls.udp.(*net.UDPConn); ok {
		// Every viewer's checks, NACKs and reports and every publisher's
		// media share this socket: ask for more than the default 208 kB
		// (the kernel caps it at net.core.rmem_max / wmem_max).
		_ = c.SetReadBuffer(udpBufferBytes)
		_ = c.SetWriteBuffer(udpBufferBytes)
	}
	ls.closers = append(ls.closers, ls.udp.Close)
	if ls.tcp, err = ls.listenTCP("-tcp", cfg.TCP); err != nil {
		return nil, err
	}
	if ls.http, err = ls.listenTCP("-http", cfg.HTTP); err != nil {
		return nil, err
	}
	if ls.rtmp, err = ls.listenTCP("-rtmp", cfg.RTMP); err != nil {
		return nil, err
	}
	if cfg.HTTPS != "" {
		if cfg.TLSCert == "" || cfg.TLSKey == "" {
			return nil, errors.New("-https needs -tls-cert and -tls-key")
		}
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert, -tls-key: %w", err)
		}
		ls.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		if ls.https, err = ls.listenTCP("-https", cfg.HTTPS); err != nil {
			return nil, err
		}
	}
	if cfg.RTMPS != "" {
		if ls.rtmps, err = listenRTMPS(cfg.RTMPS, cfg.RTMPSCert, cfg.RTMPSKey); err != nil {
			return nil, err
		}
		ls.closers = append(ls.closers, ls.rtmps.Close)
	}
	return ls, nil
}

// listenTCP listens on addr, or returns nil for an empty addr.
func (ls *listeners) listenTCP(flag, addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	ls.closers = append(ls.closers, ln.Close)
	return ln, nil
}

func (ls *listeners) close() {
	for _, c := range ls.closers {
		_ = c()
	}
}

func (ls *listeners) bound() bound {
	b := bound{UDP: ls.udp.LocalAddr(), HTTP: ls.http.Addr(), RTMP: ls.rtmp.Addr()}
	if ls.tcp != nil {
		b.TCP = ls.tcp.Addr()
	}
	if ls.https != nil {
		b.HTTPS = ls.https.Addr()
	}
	if ls.rtmps != nil {
		b.RTMPS = ls.rtmps.Addr()
	}
	return b
}
