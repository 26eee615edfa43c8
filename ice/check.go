package ice

import (
	"bytes"

	"github.com/streamwire/streamwire/internal/sockio"
	"github.com/streamwire/streamwire/stun"
)

// handleSTUN answers a datagram whose first byte says STUN (RFC 7983 §7).
func (r *reader) handleSTUN(in *sockio.Message, b []byte) {
	m := &r.msg
	if !stun.IsMessage(b) {
		r.m.dropped.Add(1)
		return
	}
	if err := m.Decode(b); err != nil {
		// Attributes that overrun the message or break their own rules:
		// silently discarded (RFC 8489 §6.3), so that garbage carrying
		// a magic cookie gets no answer.
		r.m.dropped.Add(1)
		return
	}
	if m.Type() == stun.GoogPingRequest {
		r.handleGoogPing(in)
		return
	}
	if m.Type() != stun.BindingRequest {
		// Binding indications (keepalives, RFC 8445 §11), responses and
		// other methods need no answer.
		r.m.dropped.Add(1)
		return
	}
	if err := m.VerifyFingerprint(); err != nil && err != stun.ErrAttributeNotFound {
		r.m.dropped.Add(1) // not STUN after all (RFC 8489 §7.3)
		return
	}
	user, err := m.Username()
	switch {
	case err == stun.ErrAttributeNotFound:
		r.answerPlain(in, b)
	case err != nil:
		r.replyError(in, b, m.TransactionID(), stun.CodeBadRequest, nil)
	default:
		r.handleCheck(in, b, user)
	}
}

// answerPlain answers a Binding request without USERNAME as stun.Server
// does, so that one port serves plain STUN too.
func (r *reader) answerPlain(in *sockio.Message, b []byte) {
	resp, ok := r.m.plain.AppendResponse(r.responseBuf(), b, in.Addr)
	if !ok {
		r.m.dropped.Add(1)
		return
	}
	r.queue(in, resp)
	r.m.plainSTUN.Add(1)
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
//   - otherwise success: the source becomes a valid address of the session
//     (peer-reflexive when the offer did not list it, §7.3.1.3), nominated
//     when USE-CANDIDATE is present (§7.3.1.5), and the response carries
//     XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT (§7.3.1.1).
//
// A missing PRIORITY is accepted: older ffmpeg WHIP builds send none, and a
// lite agent only needs it for the peer-reflexive candidate it never
// advertises.
func (r *reader) handleCheck(in *sockio.Message, b, user []byte) {
	m := &r.msg
	id := m.TransactionID()
	localUfrag, remoteUfrag, ok := bytes.Cut(user, []byte{':'})
	if !ok || !(m.Has(stun.AttrMessageIntegrity) || m.Has(stun.AttrMessageIntegritySHA256)) {
		r.replyError(in, b, id, stun.CodeBadRequest, nil)
		return
	}
	s := r.m.sessionByUfrag(localUfrag)
	var c *sessionCreds
	if s != nil {
		c = s.creds.Load()
	}
	if c == nil || string(localUfrag) != c.local.Ufrag || // restarted meanwhile
		(c.remote.Ufrag != "" && string(remoteUfrag) != c.remote.Ufrag) || c.integrity.Verify(m) != nil {
		r.replyError(in, b, id, stun.CodeUnauthorized, nil)
		return
	}
	if unknown := m.AppendUnknown(r.unknown[:0]); len(unknown) > 0 {
		r.replyAuthError(in, c.integrity, id, stun.CodeUnknownAttribute, unknown)
		return
	}
	if !iceAttrsWellFormed(m) {
		r.replyAuthError(in, c.integrity, id, stun.CodeBadRequest, nil)
		return
	}
	if m.Has(stun.AttrICEControlled) {
		r.replyAuthError(in, c.integrity, id, stun.CodeRoleConflict, nil)
		return
	}
	r.m.validate(s, in.Addr)
	s.setPath(in.Addr, in.Local, in.IfIndex, m.UseCandidate())
	s.lastCheck.Store(r.m.now().UnixNano()) // consent refreshed (RFC 7675 §5.1)

	var bld stun.Builder
	bld.Start(r.responseBuf(), stun.BindingSuccess, id)
	bld.AddXORMappedAddress(in.Addr)
	if announcesGoogPing(m) {
		bld.AddGoogMiscInfo(stun.GoogPingVersion)
	}
	bld.AddMessageIntegrity(c.integrity)
	bld.AddFingerprint()
	resp, err := bld.Finish()
	if err != nil {
		r.m.dropped.Add(1)
		return
	}
	r.queue(in, resp)
	r.m.checks.Add(1)
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
// USERNAME, so it is routed by its source, which must be a validated
// address of a session, and authenticated by GOOG-MESSAGE-INTEGRITY-32
// with that session's key; the answer is a GOOG-PING success response
// with GOOG-MESSAGE-INTEGRITY-32, no larger than the request. Anything
// else is dropped: Chromium then goes back to a full Binding request.
func (r *reader) handleGoogPing(in *sockio.Message) {
	m := &r.msg
	s := r.m.sessionByAddr(in.Addr)
	if s == nil {
		r.m.dropped.Add(1)
		return
	}
	c := s.creds.Load()
	if c.integrity.VerifyGoogMessageIntegrity32(m) != nil {
		r.m.dropped.Add(1)
		return
	}
	s.lastCheck.Store(r.m.now().UnixNano())
	var bld stun.Builder
	bld.Start(r.responseBuf(), stun.GoogPingSuccess, m.TransactionID())
	bld.AddGoogMessageIntegrity32(c.integrity)
	if m.Has(stun.AttrFingerprint) {
		bld.AddFingerprint()
	}
	resp, err := bld.Finish()
	if err != nil {
		r.m.dropped.Add(1)
		return
	}
	r.queue(in, resp)
	r.m.checks.Add(1)
	r.m.googPings.Add(1)
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
// without MESSAGE-INTEGRITY (RFC 8489 §9.1.3), or drops it when the
// response would be longer than the request (no amplification).
func (r *reader) replyError(in *sockio.Message, req []byte, id stun.TransactionID, code int, unknown []stun.AttrType) {
	resp, ok := r.buildError(id, code, unknown, nil)
	if !ok || len(resp) > len(req) {
		r.m.dropped.Add(1)
		return
	}
	r.queue(in, resp)
	r.m.errResps.Add(1)
}

// replyAuthError answers an authenticated request with an error response
// carrying MESSAGE-INTEGRITY keyed like the request (RFC 8489 §9.1.4).
func (r *reader) replyAuthError(in *sockio.Message, integrity *stun.Integrity, id stun.TransactionID, code int, unknown []stun.AttrType) {
	resp, ok := r.buildError(id, code, unknown, integrity)
	if !ok {
		r.m.dropped.Add(1)
		return
	}
	r.queue(in, resp)
	r.m.errResps.Add(1)
}

// buildError builds a Binding error response with ERROR-CODE, the
// UNKNOWN-ATTRIBUTES of a 420, MESSAGE-INTEGRITY when integrity is set,
// and FINGERPRINT (RFC 8445 §7.3: every ICE message carries one).
func (r *reader) buildError(id stun.TransactionID, code int, unknown []stun.AttrType, integrity *stun.Integrity) ([]byte, bool) {
	var bld stun.Builder
	bld.Start(r.responseBuf(), stun.BindingError, id)
	bld.AddErrorCode(code, "")
	if len(unknown) > 0 {
		bld.AddUnknownAttributes(unknown)
	}
	if integrity != nil {
		bld.AddMessageIntegrity(integrity)
	}
	bld.AddFingerprint()
	resp, err := bld.Finish()
	return resp, err == nil
}
