// Package ice is the ICE layer of streamwire: the data an ICE-lite server
// agent announces and reads in SDP, and Mux, which runs the connectivity
// checks of many ICE-lite sessions on one UDP port and, for peers whose UDP
// is blocked, on TCP listeners (ICE-TCP).
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
//
// # Mux
//
// Mux serves ICE-lite sessions (RFC 8445 §2.5; the agent is always
// controlled) on one net.PacketConn, together with plain STUN. NewMux takes
// the socket and a MuxConfig whose zero value works; Serve runs the one
// read goroutine until its context ends or Close is called and returns
// ErrServerClosed, as net/http does. Sessions cost no goroutine.
//
// Datagrams are demultiplexed by their first byte (RFC 7983 §7). A STUN
// Binding request with USERNAME is a connectivity check (RFC 8445 §7.3):
// it is routed by the local ufrag (before ':') to the Session registered
// with Mux.NewSession (a consent check, from the session's validated
// address, is found by that address, with the one lookup that routes
// media), its MESSAGE-INTEGRITY is verified with the session's keyed
// stun.Integrity (the key schedule runs once per session; the UDP reader
// has its own, used without a lock, and ICE-TCP connections share a
// second one made at the first check over TCP), FINGERPRINT too when
// present, and it is answered with XOR-MAPPED-ADDRESS,
// MESSAGE-INTEGRITY and FINGERPRINT from the local address it reached
// (IP_PKTINFO on a wildcard socket). Errors follow RFC 8489 §9.1.3 and
// RFC 8445 §7.3.1.1: a message that does not parse is silently discarded
// (RFC 8489 §6.3); 400 for a check whose USERNAME has no ':', that lacks
// MESSAGE-INTEGRITY or whose ICE attributes have the wrong size, 401 for an
// unknown ufrag or a wrong key (without MESSAGE-INTEGRITY, and not sent
// when longer than the request, so the port never amplifies), 420 for unknown comprehension-required attributes and
// 487 when the peer claims ICE-CONTROLLED. A missing PRIORITY is accepted.
// Chromium's GOOG-PING is announced (GOOG-MISC-INFO) when the request
// announces it and answered from validated addresses. A Binding request
// without USERNAME is answered as stun.Server answers it.
//
// A successful check validates its source address for the session, which
// is how the Mux learns peer-reflexive addresses (§7.3.1.3) of peers that
// hide or trickle their candidates; USE-CANDIDATE nominates it (§7.3.1.5),
// and a newer nomination replaces it, so the session follows a peer that
// changes networks. DTLS (20-63) and RTP/RTCP (128-191) datagrams from a
// validated address are queued to that session; others are dropped and
// counted (Mux.Stats). Session is the net.Conn the layers above (DTLS-SRTP)
// run on: Read returns the session's next datagram, Write sends to the
// selected address, and WriteBatch sends a burst in one sendmmsg(2).
// Routing a datagram, answering a check, and a Session's Read, Write and
// WriteBatch allocate nothing (but the first Write and the first
// WriteBatch, which make their socket writers). Read takes a queued
// datagram without blocking first, even past its deadline, which fails
// only a Read that would wait.
//
// # ICE-TCP
//
// Mux.ServeTCP serves the same sessions on a net.Listener: passive TCP
// candidates (RFC 6544 §4.5; announce them with Transport TransportTCP,
// TCPType TCPTypePassive and RecommendedPriority), which a peer whose UDP
// is blocked dials from its active candidates. Each connection carries
// RFC 4571 frames (§2: a 16-bit length, then a datagram), demultiplexed
// as datagrams are. A check is authenticated and answered by the same
// code as over UDP, on its connection; its success binds the connection
// to the session (RFC 6544 §7.2: over TCP the connection is what a check
// validates), and USE-CANDIDATE nominates it, so one session holds UDP
// and TCP paths and follows the latest nomination. Session.Write and
// WriteBatch on a TCP path send frames, each write bounded by
// MuxConfig.TCPWriteTimeout; when the selected connection closes, the
// session falls back to another valid path or has none, and stays open.
// A connection costs one goroutine and bounded buffers; connections are
// capped in total and per IP address, closed when no check succeeds
// within MuxConfig.TCPCheckTimeout, when they send anything but STUN,
// DTLS, RTP and RTCP first, and when idle for the consent timeout.
//
// Consent freshness (RFC 7675 §5.1): a session whose peer has had no
// successful check for MuxConfig.ConsentTimeout (30 s by default, on an
// injectable clock) is closed by the Mux; its Err is then
// ErrConsentExpired. Session.Restart switches a session to new
// credentials (ICE restart, RFC 8445 §9) and keeps its pair and media; the
// old credentials stay valid until a check with the new ones succeeds, as
// the peer keeps checking its pair with them meanwhile.
//
// # Local candidates
//
// Gatherer computes the host candidates of a server's UDP socket and
// ICE-TCP listener for every answer, from a copy cached between refreshes
// of the interface addresses: one candidate per address for a socket bound
// to a specific address, every usable interface address of the socket's
// families for a wildcard one (loopback only on request, link-local never),
// and GatherConfig.Announced public addresses (a 1:1 NAT, as mediasoup's
// announcedAddress) first, replacing the local addresses of their family.
// Priorities differ per address (RFC 8445 §5.1.2), and the order is that of
// SortForAnswer.
package ice
