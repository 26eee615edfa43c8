package sdp

import (
	"fmt"
	"strings"
)

// validate checks what cannot be defaulted, and every caller-supplied string that
// is written into an offer or answer: a CR, LF or NUL in one of them would end its
// line and let the rest be read as lines of their own (SDP injection), so each is
// held to the grammar of the place it goes to. The error wraps ErrConfig and names
// the field.
func (c *Config) validate() error {
	if len(c.Fingerprints) == 0 {
		return ErrNoFingerprint
	}
	// A dtlsparams.Fingerprint holds a known hash function and a digest of its
	// length, or is zero: only the zero value is left to refuse.
	for i, f := range c.Fingerprints {
		if f.IsZero() {
			return errorf(ErrConfig, "Fingerprints[%d] is the zero Fingerprint: use dtlssrtp.Certificate.Fingerprint or dtlsparams.ParseFingerprint", i)
		}
	}
	if err := c.RolePolicy.Check(); err != nil {
		return fmt.Errorf("%w: RolePolicy: %w", ErrConfig, err)
	}
	if c.SCTPPort < 0 || c.SCTPPort > 65535 {
		return errorf(ErrConfig, "SCTPPort %d out of range", c.SCTPPort)
	}
	if c.MaxMessageSize < 0 {
		return errorf(ErrConfig, "negative MaxMessageSize")
	}
	if c.ICEUfrag != "" && (len(c.ICEUfrag) < 4 || !validICEChars(c.ICEUfrag)) {
		return errorf(ErrConfig, "ICEUfrag must be 4-256 ice-chars (RFC 8839 §5.4)")
	}
	if c.ICEPwd != "" && (len(c.ICEPwd) < 22 || !validICEChars(c.ICEPwd)) {
		return errorf(ErrConfig, "ICEPwd must be 22-256 ice-chars (RFC 8839 §5.4)")
	}
	return c.validateText()
}

// validateText checks the free-form strings of c, in the order of the Config.
func (c *Config) validateText() error {
	if err := c.Audio.validate("Audio"); err != nil {
		return err
	}
	if err := c.Video.validate("Video"); err != nil {
		return err
	}
	for i, o := range c.ICEOptions {
		if !validICEChars(o) {
			return errorf(ErrConfig, "ICEOptions[%d] %q: an ice-option-tag is 1*ice-char (RFC 8839 §5.6)", i, clip(o))
		}
	}
	for i, cand := range c.Candidates {
		if err := checkLocalCandidate(cand); err != nil {
			return errorf(ErrConfig, "Candidates[%d]: %v", i, err)
		}
	}
	checks := [...]struct {
		field, value string
		check        func(string) error
	}{
		{"CNAME", c.CNAME, checkByteString},
		{"StreamID", c.StreamID, checkMsidID},
		{"SessionName", c.SessionName, checkByteString},
	}
	for _, ch := range checks {
		if ch.value == "" { // the default is used
			continue
		}
		if err := ch.check(ch.value); err != nil {
			return errorf(ErrConfig, "%s: %v", ch.field, err)
		}
	}
	return nil
}

// validate checks the strings of a MediaConfig; kind names it in errors.
func (m *MediaConfig) validate(kind string) error {
	for i := range m.Codecs {
		if err := m.Codecs[i].validate(kind, i); err != nil {
			return err
		}
	}
	for i, uri := range m.Extensions {
		if err := checkToken(uri, isVChar); err != nil {
			return errorf(ErrConfig, "%s.Extensions[%d]: an extmap URI %v (RFC 8285 §8)", kind, i, err)
		}
	}
	checks := [...]struct {
		field, value string
		check        func(string) error
	}{
		{"CNAME", m.Source.CNAME, checkByteString},
		{"StreamID", m.Source.StreamID, checkMsidID},
		{"TrackID", m.Source.TrackID, checkMsidID},
	}
	for _, ch := range checks {
		if ch.value == "" {
			continue
		}
		if err := ch.check(ch.value); err != nil {
			return errorf(ErrConfig, "%s.Source.%s: %v", kind, ch.field, err)
		}
	}
	return nil
}

// validate checks the strings Offer writes into a=rtpmap, a=fmtp and a=rtcp-fb;
// kind and i name the Codec in errors ("Video.Codecs[0]").
func (c *Codec) validate(kind string, i int) error {
	if err := checkToken(c.Name, isTokenChar); err != nil {
		return errorf(ErrConfig, "%s.Codecs[%d].Name: an encoding name %v (RFC 8866 §6.6)", kind, i, err)
	}
	if c.Fmtp != "" {
		if err := checkByteString(c.Fmtp); err != nil {
			return errorf(ErrConfig, "%s.Codecs[%d].Fmtp: %v", kind, i, err)
		}
	}
	for j, fb := range c.RTCPFeedback {
		if err := checkWords(fb); err != nil {
			return errorf(ErrConfig, "%s.Codecs[%d].RTCPFeedback[%d]: an rtcp-fb-val %v (RFC 4585 §4.2)", kind, i, j, err)
		}
	}
	return nil
}

// checkLocalCandidate checks a configured candidate as the local side writes it:
// the candidate-attribute of RFC 8839 §5.1, whose fields are separated by SP and
// made of VCHARs, with the "a=" and "candidate:" prefixes that candidateValue
// strips allowed.
func checkLocalCandidate(c string) error {
	v := candidateValue(c)
	if err := checkWords(v); err != nil {
		return fmt.Errorf("a candidate-attribute %v (RFC 8839 §5.1)", err)
	}
	return checkCandidate(v)
}

// checkMsidID checks an msid-id or msid-appdata: 1*64token-char (RFC 8830 §2).
func checkMsidID(v string) error {
	if len(v) > 64 {
		return fmt.Errorf("%q is %d bytes, an msid-id is at most 64 token-chars (RFC 8830 §2)", clip(v), len(v))
	}
	if err := checkToken(v, isTokenChar); err != nil {
		return fmt.Errorf("an msid-id %v (RFC 8830 §2)", err)
	}
	return nil
}

// checkByteString checks the byte-string of RFC 8866 §9, the grammar of s= and of
// attribute values such as a CNAME: 1*(%x01-09/%x0B-0C/%x0E-FF), so no NUL, CR or LF.
func checkByteString(v string) error {
	if v == "" {
		return fmt.Errorf("empty value")
	}
	if i := strings.IndexAny(v, "\x00\r\n"); i >= 0 {
		return fmt.Errorf("%q has %q at offset %d: NUL, CR and LF are not allowed in a byte-string (RFC 8866 §9)", clip(v), v[i], i)
	}
	return nil
}

// checkWords checks VCHAR words separated by single spaces, as a candidate and an
// rtcp-fb value are written.
func checkWords(v string) error {
	for w := range strings.SplitSeq(v, " ") { // no allocation: a valid Config costs nothing
		if err := checkToken(w, isVChar); err != nil {
			return fmt.Errorf("in %q: %v", clip(v), err)
		}
	}
	return nil
}

// checkToken checks that v is non-empty and made only of bytes for which ok holds.
func checkToken(v string, ok func(byte) bool) error {
	if v == "" {
		return fmt.Errorf("cannot be empty (or have doubled spaces)")
	}
	for i := 0; i < len(v); i++ {
		if !ok(v[i]) {
			return fmt.Errorf("cannot hold %q (%q, offset %d)", v[i], clip(v), i)
		}
	}
	return nil
}

// isTokenChar reports a token-char of RFC 8866 §9: %x21 / %x23-27 / %x2A-2B /
// %x2D-2E / %x30-39 / %x41-5A / %x5E-7E.
func isTokenChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2E ||
		(c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x5E && c <= 0x7E)
}

// isVChar reports a visible ASCII character (RFC 5234 B.1).
func isVChar(c byte) bool { return c >= 0x21 && c <= 0x7E }

func errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
