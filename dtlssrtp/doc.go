// Package dtlssrtp secures WebRTC media: it decides the DTLS role from the
// SDP offer/answer, makes and fingerprints certificates, runs the DTLS
// handshake with the use_srtp extension, checks the peer against the SDP
// fingerprint, and turns the exported keys into SRTP contexts. It also
// demultiplexes the protocols that share an ICE socket.
//
// The pieces, in the order a session uses them:
//
//   - Role selection and fingerprints come from package dtlsparams, which
//     package sdp shares, so an sdp.Section's LocalRole and
//     RemoteFingerprints go to Handshake unchanged. dtlsparams.SelectRole
//     maps a=setup to a DTLS role (RFC 5763 §5, RFC 8842 §5: active means
//     client); dtlsparams.Fingerprint is the a=fingerprint value
//     (RFC 8122 §5).
//   - Certificates (certificate.go, fingerprint.go). GenerateCertificate
//     makes the self-signed ECDSA P-256 certificate WebRTC endpoints use
//     (RFC 8827 §6.5); Certificate.Fingerprint gives the value for our
//     a=fingerprint; VerifyFingerprint applies RFC 8122 §5's rule to the
//     peer's certificate: the strongest hash function present decides.
//   - Handshake (handshake.go). Handshake runs DTLS 1.2 (RFC 6347) over
//     pion/dtls as client or server with the use_srtp extension (RFC 5764
//     §4.1), both sides presenting certificates (RFC 5763 §5), the peer's
//     matched against the SDP fingerprints instead of a CA chain
//     (ErrFingerprintMismatch otherwise). The context bounds the whole
//     handshake (ErrHandshakeTimeout).
//   - Keys (keys.go, session.go). The SRTP master keys and salts come from
//     the TLS exporter with the label "EXTRACTOR-dtls_srtp", laid out as
//     client key, server key, client salt, server salt (RFC 5764 §4.2); the
//     Session holds pion/srtp contexts for both directions, the inbound one
//     with SRTP and SRTCP replay protection (RFC 3711 §3.3.2). Profiles:
//     AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714), AES128_CM_HMAC_SHA1_80
//     and AES128_CM_HMAC_SHA1_32 (RFC 5764 §4.1.2).
//   - Outgoing RTP with the AEAD profiles (aead_rtp.go). The Session
//     protects it itself, a fan-out server's hottest path, with one
//     rollover counter per SSRC (RFC 3711 §3.3.1, RFC 7714 §8-9);
//     ProtectRTPParts takes the header and the payload apart, so that a
//     sender need not join them first.
//   - Demultiplexing (demux.go). Classify sorts datagrams on one ICE
//     component into STUN, ZRTP, DTLS, TURN channel data, RTP and RTCP by
//     their first byte (RFC 7983 §7), and RTP from RTCP by the packet type
//     (RFC 5761 §4).
//
// What this package does not do: ICE (the caller supplies a net.Conn that
// carries this session's DTLS datagrams), SDP (package sdp), SCTP (Session.DTLSConn gives the connection to run it
// on), and DTLS 1.3 (pion/dtls v3 speaks DTLS 1.2, as browsers do for
// WebRTC today).
//
// Cost: a handshake is two ECDSA P-256 signatures and verifications and
// one ECDHE per side; see BenchmarkDTLSHandshake in the bench module.
// Protecting and unprotecting reuse the caller's buffer and do not
// allocate; see BenchmarkSRTPProtect.
package dtlssrtp
