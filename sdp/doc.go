// Package sdp negotiates WebRTC sessions for a server: it answers browser, OBS,
// ffmpeg and GStreamer offers, makes offers of its own, and reads and writes
// trickle-ICE SDP fragments. Parsing and marshalling are github.com/pion/sdp/v3's;
// the negotiation is this package's.
//
// # Answering
//
// Answer (or AnswerDescription for a parsed offer) follows JSEP, RFC 8829 (updated
// by RFC 9429) §5.3: it indexes the offer once, in one pass over the attributes,
// then for each m-section
//
//   - picks one codec, the first of the local preference list that the offer has:
//     name (case-insensitive), clock rate and channels must match, and the format
//     parameters must be compatible: H.264 profile (profile_idc plus the
//     constraint-set flags of profile-level-id) and packetization-mode (RFC 6184
//     §8.1, §8.2.2; without level-asymmetry-allowed on both sides the answer takes
//     the lower level), VP9 profile-id, AV1 profile;
//   - adds the RTX format whose apt points at that codec (RFC 4588 §8.1) and, when
//     configured, RED (RFC 2198) and ULPFEC (RFC 5109), and nothing else;
//   - keeps the offered rtcp-fb values the codec supports (RFC 4585 §4.2) and the
//     header extensions the local side knows, with the offerer's IDs (RFC 8285 §6),
//     echoing a=extmap-allow-mixed, a=rtcp-mux (RFC 5761) and a=rtcp-rsize (RFC 5506);
//   - mirrors the direction (RFC 3264 §6.1): sendonly gets recvonly, recvonly gets
//     sendonly, sendrecv gets what the local side can do, inactive stays inactive;
//   - answers a=setup (RFC 5763 §5, RFC 8842 §5.3): actpass gets active (or
//     passive, Config.RolePolicy), active gets passive, passive (ffmpeg's WHIP
//     offers) gets active, by dtlsparams.SelectRole, the function dtlssrtp's users
//     call; Section.LocalRole is the resulting DTLS role;
//   - accepts one UDP/DTLS/SCTP webrtc-datachannel section if Config.DataChannel,
//     with a=sctp-port and a=max-message-size (RFC 8841 §5, §6);
//   - rejects, with port 0 and its mid kept, whatever it cannot use (RFC 3264 §6,
//     RFC 8843 §7.3.3), and drops rejected mids from the BUNDLE group (RFC 8843).
//
// Transport attributes may sit at session level (Firefox writes the fingerprint
// there; OBS writes ICE and DTLS attributes there and adds a=group:LS, which is
// ignored) or media level; media level wins (RFC 8839 §5.4, RFC 8122 §5), and a
// bundled section without them, such as a bundle-only one, uses the BUNDLE-tagged
// section's (RFC 8843 §7.1.3). The Session returned carries, per m-section, what
// the ICE, DTLS and RTP layers need: remote credentials, fingerprints and setup,
// the local setup and DTLS role, the codec and repair payload types, extension IDs
// and SSRCs. Fingerprints, setup values and roles are the types of package
// dtlsparams, which dtlssrtp takes as they are: Section.LocalRole and
// Section.RemoteFingerprints go straight into dtlssrtp.Handshake, and the
// fingerprints of a dtlssrtp.Certificate straight into Config.Fingerprints. A
// remote a=fingerprint with a hash function other than sha-1 to sha-512 is
// skipped (RFC 8122 §5); an m-section left without any fails with
// ErrRemoteFingerprint.
//
// # Offering
//
// Offer builds an offer (RFC 8829 §5.2) from the same Config, for a WHEP
// counter-offer or a server that calls a peer; LocalOffer.Accept reads the answer.
//
// # Trickle ICE fragments
//
// ParseSDPFrag and SDPFrag.AppendTo read and write application/trickle-ice-sdpfrag
// bodies (RFC 8840 §9), as WHIP and WHEP PATCH requests carry them (RFC 9725 §4.3).
//
// # Limits and cost
//
// Descriptions longer than MaxSize are refused. Answering a Chrome offer (33 video
// formats) costs one pion Unmarshal plus about a hundred small allocations; see
// BenchmarkAnswerChrome in the bench module.
package sdp
