package dtlssrtp

import (
	"fmt"

	"github.com/pion/dtls/v3"
	"github.com/pion/srtp/v3"
)

// Profile is a DTLS-SRTP protection profile, identified by its IANA
// "DTLS-SRTP Protection Profiles" number as sent in the use_srtp extension
// (RFC 5764 §4.1.2, RFC 7714 §14.2).
type Profile uint16

// The profiles this package negotiates.
const (
	// ProfileAES128CMHMACSHA1_80 is AES-128 counter mode with an 80-bit
	// HMAC-SHA1 tag (RFC 5764 §4.1.2); every browser supports it.
	ProfileAES128CMHMACSHA1_80 Profile = 0x0001
	// ProfileAES128CMHMACSHA1_32 is the same with a 32-bit RTP tag; RTCP
	// keeps the 80-bit tag (RFC 5764 §4.1.2).
	ProfileAES128CMHMACSHA1_32 Profile = 0x0002
	// ProfileAEADAES128GCM is AES-128-GCM with a 16-byte tag (RFC 7714 §14.2).
	ProfileAEADAES128GCM Profile = 0x0007
	// ProfileAEADAES256GCM is AES-256-GCM with a 16-byte tag (RFC 7714 §14.2).
	ProfileAEADAES256GCM Profile = 0x0008
)

// DefaultProfiles is the preference order Config uses when Profiles is
// empty: the AEAD profiles first (one pass over the packet, hardware AES),
// then the HMAC profiles every peer implements. Callers must not modify it.
var DefaultProfiles = []Profile{
	ProfileAEADAES128GCM,
	ProfileAEADAES256GCM,
	ProfileAES128CMHMACSHA1_80,
	ProfileAES128CMHMACSHA1_32,
}

// AllProfiles lists every supported profile, for tests and benchmarks.
// Callers must not modify it.
var AllProfiles = []Profile{
	ProfileAEADAES128GCM,
	ProfileAEADAES256GCM,
	ProfileAES128CMHMACSHA1_80,
	ProfileAES128CMHMACSHA1_32,
}

// String returns the profile's name without the SRTP_ prefix, e.g.
// "AEAD_AES_128_GCM" or "AES128_CM_HMAC_SHA1_80".
func (p Profile) String() string {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return "AES128_CM_HMAC_SHA1_80"
	case ProfileAES128CMHMACSHA1_32:
		return "AES128_CM_HMAC_SHA1_32"
	case ProfileAEADAES128GCM:
		return "AEAD_AES_128_GCM"
	case ProfileAEADAES256GCM:
		return "AEAD_AES_256_GCM"
	}
	return fmt.Sprintf("Profile(%#04x)", uint16(p))
}

// Supported reports whether this package can negotiate p.
func (p Profile) Supported() bool {
	switch p {
	case ProfileAES128CMHMACSHA1_80, ProfileAES128CMHMACSHA1_32, ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return true
	}
	return false
}

// KeyLen returns the SRTP master key length in bytes (RFC 5764 §4.1.2,
// RFC 7714 §12), or 0 for an unsupported profile.
func (p Profile) KeyLen() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80, ProfileAES128CMHMACSHA1_32, ProfileAEADAES128GCM:
		return 16
	case ProfileAEADAES256GCM:
		return 32
	}
	return 0
}

// SaltLen returns the SRTP master salt length in bytes: 14 for AES-CM
// (RFC 3711 §8.2), 12 for AES-GCM (RFC 7714 §12); 0 for an unsupported
// profile.
func (p Profile) SaltLen() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80, ProfileAES128CMHMACSHA1_32:
		return 14
	case ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return 12
	}
	return 0
}

// Overhead returns how many bytes protecting an RTP packet adds: the
// authentication tag (10 or 4 bytes for HMAC-SHA1, 16 for GCM).
func (p Profile) Overhead() int {
	switch p {
	case ProfileAES128CMHMACSHA1_80:
		return 10
	case ProfileAES128CMHMACSHA1_32:
		return 4
	case ProfileAEADAES128GCM, ProfileAEADAES256GCM:
		return 16
	}
	return 0
}

// dtlsProfile and srtpProfile map to pion's identically numbered types;
// the explicit conversion keeps pion's names out of this package's API.
func (p Profile) dtlsProfile() dtls.SRTPProtectionProfile { return dtls.SRTPProtectionProfile(p) }

func (p Profile) srtpProfile() srtp.ProtectionProfile { return srtp.ProtectionProfile(p) }
