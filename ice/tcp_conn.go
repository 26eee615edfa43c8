package ice

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamwire/streamwire/stun"
)

// Sizes of a TCP connection's buffers.
const (
	// maxFrameLen is the longest datagram an RFC 4571 frame carries: its
	// length field has 16 bits (RFC 4571 §2).
	maxFrameLen = 1<<16 - 1
	// frameHeaderLen is the size of that length field.
	frameHeaderLen = 2
	// tcpReadBufSize is the read buffer of a connection: a few frames per
	// read system call.
	tcpReadBufSize = 4096
	// tcpWriteBufSize is the framing buffer of a connection's writes, made
	// by the session's first write: a WriteBatch coalesces that much into
	// one write system call.
	tcpWriteBufSize = 8 << 10
	// minAnswerBufSize bounds the answer buffer from below, for a small
	// MaxPacketSize: a success response with every attribute, or a 420
	// listing MaxAttributes attributes, fits in it.
	minAnswerBufSize = 512
)

// tcpConn is one accepted ICE-TCP connection (RFC 6544): its reader's
// state (the frame being read, the STUN scratch), the session a successful
// check bound it to, and its writer's framing buffer. One goroutine, its
// reader (serve), reads it; the session's writers and that reader write to
// it under wmu, one whole frame (or a coalesced batch of frames) at a time.
type tcpConn struct {
	checker
	c      net.Conn
	remote netip.AddrPort
	br     *bufio.Reader
	hdr    [frameHeaderLen]byte
	held   *packet // the frame being read; handed to the session when routed
	answer []byte  // the framed answer to a STUN frame

	// session is the session a successful check bound the connection to
	// (nil before, and after it is unbound). Written under the Mux's mu;
	// read without it.
	session atomic.Pointer[Session]
	// dead is set, under the Mux's mu, once the connection is closing.
	dead      bool
	closeOnce sync.Once

	wmu  sync.Mutex
	wbuf []byte // the framing buffer of session writes; made by the first one
}

func newTCPConn(m *Mux, c net.Conn) *tcpConn {
	tc := &tcpConn{
		checker: checker{m: m},
		c:       c,
		br:      bufio.NewReaderSize(c, tcpReadBufSize),
		held:    m.pool.get(),
		answer:  make([]byte, 0, frameHeaderLen+max(m.size, minAnswerBufSize)+stun.MaxResponseGrowth),
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		tc.remote = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return tc
}

// serve reads and handles frames until the connection fails, closes or
// breaks a rule (see Mux.ServeTCP), then closes it and returns why.
func (tc *tcpConn) serve() error {
	defer func() {
		tc.close()
		tc.m.pool.put(tc.held)
		tc.held = nil
	}()
	return tc.readLoop()
}

// readLoop is serve's loop. Before the first successful check the read
// deadline is the check deadline, fixed at accept; after it, the idle
// deadline, moved forward as frames arrive. So that a busy connection
// does not pay a timer update per frame, it is moved at most every
// quarter of the idle time, to that much past it: the connection closes
// between idle and 1.25 idle after its last frame.
func (tc *tcpConn) readLoop() error {
	idle := tc.m.consent
	slack := idle / 4
	if err := tc.c.SetReadDeadline(time.Now().Add(tc.m.tcp.checkTimeout)); err != nil {
		return err
	}
	bound := false
	var refreshAt time.Time
	for {
		if bound && idle > 0 {
			if now := time.Now(); now.After(refreshAt) {
				if err := tc.c.SetReadDeadline(now.Add(idle + slack)); err != nil {
					return err
				}
				refreshAt = now.Add(slack)
			}
		}
		n, err := tc.readFrame(bound)
		if err != nil {
			return err
		}
		if n == 0 {
			continue
		}
		if err := tc.handle(n, bound); err != nil {
			return err
		}
		if !bound && tc.session.Load() != nil {
			bound = true
			if idle <= 0 {
				if err := tc.c.SetReadDeadline(time.Time{}); err != nil {
					return err
				}
			}
		}
	}
}

// readFrame reads the next RFC 4571 frame (§2) into tc.held and returns
// its length, or 0 for a frame there is nothing to do with: an empty one,
// or one longer than MaxPacketSize on a bound connection, which is read
// and discarded (and counted as dropped). Before the first check such a
// frame ends the connection.
func (tc *tcpConn) readFrame(bound bool) (int, error) {
	if _, err := io.ReadFull(tc.br, tc.hdr[:]); err != nil {
		return 0, err
	}
	n := int(binary.BigEndian.Uint16(tc.hdr[:]))
	tc.m.datagrams.Add(1)
	switch {
	case n > tc.m.size && !bound:
		tc.m.dropped.Add(1)
		return 0, errFrameTooLong
	case n > tc.m.size:
		tc.m.dropped.Add(1)
		_, err := tc.br.Discard(n)
		return 0, err
	case n == 0:
		tc.m.dropped.Add(1)
		return 0, nil
	}
	_, err := io.ReadFull(tc.br, tc.held.buf[:n])
	return n, err
}

// handle demultiplexes the frame of n bytes in tc.held as the UDP reader
// does a datagram (RFC 7983 §7). Before the first check, a frame that is
// not STUN, DTLS, RTP or RTCP ends the connection: a peer speaking ICE-TCP
// sends nothing else, so it is not one.
func (tc *tcpConn) handle(n int, bound bool) error {
	b := tc.held.buf[:n]
	switch classify(b[0]) {
	case classSTUN:
		if !bound && !stun.IsMessage(b) {
			tc.m.dropped.Add(1)
			return errNotICE
		}
		return tc.answerSTUN(b)
	case classMedia:
		tc.route(n)
	default:
		tc.m.dropped.Add(1)
		if !bound {
			return errNotICE
		}
	}
	return nil
}

// answerSTUN handles a STUN frame with the shared check code and writes
// its answer, if any, framed. The answer is built after the 2 bytes of
// the frame's length, so framing it copies nothing.
func (tc *tcpConn) answerSTUN(b []byte) error {
	from := path{remote: tc.remote, tcp: tc}
	tc.clock = 0 // a frame is a batch of one
	resp := tc.handleSTUN(&from, b, tc.answer[frameHeaderLen:frameHeaderLen])
	if resp == nil {
		return nil
	}
	// When resp fits in tc.answer (always, see minAnswerBufSize) this
	// append moves it onto itself.
	frame := append(binary.BigEndian.AppendUint16(tc.answer[:0], uint16(len(resp))), resp...)
	tc.answer = frame[:0]
	tc.wmu.Lock()
	defer tc.wmu.Unlock()
	return tc.send(frame)
}

// route queues the media frame of n bytes in tc.held to the bound session,
// handing the buffer over and taking a free one in its place, as the UDP
// reader does.
func (tc *tcpConn) route(n int) {
	s := tc.session.Load()
	if s == nil {
		tc.m.unknownAddr.Add(1)
		return
	}
	p := tc.held
	p.n, p.from = n, tc.remote
	if !s.deliver(p) {
		tc.m.queueFull.Add(1)
		return
	}
	tc.m.routed.Add(1)
	tc.held = tc.m.pool.get()
}

// writeFrame writes b as one RFC 4571 frame (a Session's Write).
func (tc *tcpConn) writeFrame(b []byte) (int, error) {
	if len(b) > maxFrameLen {
		return 0, ErrFrameTooLarge
	}
	tc.wmu.Lock()
	defer tc.wmu.Unlock()
	if err := tc.send(appendFrame(tc.writeBuf(len(b)), b)); err != nil {
		return 0, err
	}
	return len(b), nil
}

// writeFrames writes each of bufs as one RFC 4571 frame (a Session's
// WriteBatch), as many frames per write as the framing buffer holds. A
// datagram too long for a frame is skipped and ErrFrameTooLarge returned
// at the end, as WriteBatch skips a datagram the kernel refuses; a failed
// write stops the batch. It returns how many datagrams were sent.
func (tc *tcpConn) writeFrames(bufs [][]byte) (int, error) {
	tc.wmu.Lock()
	defer tc.wmu.Unlock()
	var first error
	sent, pending := 0, 0
	buf := tc.writeBuf(0)
	for _, b := range bufs {
		if len(b) > maxFrameLen {
			first = ErrFrameTooLarge
			continue
		}
		if pending > 0 && len(buf)+frameHeaderLen+len(b) > cap(buf) {
			if err := tc.send(buf); err != nil {
				return sent, err
			}
			sent, pending = sent+pending, 0
			buf = tc.writeBuf(len(b))
		} else if pending == 0 {
			buf = tc.writeBuf(len(b))
		}
		buf = appendFrame(buf, b)
		pending++
	}
	if pending > 0 {
		if err := tc.send(buf); err != nil {
			return sent, err
		}
		sent += pending
	}
	return sent, first
}

// writeBuf returns the empty framing buffer, made or grown to hold a frame
// of n bytes: it allocates only on the first write and for a datagram
// longer than any before it. The caller holds wmu.
func (tc *tcpConn) writeBuf(n int) []byte {
	if need := frameHeaderLen + n; cap(tc.wbuf) < need {
		tc.wbuf = make([]byte, 0, max(need, tcpWriteBufSize))
	}
	return tc.wbuf[:0]
}

// appendFrame appends b to buf as an RFC 4571 frame (§2).
func appendFrame(buf, b []byte) []byte {
	return append(binary.BigEndian.AppendUint16(buf, uint16(len(b))), b...)
}

// send writes frames, whole, within the write timeout. A failed write
// closes the connection, since a frame written in part breaks the framing
// of everything after it. The error matches ErrPathClosed and, since the
// session stays open, not the cause (net.ErrClosed would read as the
// session's end to the layers above); its text names the cause. The caller
// holds wmu.
func (tc *tcpConn) send(frames []byte) error {
	err := tc.c.SetWriteDeadline(time.Now().Add(tc.m.tcp.writeTimeout))
	if err == nil {
		_, err = tc.c.Write(frames)
	}
	if err != nil {
		tc.close()
		return fmt.Errorf("%w: %v: %v", ErrPathClosed, tc.remote, err)
	}
	return nil
}

// close closes the connection and removes it from its session's paths.
// It may be called more than once, from any goroutine.
func (tc *tcpConn) close() {
	tc.closeOnce.Do(func() {
		_ = tc.c.Close()
		tc.m.unbindTCP(tc)
	})
}
