package dtlsparams

import "fmt"

// Role is the local DTLS role.
type Role uint8

// The DTLS roles. The zero value is not a role: it is what a Role holds
// before SelectRole decided it, and dtlssrtp.Handshake refuses it.
const (
	RoleClient Role = iota + 1 // sends the ClientHello (a=setup:active)
	RoleServer                 // answers it (a=setup:passive)
)

// String returns "client" or "server".
func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleServer:
		return "server"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Side says which half of the SDP offer/answer exchange we wrote.
type Side uint8

// The two sides of an offer/answer exchange (RFC 3264).
const (
	Offerer Side = iota + 1
	Answerer
)

// String returns "offerer" or "answerer".
func (s Side) String() string {
	switch s {
	case Offerer:
		return "offerer"
	case Answerer:
		return "answerer"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// RolePolicy holds the choices RFC 5763 leaves to the endpoint. The zero
// value is what browsers do: offer actpass, answer an actpass offer with
// active.
type RolePolicy struct {
	// Offer is the a=setup value we sent in our offer; only used when we
	// are the offerer. SetupNone means actpass, which RFC 5763 §5 requires
	// of offerers; active and passive are accepted for endpoints that
	// cannot take both roles.
	Offer Setup

	// AnswerPassive makes us answer an actpass offer with passive (DTLS
	// server) instead of active. RFC 5763 §5 recommends active, because the
	// handshake can then start as soon as the answer is sent; passive suits
	// a server that wants the browser to open the DTLS connection.
	AnswerPassive bool
}

// OfferSetup returns the a=setup value of an offer made with this policy:
// p.Offer, or SetupActpass when p.Offer is SetupNone (RFC 5763 §5).
func (p RolePolicy) OfferSetup() Setup {
	if p.Offer == SetupNone {
		return SetupActpass
	}
	return p.Offer
}

// Check reports a policy from which no DTLS session can start: an Offer
// other than SetupNone, SetupActpass, SetupActive or SetupPassive fails
// with ErrBadSetup. A Config that holds a RolePolicy calls it up front, so
// that the mistake shows before any offer is written.
func (p RolePolicy) Check() error {
	if !p.Offer.valid() || p.Offer == SetupHoldconn {
		return fmt.Errorf("%w: RolePolicy.Offer %v: an offer that starts a DTLS session is actpass, active or passive", ErrBadSetup, p.Offer)
	}
	return nil
}

// SelectRole returns our DTLS role and the a=setup value that goes in our
// own SDP, given which side of the exchange we are and the a=setup value
// the peer sent (RFC 5763 §5, RFC 8842 §5, RFC 4145 §4):
//
//	answerer, offer actpass  -> client, active (server, passive with AnswerPassive)
//	answerer, offer active   -> server, passive
//	answerer, offer passive  -> client, active
//	offerer,  answer active  -> server (we offered actpass or passive)
//	offerer,  answer passive -> client (we offered actpass or active)
//
// An absent remote attribute counts as active (RFC 4145 §4). Every other
// combination (holdconn on either side, an actpass answer, both active,
// both passive) fails with ErrRoleConflict; an unknown Side fails with
// ErrBadRole.
func SelectRole(side Side, remote Setup, policy RolePolicy) (Role, Setup, error) {
	if !remote.valid() || !policy.Offer.valid() {
		return 0, SetupNone, fmt.Errorf("%w: remote %v, offer %v", ErrBadSetup, remote, policy.Offer)
	}
	if remote == SetupNone {
		remote = SetupActive
	}
	switch side {
	case Answerer:
		return answerRole(remote, policy.AnswerPassive)
	case Offerer:
		return offerRole(policy.Offer, remote)
	}
	return 0, SetupNone, fmt.Errorf("%w: unknown side %v", ErrBadRole, side)
}

func answerRole(offer Setup, passive bool) (Role, Setup, error) {
	switch offer {
	case SetupActpass:
		if passive {
			return RoleServer, SetupPassive, nil
		}
		return RoleClient, SetupActive, nil
	case SetupActive:
		return RoleServer, SetupPassive, nil
	case SetupPassive:
		return RoleClient, SetupActive, nil
	}
	// Only holdconn is left after SelectRole's checks.
	return 0, SetupNone, fmt.Errorf("%w: offer is holdconn, no DTLS session can start", ErrRoleConflict)
}

func offerRole(offered, answer Setup) (Role, Setup, error) {
	offered = RolePolicy{Offer: offered}.OfferSetup()
	switch {
	case offered == SetupHoldconn:
		return 0, SetupNone, fmt.Errorf("%w: offered holdconn, no DTLS session can start", ErrRoleConflict)
	case answer == SetupActpass:
		return 0, SetupNone, fmt.Errorf("%w: answer must not be actpass", ErrRoleConflict)
	case answer == SetupHoldconn:
		return 0, SetupNone, fmt.Errorf("%w: answer is holdconn, no DTLS session can start", ErrRoleConflict)
	case answer == SetupActive && offered != SetupActive:
		return RoleServer, offered, nil
	case answer == SetupPassive && offered != SetupPassive:
		return RoleClient, offered, nil
	}
	// Both active or both passive.
	return 0, SetupNone, fmt.Errorf("%w: offered %v, answer %v", ErrRoleConflict, offered, answer)
}
