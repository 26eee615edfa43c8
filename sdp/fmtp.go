package sdp

import (
	"strconv"
	"strings"
)

// fmtpParam returns the value of key in an fmtp parameter list "a=1;b=2" (RFC 8866
// §6.15). Keys compare case-insensitively; spaces around separators are ignored. It
// scans the string in place, so indexing an offer costs no allocation.
func fmtpParam(params, key string) (string, bool) {
	for params != "" {
		var p string
		if i := strings.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, ""
		}
		p = strings.TrimSpace(p)
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

func isName(a, b string) bool { return strings.EqualFold(a, b) }

// h264Profile is an H.264 profile as classified by profile_idc and profile-iop, the
// constraint-set flags (RFC 6184 §8.1; ITU-T H.264 Annex A.2).
type h264Profile uint8

const (
	h264Unknown h264Profile = iota
	h264ConstrainedBaseline
	h264Baseline
	h264Main
	h264ConstrainedHigh
	h264High
	h264PredictiveHigh444
)

// h264Patterns maps profile_idc plus a bit pattern of profile-iop (MSB first, 'x' is
// "any") to a profile. A constrained baseline stream is one a baseline, main or
// extended decoder can all play, which is what constraint_set0/1/2 express.
var h264Patterns = []struct {
	idc     byte
	pattern string
	profile h264Profile
}{
	{0x42, "x1xx0000", h264ConstrainedBaseline},
	{0x4D, "1xxx0000", h264ConstrainedBaseline},
	{0x58, "11xx0000", h264ConstrainedBaseline},
	{0x42, "x0xx0000", h264Baseline},
	{0x58, "10xx0000", h264Baseline},
	{0x4D, "0x0x0000", h264Main},
	{0x64, "00000000", h264High},
	{0x64, "00001100", h264ConstrainedHigh},
	{0xF4, "x0000000", h264PredictiveHigh444},
}

func matchBits(v byte, pattern string) bool {
	for i := 0; i < 8; i++ {
		bit := v>>(7-i)&1 == 1
		switch pattern[i] {
		case '1':
			if !bit {
				return false
			}
		case '0':
			if bit {
				return false
			}
		}
	}
	return true
}

// parseProfileLevelID splits an H.264 profile-level-id (6 hex digits) into its
// profile and level_idc. Absent means 42001f (RFC 6184 §8.1: Baseline, level 3.1).
// Level 1b (level_idc 11 with constraint_set3 in Baseline-class profiles) is
// reported as 9 so that it orders between 1 (10) and 1.1 (11).
func parseProfileLevelID(s string, present bool) (h264Profile, int, bool) {
	if !present {
		s = "42001f"
	}
	if len(s) != 6 {
		return h264Unknown, 0, false
	}
	v, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return h264Unknown, 0, false
	}
	idc, iop, level := byte(v>>16), byte(v>>8), int(v&0xff)
	for _, p := range h264Patterns {
		if p.idc == idc && matchBits(iop, p.pattern) {
			if level == 11 && iop&0x10 != 0 && (p.profile == h264Baseline || p.profile == h264ConstrainedBaseline || p.profile == h264Main) {
				level = 9
			}
			return p.profile, level, true
		}
	}
	return h264Unknown, 0, false
}

// fmtpCompatible reports whether an offered format with parameters offered can be
// used by a local codec with parameters local (RFC 6184 §8.2.2 for H.264; RFC 7798
// §7.2.2 for H.265: the same profile-space, profile-id, tier-flag and tx-mode, any
// level-id; VP9 profile-id and AV1 profile must be equal; other codecs are matched
// by name, clock rate and channels only).
func fmtpCompatible(name, local, offered string) bool {
	switch {
	case isName(name, "H264"):
		lp, _, lok := parseProfileLevelID(fmtpParam(local, "profile-level-id"))
		op, _, ook := parseProfileLevelID(fmtpParam(offered, "profile-level-id"))
		if !lok || !ook || lp != op {
			return false
		}
		return paramOr(local, "packetization-mode", "0") == paramOr(offered, "packetization-mode", "0")
	case isName(name, "H265"):
		// The level is not compared: the answer keeps the offer's level-id, the
		// highest level the offerer receives (RFC 7798 §7.2.2), and a relay
		// sends what it is given.
		for _, p := range [...]struct{ key, def string }{{"profile-space", "0"}, {"profile-id", "1"}, {"tier-flag", "0"}, {"tx-mode", "SRST"}} {
			if !strings.EqualFold(paramOr(local, p.key, p.def), paramOr(offered, p.key, p.def)) {
				return false
			}
		}
		return true
	case isName(name, "VP9"):
		return paramOr(local, "profile-id", "0") == paramOr(offered, "profile-id", "0")
	case isName(name, "AV1"):
		return paramOr(local, "profile", "0") == paramOr(offered, "profile", "0")
	}
	return true
}

func paramOr(params, key, def string) string {
	if v, ok := fmtpParam(params, key); ok {
		return v
	}
	return def
}

// h264AnswerFmtp returns the fmtp parameters an answer writes for an H.264 format:
// the offer's, except that without level-asymmetry-allowed=1 on both sides the level
// is lowered to the smaller of the two (RFC 6184 §8.2.2), since both directions must
// then use one level.
func h264AnswerFmtp(local, offered string) string {
	if paramOr(local, "level-asymmetry-allowed", "0") == "1" && paramOr(offered, "level-asymmetry-allowed", "0") == "1" {
		return offered
	}
	lv, lok := fmtpParam(local, "profile-level-id")
	ov, ook := fmtpParam(offered, "profile-level-id")
	_, ll, _ := parseProfileLevelID(lv, lok)
	_, ol, _ := parseProfileLevelID(ov, ook)
	if ll >= ol || !ook {
		return offered
	}
	levelIDC := ll
	if ll == 9 { // level 1b is level_idc 11 with constraint_set3, kept from the offer
		levelIDC = 11
	}
	newID := ov[:4] + strconv.FormatUint(uint64(levelIDC)|0x100, 16)[1:]
	if ll == 9 {
		// set constraint_set3 for 1b
		iop, _ := strconv.ParseUint(ov[2:4], 16, 8)
		newID = ov[:2] + strconv.FormatUint(iop|0x10|0x100, 16)[1:] + "0b"
	}
	return replaceParam(offered, "profile-level-id", newID)
}

// replaceParam rewrites the value of key in an fmtp parameter list.
func replaceParam(params, key, value string) string {
	var b strings.Builder
	rest := params
	first := true
	for rest != "" {
		var p string
		if i := strings.IndexByte(rest, ';'); i >= 0 {
			p, rest = rest[:i], rest[i+1:]
		} else {
			p, rest = rest, ""
		}
		p = strings.TrimSpace(p)
		if !first {
			b.WriteByte(';')
		}
		first = false
		if k, _, _ := strings.Cut(p, "="); strings.EqualFold(strings.TrimSpace(k), key) {
			b.WriteString(strings.TrimSpace(k))
			b.WriteByte('=')
			b.WriteString(value)
			continue
		}
		b.WriteString(p)
	}
	return b.String()
}
