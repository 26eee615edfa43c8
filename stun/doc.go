// Package stun is a zero-allocation codec for Session Traversal Utilities for
// NAT (STUN) messages: RFC 8489 (which obsoletes RFC 5389), the ICE attributes
// of RFC 8445 §16.1, and the Chromium extensions an ICE-lite server meets
// (GOOG-NETWORK-INFO, GOOG-MISC-INFO, and GOOG-PING with
// GOOG-MESSAGE-INTEGRITY-32).
//
// # Decoding
//
// Message.Decode parses a caller's buffer in place (RFC 8489 §5, §14): it
// checks the header (top two bits zero, magic cookie, length a multiple of 4
// that matches the input) and every attribute's bounds and padding, and
// records attribute offsets in a fixed array of MaxAttributes entries. It
// neither copies nor allocates; values returned by getters are sub-slices of
// the buffer and stay valid only while the caller leaves it unchanged.
// Attributes that follow MESSAGE-INTEGRITY, other than
// MESSAGE-INTEGRITY-SHA256 and FINGERPRINT, are ignored as RFC 8489 §14.5
// requires: getters never see them. Message.AppendUnknown lists the
// comprehension-required attributes the caller does not understand
// (RFC 8489 §6.3.1, §14). Messages of RFC 3489 (no magic cookie) are rejected.
//
// # Encoding
//
// Builder appends a message to a caller's buffer: Start writes the header,
// each Add method one attribute with padding while keeping the length field
// current, and AddMessageIntegrity, AddMessageIntegritySHA256 and
// AddFingerprint seal it (RFC 8489 §14.5-§14.7). Errors are sticky and
// returned by Finish.
//
// # Integrity and fingerprint
//
// Integrity holds keyed HMAC-SHA1 and HMAC-SHA256 states for one key, so the
// key schedule is paid once per credential, not per packet: short-term keys
// (RFC 8489 §9.1, the ICE password of RFC 8445 §7.2.2) and long-term keys
// (MD5 or SHA-256 of username:realm:password, RFC 8489 §9.2.2). The
// HMAC-SHA1 state is two saved SHA-1 states inside the Integrity (RFC 2104
// §4), compact for servers that hold one per ICE session; the HMAC-SHA256
// state, which ICE does not use, is made at its first use.
// Integrity.Verify computes the HMAC over a copy of the header with the
// length adjusted (RFC 8489 §14.5, §14.6) followed by the message bytes, so it
// never writes to the message, and compares in constant time.
// MESSAGE-INTEGRITY-SHA256 values truncated to 16-28 bytes (steps of 4) are accepted
// (RFC 8489 §14.6). Message.VerifyFingerprint checks the CRC-32 of RFC 8489
// §14.7.
//
// # GOOG-PING
//
// Chromium's GOOG-PING (method 0x080: types 0x0200, 0x0300, 0x0310) replaces a
// Binding request identical to the previous one once the server has
// announced support with GOOG-MISC-INFO [GoogPingVersion] in a Binding
// response. A GOOG-PING request carries only GOOG-MESSAGE-INTEGRITY-32 (the
// first 4 bytes of the MESSAGE-INTEGRITY HMAC), checked with
// Integrity.VerifyGoogMessageIntegrity32 and added with
// Builder.AddGoogMessageIntegrity32; testdata/ holds requests captured from
// Chromium 156.
//
// # Attributes
//
// Addresses are netip.AddrPort: MAPPED-ADDRESS (§14.1), XOR-MAPPED-ADDRESS
// (§14.2, IPv4 and IPv6), ALTERNATE-SERVER (§14.15). Text: USERNAME (§14.3),
// REALM (§14.9), NONCE (§14.10), SOFTWARE (§14.14), ALTERNATE-DOMAIN
// (§14.16), with the RFC's length limits enforced on encode and decode.
// Others: USERHASH (§14.4), ERROR-CODE (§14.8), UNKNOWN-ATTRIBUTES (§14.13),
// PASSWORD-ALGORITHM and PASSWORD-ALGORITHMS (§14.11, §14.12), PRIORITY,
// USE-CANDIDATE, ICE-CONTROLLED and ICE-CONTROLLING (RFC 8445 §7.1), and
// GOOG-NETWORK-INFO. Any other attribute is reachable through Message.Get,
// Message.All and Builder.Add.
//
// Errors are the package's sentinels (ErrTruncated, ErrBadHeader,
// ErrBadAttribute, ErrTooManyAttributes, ErrAttributeNotFound, ErrIntegrity,
// ErrFingerprint, ...), possibly wrapped; test them with errors.Is.
// Decoding never panics on any input (see FuzzDecode).
//
// RFC 5769 test vectors are in rfc5769_test.go; Binding and GOOG-PING
// requests recorded from Chromium are in testdata/ (interop
// TestSTUNChromium* with -update-stun-captures refreshes them).
//
// # Server and Client
//
// Server is a plain STUN server (RFC 8489 §6.3) answering Binding requests on
// any net.PacketConn with XOR-MAPPED-ADDRESS (§14.2), FINGERPRINT when the
// request had one (§14.7) and an optional SOFTWARE (§14.14); unknown
// comprehension-required attributes get 420 with UNKNOWN-ATTRIBUTES (§6.3.1);
// everything else is dropped. A response never exceeds its request by more
// than MaxResponseGrowth bytes, so the server cannot amplify. On Linux each
// worker reads and writes batches with recvmmsg/sendmmsg and allocates nothing
// per datagram. Serve runs until its context is done or Close is called and
// then returns ErrServerClosed, as net/http's Server does.
//
// Client sends Binding requests over UDP with the retransmissions of §6.2.1
// (RTO 500 ms doubling, Rc 7, Rm 16) or over a stream, framed by the header
// length, with the 39.5 s timeout of §6.2.2. An error response comes back as
// a *ResponseError carrying the ERROR-CODE (errors.As), which also matches
// ErrErrorResponse; every timeout is ErrTimeout, a net.Error whose Timeout
// reports true; a cancelled context gives context.Canceled.
//
// # Cost
//
// On a 2-core Xeon with SHA-NI (see bench_test.go and bench/): Decode of a
// 100-byte ICE check about 22 ns, Integrity.Verify about 210 ns (HMAC-SHA1,
// no key schedule), VerifyFingerprint about 19 ns, building a Binding success
// response with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT about
// 220 ns. Creating an Integrity (the key schedule: two SHA-1 blocks) takes
// 3 allocations, 520 bytes, the HMAC-SHA256 state waiting for its first
// use (12 allocations, 1,064 bytes and about 1.6x the time when both
// crypto/hmac states were made up front); it is meant to be kept per
// session.
package stun
