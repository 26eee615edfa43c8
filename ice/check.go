package ice

import (
	"bytes"

	"github.com/streamwire/streamwire/stun"
)

// checker answers the STUN messages that one read goroutine receives: the
// UDP reader's, or one TCP connection's. It holds the decoded message and
// the scratch of the answer, reused, so that answering a check allocates
// nothing, and it is the one place where checks are authenticated and
// paths validated, whatever transport they came over.
type checker struct {
	m *Mux
	// udp is set for the Mux's UDP reader, the one goroutine that uses
	// sessionCreds.integrity; the TCP connections' readers share
	// sessionCreds.tcpIntegrity.
	udp     bool
	msg     stun.Message
	unknown [stun.MaxAttributes]stun.AttrType
	out     []byte // where the answer is built; set by handleSTUN
	// clock caches the Mux clock, Unix nanoseconds, for the checks of one
	// batch of datagrams (or one TCP frame); 0 until read (see now).
	clock int64
}

// now returns the Mux clock in Unix nanoseconds, read at most once per
// batch: consent (RFC 7675) counts seconds, and a reading costs as much as
// a tenth of a check.
func (c *checker) now() int64 {
	if c.clock == 0 {
		c.clock = c.m.now().UnixNano()
	}
	return c.clock
}

// key returns the Integrity of creds that this checker's goroutine may
// use: the UDP reader's own, or the one the TCP connections share, which
// it locks (and makes at its first use) until release.
func (c *checker) key(creds *sessionCreds) *stun.Integrity {
	if c.udp {
		return creds.integrity
	}
	creds.mu.Lock()
	if creds.tcpIntegrity == nil {
		creds.tcpIntegrity = creds.integrity.Clone()
	}
	return creds.tcpIntegrity
}

// release ends the use of the Integrity that key returned.
func (c *checker) release(creds *sessionCreds) {
	if !c.udp {
		creds.mu.Unlock()
	}
}

// handleSTUN handles a datagram (or RFC 4571 frame) b whose first byte
// says STUN (RFC 7983 §7), which arrived over from, and returns its
// answer appended to out[:0], or nil when it gets none.
func (c *checker) handleSTUN(from *path, b, out []byte) []byte {
	c.out = out[:0]
	m := &c.msg
	if !stun.IsMessage(b) {
		c.m.dropped.Add(1)
		return nil
	}
	if err := m.Decode(b); err != nil {
		// Attributes that overrun the message or break their own rules:
		// silently discarded (RFC 8489 §6.3), so that garbage carrying
		// a magic cookie gets no answer.
		c.m.dropped.Add(1)
		return nil
	}
	if m.Type() == stun.GoogPingRequest {
		return c.handleGoogPing(from)
	}
	if m.Type() != stun.BindingRequest {
		// Binding indications (keepalives, RFC 8445 §11), responses and
		// other methods need no answer.
		c.m.dropped.Add(1)
		return nil
	}
	if err := m.VerifyFingerprint(); err != nil && err != stun.ErrAttributeNotFound {
		c.m.dropped.Add(1) // not STUN after all (RFC 8489 §7.3)
		return nil
	}
	user, err := m.Username()
	switch {
	case err == stun.ErrAttributeNotFound:
		return c.answerPlain(from, b)
	case err != nil:
		return c.replyError(b, m.TransactionID(), stun.CodeBadRequest, nil)
	default:
		return c.handleCheck(from, b, user)
	}
}

// answerPlain answers a Binding request without USERNAME as stun.Server
// does, so that one port serves plain STUN too.
func (c *checker) answerPlain(from *path, b []byte) []byte {
	resp, ok := c.m.plain.AppendResponse(c.out, b, from.remote)
	if !ok {
		c.m.dropped.Add(1)
		return nil
	}
	c.m.plainSTUN.Add(1)
	return resp
}

// handleCheck answers a connectivity check (RFC 8445 §7.3) in the order
// of RFC 8489 §9.1.3 (authentication) and RFC 8445 §7.3.1 (roles):
//   - USERNAME without ':' or without MESSAGE-INTEGRITY: 400;
//   - unknown local ufrag, other sender ufrag, wrong MESSAGE-INTEGRITY: 401.
//
// These unauthenticated error responses carry no MESSAGE-INTEGRITY (RFC
// 8489 §9.1.3) and are dropped rather than sent when they would be longer
// than the request, so that the port cannot amplify. Then, authenticated:
//   - unknown comprehension-required attributes: 420 (RFC 8489 §6.3.1);
//   - a malformed PRIORITY, ICE-CONTROLLING or ICE-CONTROLLED: 400;
//   - ICE-CONTROLLED: 487, since a lite agent is always controlled (RFC
//     8445 §6.1.1, §7.3.1.1);
//   - otherwise success: the path the check came over becomes a valid
//     path of the session (Mux.accept: a peer-reflexive address when the
//     offer did not list it, §7.3.1.3; a TCP connection, RFC 6544 §7.2),
//     nominated when USE-CANDIDATE is present (§7.3.1.5), and the response
//     carries XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT
//     (§7.3.1.1).
//
// A missing PRIORITY is accepted: older ffmpeg WHIP builds send none, and a
// lite agent only needs it for the peer-reflexive candidate it never
// advertises.
func (c *checker) handleCheck(from *path, b, user []byte) []byte {
	m := &c.msg
	id := m.TransactionID()
	localUfrag, remoteUfrag, ok := bytes.Cut(user, []byte{':'})
	if !ok || !(m.Has(stun.AttrMessageIntegrity) || m.Has(stun.AttrMessageIntegritySHA256)) {
		return c.replyError(b, id, stun.CodeBadRequest, nil)
	}
	s, creds, valid := c.sessionFor(from, localUfrag)
	if creds == nil || (creds.remote.Ufrag != "" && string(remoteUfrag) != creds.remote.Ufrag) {
		return c.replyError(b, id, stun.CodeUnauthorized, nil)
	}
	key := c.key(creds)
	err := key.Verify(m)
	c.release(creds)
	if err != nil {
		return c.replyError(b, id, stun.CodeUnauthorized, nil)
	}
	if unknown := m.AppendUnknown(c.unknown[:0]); len(unknown) > 0 {
		return c.replyAuthError(creds, id, stun.CodeUnknownAttribute, unknown)
	}
	if !iceAttrsWellFormed(m) {
		return c.replyAuthError(creds, id, stun.CodeBadRequest, nil)
	}
	if m.Has(stun.AttrICEControlled) {
		return c.replyAuthError(creds, id, stun.CodeRoleConflict, nil)
	}
	c.m.accept(s, from, valid, m.UseCandidate())
	s.lastCheck.Store(c.now()) // consent refreshed (RFC 7675 §5.1)
	if creds.prev.Load() != nil {
		c.m.retire(s, creds) // the peer checks with the new credentials: the restart is done
	}

	var bld stun.Builder
	bld.Start(c.out, stun.BindingSuccess, id)
	bld.AddXORMappedAddress(from.remote)
	if announcesGoogPing(m) {
		bld.AddGoogMiscInfo(stun.GoogPingVersion)
	}
	c.addIntegrity(&bld, creds, false)
	bld.AddFingerprint()
	resp, err := bld.Finish()
	if err != nil {
		c.m.dropped.Add(1)
		return nil
	}
	c.m.checks.Add(1)
	return resp
}

// sessionFor returns the session that a check for localUfrag, which came
// over from, is for, with its credentials, and whether from is already a
// valid path of it. A consent check comes over the session's validated
// path (RFC 7675 §5.1), so the path's session is tried first, found with
// the lookup that routes media; a check over another path is routed by
// its ufrag (RFC 8445 §7.2.2). The credentials are nil when no session has
// localUfrag, as when a Restart has just replaced it.
func (c *checker) sessionFor(from *path, localUfrag []byte) (*Session, *sessionCreds, bool) {
	if s := c.m.sessionOn(from); s != nil {
		if creds := credsFor(s, localUfrag); creds != nil {
			return s, creds, true
		}
	}
	s := c.m.sessionByUfrag(localUfrag)
	if s == nil {
		return nil, nil, false
	}
	creds := credsFor(s, localUfrag)
	if creds == nil {
		return nil, nil, false // restarted meanwhile
	}
	return s, creds, false
}

// credsFor returns the credentials of s whose ufrag is localUfrag: the
// current ones, or those a Restart replaced while still in their grace.
func credsFor(s *Session, localUfrag []byte) *sessionCreds {
	creds := s.creds.Load()
	if creds.local.Ufrag == string(localUfrag) {
		return creds
	}
	if prev := creds.prev.Load(); prev != nil && prev.local.Ufrag == string(localUfrag) {
		return prev
	}
	return nil
}

// addIntegrity adds MESSAGE-INTEGRITY, or for GOOG-PING
// GOOG-MESSAGE-INTEGRITY-32, keyed with creds, to the message bld builds.
func (c *checker) addIntegrity(bld *stun.Builder, creds *sessionCreds, goog bool) {
	key := c.key(creds)
	if goog {
		bld.AddGoogMessageIntegrity32(key)
	} else {
		bld.AddMessageIntegrity(key)
	}
	c.release(creds)
}

// announcesGoogPing reports whether a Binding request carries
// GOOG-MISC-INFO with a GOOG-PING version we speak at index 0, as Chromium
// sends when its GOOG-PING field trial is on.
func announcesGoogPing(m *stun.Message) bool {
	v, err := m.Get(stun.AttrGoogMiscInfo)
	return err == nil && len(v) >= 2 && uint16(v[0])<<8|uint16(v[1]) >= stun.GoogPingVersion
}

// handleGoogPing answers Chromium's GOOG-PING request, which it sends in
// place of a Binding request identical to the previous one once our
// Binding response announced GOOG-PING (GOOG-MISC-INFO). It carries no
// USERNAME, so it is routed by the path it came over, which must be a
// validated path of a session (a validated address, or a TCP connection
// bound by a check), and authenticated by GOOG-MESSAGE-INTEGRITY-32 with
// that session's key; the answer is a GOOG-PING success response with
// GOOG-MESSAGE-INTEGRITY-32, no larger than the request. Anything else is
// dropped: Chromium then goes back to a full Binding request.
func (c *checker) handleGoogPing(from *path) []byte {
	m := &c.msg
	s := c.m.sessionOn(from)
	if s == nil {
		c.m.dropped.Add(1)
		return nil
	}
	creds := s.creds.Load()
	key := c.key(creds)
	err := key.VerifyGoogMessageIntegrity32(m)
	c.release(creds)
	if err != nil {
		c.m.dropped.Add(1)
		return nil
	}
	s.lastCheck.Store(c.now())
	var bld stun.Builder
	bld.Start(c.out, stun.GoogPingSuccess, m.TransactionID())
	c.addIntegrity(&bld, creds, true)
	if m.Has(stun.AttrFingerprint) {
		bld.AddFingerprint()
	}
	resp, err := bld.Finish()
	if err != nil {
		c.m.dropped.Add(1)
		return nil
	}
	c.m.checks.Add(1)
	c.m.googPings.Add(1)
	return resp
}

// iceAttrsWellFormed reports whether the ICE attributes present have the
// sizes RFC 8445 §16.1 gives them.
func iceAttrsWellFormed(m *stun.Message) bool {
	if _, err := m.Priority(); err != nil && err != stun.ErrAttributeNotFound {
		return false
	}
	if _, err := m.ICEControlling(); err != nil && err != stun.ErrAttributeNotFound {
		return false
	}
	_, err := m.ICEControlled()
	return err == nil || err == stun.ErrAttributeNotFound
}

// replyError answers an unauthenticated request with an error response
// without MESSAGE-INTEGRITY (RFC 8489 §9.1.3), or drops it (nil) when the
// response would be longer than the request (no amplification).
func (c *checker) replyError(req []byte, id stun.TransactionID, code int, unknown []stun.AttrType) []byte {
	resp, ok := c.buildError(id, code, unknown, nil)
	if !ok || len(resp) > len(req) {
		c.m.dropped.Add(1)
		return nil
	}
	c.m.errResps.Add(1)
	return resp
}

// replyAuthError answers an authenticated request with an error response
// carrying MESSAGE-INTEGRITY keyed like the request (RFC 8489 §9.1.4).
func (c *checker) replyAuthError(creds *sessionCreds, id stun.TransactionID, code int, unknown []stun.AttrType) []byte {
	resp, ok := c.buildError(id, code, unknown, creds)
	if !ok {
		c.m.dropped.Add(1)
		return nil
	}
	c.m.errResps.Add(1)
	return resp
}

// buildError builds a Binding error response with ERROR-CODE, the
// UNKNOWN-ATTRIBUTES of a 420, MESSAGE-INTEGRITY when creds is set,
// and FINGERPRINT (RFC 8445 §7.3: every ICE message carries one).
func (c *checker) buildError(id stun.TransactionID, code int, unknown []stun.AttrType, creds *sessionCreds) ([]byte, bool) {
	var bld stun.Builder
	bld.Start(c.out, stun.BindingError, id)
	bld.AddErrorCode(code, "")
	if len(unknown) > 0 {
		bld.AddUnknownAttributes(unknown)
	}
	if creds != nil {
		c.addIntegrity(&bld, creds, false)
	}
	bld.AddFingerprint()
	resp, err := bld.Finish()
	return resp, err == nil
}
