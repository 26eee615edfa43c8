package loadgen

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// serve answers every datagram on pc with answer(request, source) until the
// test ends.
func serve(t *testing.T, answer func(req []byte, from *net.UDPAddr) [][]byte) string {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			for _, out := range answer(buf[:n], from) {
				_, _ = pc.WriteToUDP(out, from)
			}
		}
	}()
	return pc.LocalAddr().String()
}

func TestRequestIsBindingWithFingerprint(t *testing.T) {
	b := Request(7, 1<<40+3)
	var m stun.Message
	if err := m.Decode(b); err != nil {
		t.Fatal(err)
	}
	if m.Type() != stun.BindingRequest || m.VerifyFingerprint() != nil {
		t.Errorf("%s, fingerprint %v", &m, m.VerifyFingerprint())
	}
	id := m.TransactionID()
	if binary.BigEndian.Uint32(id[:4]) != 7 || binary.BigEndian.Uint64(id[4:]) != 1<<40+3 {
		t.Errorf("transaction ID %x", id)
	}
	if crc32.ChecksumIEEE(b[:20])^fingerprintXOR != binary.BigEndian.Uint32(b[24:]) {
		t.Error("fingerprint")
	}
}

func TestRunMatchesEveryResponse(t *testing.T) {
	var s stun.Server
	addr := serve(t, func(req []byte, from *net.UDPAddr) [][]byte {
		out, ok := s.AppendResponse(nil, req, from.AddrPort())
		if !ok {
			return nil
		}
		return [][]byte{out}
	})
	for _, cfg := range []Config{
		{Requests: 5000, Clients: 2, Window: 16, Batch: 8},
		{Requests: 2000, Clients: 1, Rate: 20000, Batch: 4},
	} {
		cfg.Target = addr
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != cfg.Requests || res.Matched != cfg.Requests || res.Bad != 0 || res.Late != 0 || res.Lost() != 0 {
			t.Errorf("%+v: %+v", cfg, res)
		}
		if res.RespPerSec() <= 0 {
			t.Errorf("rate %v", res.RespPerSec())
		}
	}
}

// TestRunCountsBadLateAndLost: a server that answers with the wrong port,
// twice, or not at all is caught.
func TestRunCountsBadLateAndLost(t *testing.T) {
	var s stun.Server
	i := 0
	addr := serve(t, func(req []byte, from *net.UDPAddr) [][]byte {
		i++
		switch i % 4 {
		case 0: // no answer
			return nil
		case 1: // wrong mapped port
			wrong := netip.AddrPortFrom(from.AddrPort().Addr(), uint16(from.Port+1))
			out, _ := s.AppendResponse(nil, req, wrong)
			return [][]byte{out}
		case 2: // answered twice: the second is late
			out, _ := s.AppendResponse(nil, req, from.AddrPort())
			return [][]byte{out, out}
		}
		out, _ := s.AppendResponse(nil, req, from.AddrPort())
		return [][]byte{out}
	})
	res, err := Run(context.Background(), Config{Target: addr, Requests: 40, Clients: 1, Window: 1, LossAfter: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Matched != 20 || res.Bad != 10 || res.Late != 10 || res.Lost() != 20 {
		t.Errorf("%+v, want 20 matched, 10 bad, 10 late, 20 lost", res)
	}
}
