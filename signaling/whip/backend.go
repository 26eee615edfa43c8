package whip

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/streamwire/streamwire/sdp"
)

// Kind tells a WHIP exchange (ingest, RFC 9725) from a WHEP one (egress,
// draft-ietf-wish-whep).
type Kind uint8

const (
	// KindWHIP is a publisher: it POSTs its offer to /whip/APP/NAME and sends
	// media.
	KindWHIP Kind = iota + 1
	// KindWHEP is a player: it POSTs its offer to /whep/APP/NAME and receives
	// media.
	KindWHEP
)

// String returns "whip" or "whep".
func (k Kind) String() string {
	switch k {
	case KindWHIP:
		return "whip"
	case KindWHEP:
		return "whep"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Stream names a stream: the path after /whip/ or /whep/, percent-decoded
// segment by segment. App is the first segment and Name the rest, one or
// more segments joined by '/', as MediaMTX takes the whole path as the
// stream's name: /whep/live/a/b plays "live/a/b". String, "APP/NAME", is
// the relay key of every protocol and the path of rtmp://HOST/APP/NAME,
// however an RTMP client splits a nested path into its app and stream
// name (ffmpeg publishes rtmp://HOST/live/a/b as app "live/a" and name
// "b", OBS with server rtmp://HOST/live and key "a/b" as "live" and
// "a/b"). Each segment is 1 to MaxNameLen bytes of UTF-8 without control
// characters or '/' (an encoded %2F would make the path ambiguous), and is
// not "." or ".."; there are 2 to MaxNameSegments of them. ParseStream
// reads one, EscapedPath writes it.
type Stream struct {
	App, Name string
}

// String returns "APP/NAME". The result is client-supplied text: pass it
// through internal/logstr before logging it.
func (s Stream) String() string { return s.App + "/" + s.Name }

// EscapedPath returns "APP/NAME" with each segment percent-encoded
// (url.PathEscape), the part of a /whip/ or /whep/ URL after the prefix.
func (s Stream) EscapedPath() string {
	segs := strings.Split(s.String(), "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return strings.Join(segs, "/")
}

// ParseStream reads the percent-encoded path of a stream, "APP/NAME" as it
// follows /whip/ or /whep/ (EscapedPath writes it), and checks it (see
// Stream). Errors wrap ErrBadName. A server uses it to check a name that
// reached it otherwise (an RTMP publisher's) before it announces WHEP or
// player URLs of it.
func ParseStream(escaped string) (Stream, error) {
	segs := strings.SplitN(escaped, "/", MaxNameSegments+1)
	names, err := decodeNames(segs)
	if err == nil {
		return streamOf(names)
	}
	return Stream{}, err
}

// Offer is one WHIP or WHEP POST as the Backend receives it.
type Offer struct {
	// Kind is KindWHIP for Backend.Publish and KindWHEP for Backend.Play.
	Kind Kind
	// Stream is the stream named by the endpoint URL.
	Stream Stream
	// SDP is the client's offer, as it was sent (RFC 9725 §4.2: the JSEP
	// initial offer of RFC 9429 §5.2.1), at most Config.MaxOfferSize bytes. It
	// is not parsed or checked by the handler: the backend answers it (with
	// package sdp) and reports a bad one with ErrBadOffer, sdp.ErrParse or
	// ErrUnsupported. The backend owns the slice.
	SDP []byte
	// LogID is a short prefix of the session ID, for log lines that must be
	// matched with the handler's. The full ID is the capability that
	// authorizes PATCH and DELETE, so neither the handler nor a backend logs it.
	LogID string
	// RemoteAddr is the HTTP peer's address (http.Request.RemoteAddr).
	RemoteAddr string
	// UserAgent is the request's User-Agent, cut to internal/logstr.MaxLen
	// bytes.
	UserAgent string
}

// Backend creates the media sessions behind WHIP and WHEP: the server
// implements it with relay and peer, tests with fakes. The HTTP layer knows
// media only through this interface: an offer and a stream name go in, an
// answer and a Session come out.
//
// Both methods answer the offer with the complete answer SDP: RFC 9725 §4.3.2
// gives the server no way to trickle, so the answer carries every server
// candidate, a UDP host candidate first (ffmpeg's muxer reads only the first
// one). The answer must start with "v=" (ffmpeg and OBS search for it). The
// client always offers: this package implements neither the server-offer flow
// of old WHEP drafts nor WHEP's 406 counter-offer, which Eyevinn's player
// misreads as "no audio".
//
// ctx is the POST's context: it is cancelled when the client goes away, and
// it ends when the POST has been answered, so the session must not be tied to
// it. A session returned after the client went away is closed by the
// handler.
//
// Errors choose the status of the answer (see Error and the sentinels):
// ErrNotPublished gives 409 with Retry-After (WHEP, no publisher yet),
// ErrPublisherExists 409, ErrOverloaded 503 with Retry-After, ErrBadOffer and
// sdp.ErrParse 400, ErrUnsupported, sdp.ErrNoMedia and sdp.ErrSetup 422,
// ErrForbidden 403; an *Error sets the status, Retry-After and reason itself.
// Any other error is answered 500 and logged, and its text never reaches the
// client.
//
// Play may accept a viewer of a stream that nobody publishes yet and hold it,
// answering at once with tracks that wait for the publisher (the draft's 409
// is what most players cannot handle); a codec mismatch when the publisher
// arrives then closes the Session, with a log line, through Done. Publish
// decides what a second publisher of a live stream does: replacing the old
// one suits OBS, which reconnects while its old session still waits for
// consent expiry; ErrPublisherExists refuses it.
type Backend interface {
	// Publish answers a WHIP offer (RFC 9725 §4.2) and starts receiving.
	Publish(ctx context.Context, offer *Offer) (s Session, answer []byte, err error)
	// Play answers a WHEP offer (draft-ietf-wish-whep §4.2) and starts sending.
	Play(ctx context.Context, offer *Offer) (s Session, answer []byte, err error)
}

// Session is one WHIP or WHEP session, as the handler drives it: PATCH adds
// candidates or restarts ICE, DELETE closes it. Methods may be called from
// different goroutines; the handler serializes Trickle and Restart of one
// session.
type Session interface {
	// Trickle adds the client's candidates of a trickle PATCH (RFC 9725
	// §4.3.2, RFC 8840): the candidates of the offerer-tagged m-section, and
	// possibly a=end-of-candidates. Candidates the session cannot use or
	// resolve (mDNS names, an unknown transport) are dropped silently, not
	// reported. The credentials of frag, if any, are the current ones: the
	// handler sends a PATCH with new ones to Restart. An error matching
	// ErrUnsupported answers 422, which the RFC asks of a server that does not
	// trickle.
	Trickle(ctx context.Context, frag *sdp.SDPFrag) error
	// Restart performs an ICE restart (RFC 9725 §4.3.3, RFC 8445 §9): frag
	// carries the client's new ice-ufrag and ice-pwd and maybe candidates,
	// which replace the old ones. It returns the server's fragment: new
	// ice-ufrag and ice-pwd, all candidates, and the a=ice-lite and
	// a=ice-options of the answer. On error the old ICE session stays; an
	// error matching ErrUnsupported answers 422.
	Restart(ctx context.Context, frag *sdp.SDPFrag) (*sdp.SDPFrag, error)
	// Close ends the session and revokes consent (RFC 7675 §5.2). It is
	// called once per DELETE or handler Close, and also after the session
	// ended on its own, so it must be safe to call on a closed session.
	Close() error
	// Done is closed when the session has ended, on its own (consent expiry,
	// a failed DTLS handshake, the publisher gone) or after Close; the
	// handler then forgets the session. Nil means it never ends on its own.
	Done() <-chan struct{}
	// Connected is closed when the first ICE connectivity check has arrived
	// from the client. A session without one after Config.ConnectTimeout is
	// logged once with the candidates of its answer and Config.ConnectHint.
	// Nil turns the diagnostic off for this session.
	Connected() <-chan struct{}
	// Err reports why the session ended once Done is closed (logged by the
	// handler), and nil before.
	Err() error
}
