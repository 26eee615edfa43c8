package dtlssrtp

import (
	"fmt"

	"github.com/streamwire/streamwire/dtlsparams"
)

// VerifyFingerprint checks a peer's DER-encoded certificate against the
// fingerprints signalled in SDP, as RFC 8122 §5 says: take the fingerprints
// made with the strongest hash function present, and require the
// certificate to match one of them. It fails with ErrNoFingerprint when fps
// holds no usable fingerprint and ErrFingerprintMismatch otherwise.
func VerifyFingerprint(der []byte, fps []dtlsparams.Fingerprint) error {
	var best dtlsparams.HashAlgorithm
	for _, f := range fps {
		if f.Algorithm() > best {
			best = f.Algorithm()
		}
	}
	if best == 0 {
		return ErrNoFingerprint
	}
	for _, f := range fps {
		if f.Algorithm() == best && f.Matches(der) {
			return nil
		}
	}
	return fmt.Errorf("%w: no %v fingerprint matches", ErrFingerprintMismatch, best)
}
