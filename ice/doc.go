// Package ice is the ICE layer of streamwire: so far the data an ICE-lite
// server agent announces and reads in SDP. The connectivity-check Mux, consent
// freshness and ICE-TCP come on top of it.
//
// # Credentials
//
// NewCredentials draws a ufrag of UfragLen ice-chars (48 bits) and a password
// of PwdLen ice-chars (144 bits), above the 24 and 128 bits of RFC 8445 §5.3,
// in the ice-char alphabet of RFC 8839 §5.4. ValidateUfrag and ValidatePwd
// hold a remote peer's a=ice-ufrag and a=ice-pwd to the grammar of RFC 8839
// §5.4 (4-256 and 22-256 ice-chars), which every browser, ffmpeg, OBS and
// GStreamer meet.
//
// # Candidates
//
// Candidate is one candidate line of RFC 8839 §5.1: host, srflx, prflx and
// relay (RFC 8445 §5.1.1), over UDP, or TCP with a tcptype (RFC 6544 §4.5),
// with the connection address either an IP address (net/netip) or a name
// kept as written, such as the mDNS ".local" names browsers use in place of
// private addresses (draft-ietf-mmusic-mdns-ice-candidates). Extension
// attributes that this package does not interpret (Chromium's generation,
// ufrag, network-id, network-cost) are kept in order, so writing a parsed
// line gives it back byte for byte.
//
// ParseCandidate and Candidate.Parse read a line with or without the "a=" and
// "candidate:" prefixes. They never panic, bound the line to
// MaxCandidateLen bytes and MaxExtensions extensions, return strings that
// refer to the input instead of copies, and Parse allocates nothing into a
// reused Candidate. Errors are *CandidateError values naming the field;
// errors.Is matches ErrCandidate, and ErrUnsupported for a transport or type
// that RFC 8839 §5.1 says to ignore rather than fail on. Candidate.AppendTo
// appends a line to a caller's buffer without allocating.
//
// # Priorities and foundations
//
// Priority is the formula of RFC 8445 §5.1.2.1 with the type preferences of
// §5.1.2.2 (Type.Preference: host 126, prflx 110, srflx 100, relay 0);
// TCPLocalPreference is the local preference of RFC 6544 §4.2, which folds
// the TCP direction in; Candidate.RecommendedPriority applies both.
// Foundation derives foundations as RFC 8445 §5.1.1.3 asks.
//
// # Answers
//
// SortForAnswer puts a UDP host candidate first, because ffmpeg's WHIP muxer
// reads only the first candidate of the answer, and orders the rest by
// priority.
package ice
