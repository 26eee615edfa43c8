// Package dtlsparams holds the DTLS parameters that SDP carries, as one type
// each, shared by package sdp (which reads and writes them) and package
// dtlssrtp (which runs the handshake they describe):
//
//   - Setup, the a=setup attribute (RFC 4145 §4, RFC 8842 §5), whose zero
//     value SetupNone means the attribute was absent;
//   - Role, Side, RolePolicy and SelectRole: the DTLS role that follows from
//     the a=setup values of an offer and its answer (RFC 5763 §5,
//     RFC 8842 §5), decided in one place for both packages;
//   - Fingerprint and HashAlgorithm, the a=fingerprint attribute
//     (RFC 8122 §5): a hash function and the digest of a DER-encoded
//     certificate, a comparable value that parses and formats without
//     allocating.
//
// A Session of package sdp therefore hands its values straight to
// dtlssrtp.Handshake:
//
//	sec := session.Sections[0]
//	dtlssrtp.Handshake(ctx, conn, sec.LocalRole, dtlssrtp.Config{
//		Certificate:        cert,
//		RemoteFingerprints: sec.RemoteFingerprints,
//	})
//
// The package imports only the standard library, so that sdp does not pull
// in a DTLS implementation.
package dtlsparams
