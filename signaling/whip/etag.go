package whip

import (
	"errors"
	"strings"
)

// errIfMatch reports an If-Match field that does not parse.
var errIfMatch = errors.New("whip: malformed If-Match")

// etagBytes is the entropy of an entity tag: 96 bits, unique per ICE session
// as RFC 9725 §4.3.1 asks (a strong validator, RFC 9110 §8.8.3).
const etagBytes = 12

// ifMatch evaluates the If-Match field lines of a PATCH against cur, the
// session's current strong entity tag with its quotes (RFC 9110 §13.1.1):
//
//	If-Match = "*" / #entity-tag
//
// present reports a field with at least one element; match whether "*" or
// one of the tags equals cur by strong comparison (a weak tag never matches,
// RFC 9110 §8.8.3.2). A tag sent without its quotes is read as if quoted,
// since nothing else can be meant, and `"*"` as the wildcard, as RFC 9725
// §4.3.3's example writes it. A field that does not parse is an error.
func ifMatch(lines []string, cur string) (present, match bool, err error) {
	star := false
	for _, line := range lines {
		rest := line
		for {
			rest = strings.TrimLeft(rest, " \t,")
			if rest == "" {
				break
			}
			present = true
			var tag string
			if tag, rest, err = nextETag(rest); err != nil {
				return true, false, err
			}
			switch {
			case tag == "*", tag == `"*"`: // RFC 9725 §4.3.3's example quotes the wildcard
				star = true
			case tag == cur:
				match = true
			}
		}
	}
	if star {
		return true, true, nil
	}
	return present, match, nil
}

// nextETag reads one list element of an If-Match value and the rest after
// it: "*", a quoted entity tag (returned with its quotes, W/ kept so that it
// never equals a strong tag), or a bare token, returned quoted.
func nextETag(s string) (tag, rest string, err error) {
	weak := strings.HasPrefix(s, "W/")
	if weak {
		s = s[2:]
	}
	var end int
	switch {
	case !weak && s[0] == '*':
		tag, end = "*", 1
	case s != "" && s[0] == '"':
		i := strings.IndexByte(s[1:], '"')
		if i < 0 {
			return "", "", errIfMatch
		}
		end = i + 2
		tag = s[:end]
	case weak: // W/ needs a quoted opaque-tag
		return "", "", errIfMatch
	default: // a bare token
		end = strings.IndexAny(s, " \t,")
		if end < 0 {
			end = len(s)
		}
		if end == 0 {
			return "", "", errIfMatch
		}
		tag = `"` + s[:end] + `"`
	}
	for i := 1; i < len(tag)-1; i++ {
		if c := tag[i]; c < 0x21 || c == '"' || c == 0x7f { // etagc (RFC 9110 §8.8.3)
			return "", "", errIfMatch
		}
	}
	rest = strings.TrimLeft(s[end:], " \t")
	if rest != "" && rest[0] != ',' {
		return "", "", errIfMatch
	}
	if weak {
		tag = "W/" + tag
	}
	return tag, rest, nil
}
