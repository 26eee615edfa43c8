package dtlssrtp

import (
	"fmt"

	"github.com/pion/srtp/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// ExporterLabel is the TLS exporter label DTLS-SRTP derives its keys with
// (RFC 5764 §4.2).
const ExporterLabel = "EXTRACTOR-dtls_srtp"

// DefaultReplayWindow is the SRTP and SRTCP replay window, in packets,
// Config uses by default. It is wider than RFC 3711's minimum of 64 so that
// reordering across a jittery path does not drop good packets.
const DefaultReplayWindow = 1024

// KeyingMaterial is the SRTP master keys and salts of a DTLS-SRTP session,
// split by direction: Local protects what we send, Remote unprotects what
// the peer sends.
type KeyingMaterial struct {
	// Profile is the SRTP protection profile the keys are for; it sets
	// their lengths (Profile.KeyLen, Profile.SaltLen).
	Profile Profile
	// LocalKey is the SRTP master key we protect outgoing packets with.
	LocalKey []byte
	// LocalSalt is the SRTP master salt of outgoing packets.
	LocalSalt []byte
	// RemoteKey is the SRTP master key the peer protects its packets with.
	RemoteKey []byte
	// RemoteSalt is the SRTP master salt of incoming packets.
	RemoteSalt []byte
}

// KeyingMaterialLen returns how many bytes to export for p:
// 2 * (key length + salt length) (RFC 5764 §4.2).
func KeyingMaterialLen(p Profile) int { return 2 * (p.KeyLen() + p.SaltLen()) }

// SplitKeyingMaterial cuts exported keying material into master keys and
// salts. RFC 5764 §4.2 lays it out as client_write_SRTP_master_key,
// server_write_SRTP_master_key, client_write_SRTP_master_salt,
// server_write_SRTP_master_salt; role says which half is ours. The result
// aliases material.
func SplitKeyingMaterial(p Profile, role dtlsparams.Role, material []byte) (KeyingMaterial, error) {
	if !p.Supported() {
		return KeyingMaterial{}, fmt.Errorf("%w: %v", ErrUnsupportedProfile, p)
	}
	if role != dtlsparams.RoleClient && role != dtlsparams.RoleServer {
		return KeyingMaterial{}, fmt.Errorf("%w: %v", dtlsparams.ErrBadRole, role)
	}
	kl, sl := p.KeyLen(), p.SaltLen()
	if len(material) != 2*(kl+sl) {
		return KeyingMaterial{}, fmt.Errorf("%w: %d bytes for %v, want %d", ErrBadKeyingMaterial, len(material), p, 2*(kl+sl))
	}
	clientKey := material[:kl:kl]
	serverKey := material[kl : 2*kl : 2*kl]
	clientSalt := material[2*kl : 2*kl+sl : 2*kl+sl]
	serverSalt := material[2*kl+sl:]
	if role == dtlsparams.RoleClient {
		return KeyingMaterial{Profile: p, LocalKey: clientKey, LocalSalt: clientSalt, RemoteKey: serverKey, RemoteSalt: serverSalt}, nil
	}
	return KeyingMaterial{Profile: p, LocalKey: serverKey, LocalSalt: serverSalt, RemoteKey: clientKey, RemoteSalt: clientSalt}, nil
}

// Contexts builds the two pion/srtp contexts: local encrypts outgoing SRTP
// and SRTCP, remote decrypts incoming SRTP and SRTCP with replay protection
// over replayWindow packets (DefaultReplayWindow when 0) for both (RFC 3711
// §3.3.2). A context is not safe for concurrent use.
func (k KeyingMaterial) Contexts(replayWindow uint) (local, remote *srtp.Context, err error) {
	if !k.Profile.Supported() {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnsupportedProfile, k.Profile)
	}
	if replayWindow == 0 {
		replayWindow = DefaultReplayWindow
	}
	local, err = srtp.CreateContext(k.LocalKey, k.LocalSalt, k.Profile.srtpProfile())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: local context: %w", ErrBadKeyingMaterial, err)
	}
	remote, err = srtp.CreateContext(k.RemoteKey, k.RemoteSalt, k.Profile.srtpProfile(),
		srtp.SRTPReplayProtection(replayWindow), srtp.SRTCPReplayProtection(replayWindow))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: remote context: %w", ErrBadKeyingMaterial, err)
	}
	return local, remote, nil
}
