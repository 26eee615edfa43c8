package turnrest

import (
	"crypto/hmac"
	"crypto/md5" //nolint:gosec // RFC 8489 §9.2.2 defines the long-term key as MD5.
	"crypto/sha256"
	"fmt"

	"github.com/streamwire/streamwire/internal/logstr"
)

// Verify checks a username/password pair the way coturn's use-auth-secret mode
// does: the expiry timestamp (see ParseUsername) must not be before now, and
// the password must equal base64(HMAC-SHA1(secret, username)) for one of the
// configured secrets. Passwords are compared with hmac.Equal (constant time).
// It returns the parsed username, or an error wrapping ErrMalformedUsername,
// ErrExpired or ErrMismatch.
func (m *Minter) Verify(username, password string) (Username, error) {
	u, err := m.check(username)
	if err != nil {
		return Username{}, err
	}
	matched := false
	for _, s := range m.secrets {
		// Every secret is tried, so the time taken does not say which matched.
		if hmac.Equal([]byte(Password(s, username)), []byte(password)) {
			matched = true
		}
	}
	if !matched {
		m.log.Debug("turnrest: password mismatch", logstr.Attr("user", u.User), "expiry", u.Expiry)
		return Username{}, fmt.Errorf("%w (tried %d secrets)", ErrMismatch, len(m.secrets))
	}
	return u, nil
}

// Keys returns the RFC 8489 §9.2.2 long-term keys
// MD5(username ":" realm ":" password) for username, one per configured
// secret in Config.Secrets order, after the expiry check. A TURN server checks
// MESSAGE-INTEGRITY with each key in turn, as coturn does, so that credentials
// signed by any secret in a rotation are accepted. realm is the server's realm
// (coturn's --realm), as sent in the REALM attribute.
func (m *Minter) Keys(username, realm string) ([][]byte, error) {
	if _, err := m.check(username); err != nil {
		return nil, err
	}
	keys := make([][]byte, len(m.secrets))
	for i, s := range m.secrets {
		keys[i] = LongTermKey(username, realm, Password(s, username))
	}
	return keys, nil
}

// FindKey runs the expiry check, then calls verify with the long-term key of
// each secret in turn and returns the first key for which verify reports true.
// verify is typically a MESSAGE-INTEGRITY check of the request being
// authenticated. It returns ErrMismatch when no key verifies.
func (m *Minter) FindKey(username, realm string, verify func(key []byte) bool) ([]byte, error) {
	keys, err := m.Keys(username, realm)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if verify(k) {
			return k, nil
		}
	}
	m.log.Debug("turnrest: no secret's key verifies the message", logstr.Attr("realm", realm))
	return nil, fmt.Errorf("%w (tried %d secrets)", ErrMismatch, len(keys))
}

// check parses username with the configured separator and checks its expiry.
func (m *Minter) check(username string) (Username, error) {
	if err := m.ready(); err != nil {
		return Username{}, err
	}
	u, err := ParseUsername(username, m.sep)
	if err != nil {
		return Username{}, err
	}
	if err := checkExpiry(u.Expiry, m.now()); err != nil {
		m.log.Debug("turnrest: expired credential", logstr.Attr("user", u.User), "expiry", u.Expiry)
		return Username{}, err
	}
	return u, nil
}

// LongTermKey returns the long-term credential key of RFC 8489 §9.2.2 (and
// RFC 5389 §15.4): MD5(username ":" realm ":" password), the 16-byte HMAC key
// of MESSAGE-INTEGRITY. The OpaqueString (SASLprep) step is not applied:
// TURN REST usernames and base64 passwords are ASCII, and coturn does not
// apply it either.
func LongTermKey(username, realm, password string) []byte {
	sum := md5.Sum([]byte(username + ":" + realm + ":" + password)) //nolint:gosec
	return sum[:]
}

// LongTermKeySHA256 is LongTermKey for the SHA-256 password algorithm of
// RFC 8489 §18.5.1.2 (PASSWORD-ALGORITHM 0x0002): SHA-256 of the same string,
// a 32-byte key.
func LongTermKeySHA256(username, realm, password string) []byte {
	sum := sha256.Sum256([]byte(username + ":" + realm + ":" + password))
	return sum[:]
}
