package whip

import (
	"fmt"
	"strings"

	"github.com/streamwire/streamwire/turnrest"
)

// RelICEServer is the link relation of a STUN or TURN server (RFC 9725 §4.6,
// registered in §6.2).
const RelICEServer = "ice-server"

// Link is one link-value of a Link header (RFC 8288 §3).
type Link struct {
	// Target is the URI-Reference between '<' and '>', as written.
	Target string
	// Rel holds the relation types of the first rel parameter, lower-cased
	// (RFC 8288 §2.1.1 compares them case-insensitively; §3.3 ignores a
	// second rel).
	Rel []string
	// Params are the other target attributes in order, names lower-cased,
	// values unquoted ("username", "credential", "credential-type" for an
	// ice-server link).
	Params []LinkParam
}

// LinkParam is one target attribute of a Link: name, and value without
// quotes or escapes (empty for a parameter without "=").
type LinkParam struct {
	Name, Value string
}

// Param returns the value of the first parameter called name (given in lower
// case), and whether there is one.
func (l Link) Param(name string) (string, bool) {
	for _, p := range l.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// HasRel reports whether l has the relation type rel (given in lower case).
func (l Link) HasRel(rel string) bool {
	for _, r := range l.Rel {
		if r == rel {
			return true
		}
	}
	return false
}

// ParseLinks parses Link field lines (http.Header.Values("Link")) by the
// grammar of RFC 8288 §3, each line a comma-separated list:
//
//	link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
//	link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
//
// Commas inside <...> and quoted strings do not split, empty list elements
// and a ';' with no parameter after it are skipped. An error wraps ErrBadLink
// and names the byte where parsing stopped; nothing is returned then.
func ParseLinks(lines ...string) ([]Link, error) {
	var links []Link
	for n, line := range lines {
		p := linkParser{s: line}
		for {
			p.skip(" \t,")
			if p.i == len(p.s) {
				break
			}
			l, err := p.link()
			if err != nil {
				return nil, fmt.Errorf("%w: line %d, byte %d: %v", ErrBadLink, n+1, p.i, err)
			}
			links = append(links, l)
		}
	}
	return links, nil
}

// ICEServers returns the STUN and TURN servers among links: those with rel
// "ice-server" (RFC 9725 §4.6). A link whose credential-type is neither absent
// nor "password" is left out, since its credential is not a password.
func ICEServers(links []Link) []ICEServer {
	var servers []ICEServer
	for _, l := range links {
		if !l.HasRel(RelICEServer) {
			continue
		}
		if t, ok := l.Param("credential-type"); ok && !strings.EqualFold(t, "password") {
			continue
		}
		user, _ := l.Param("username")
		cred, _ := l.Param("credential")
		servers = append(servers, ICEServer{URL: l.Target, Username: user, Credential: cred})
	}
	return servers
}

// linkValue returns s as a Link header value in the format of turnrest
// (turnrest.Credential.LinkHeaders), the one formatter of the module:
// credentials only for turn: and turns: URIs.
func (s ICEServer) linkValue() string {
	c := turnrest.Credential{Username: s.Username, Password: s.Credential, URIs: []string{s.URL}}
	return c.LinkHeaders()[0]
}

// linkParser reads one Link field line.
type linkParser struct {
	s string
	i int
}

func (p *linkParser) skip(set string) {
	for p.i < len(p.s) && strings.IndexByte(set, p.s[p.i]) >= 0 {
		p.i++
	}
}

// link reads one link-value, up to the ',' after it or the end.
func (p *linkParser) link() (Link, error) {
	var l Link
	if p.s[p.i] != '<' {
		return l, fmt.Errorf("link-value does not start with '<'")
	}
	end := strings.IndexByte(p.s[p.i:], '>')
	if end < 0 {
		return l, fmt.Errorf("no '>' after the target")
	}
	l.Target = p.s[p.i+1 : p.i+end]
	p.i += end + 1
	relSeen := false
	for {
		p.skip(" \t")
		if p.i == len(p.s) || p.s[p.i] == ',' {
			return l, nil
		}
		if p.s[p.i] != ';' {
			return l, fmt.Errorf("want ';' or ',' after a link target or parameter")
		}
		p.i++
		p.skip(" \t")
		if p.i == len(p.s) || p.s[p.i] == ',' || p.s[p.i] == ';' {
			continue // a stray ';'
		}
		name, value, err := p.param()
		if err != nil {
			return l, err
		}
		if name == "rel" {
			if !relSeen {
				l.Rel = strings.Fields(strings.ToLower(value))
			}
			relSeen = true
			continue
		}
		l.Params = append(l.Params, LinkParam{Name: name, Value: value})
	}
}

// param reads one link-param.
func (p *linkParser) param() (name, value string, err error) {
	start := p.i
	for p.i < len(p.s) && isTChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", "", fmt.Errorf("parameter name is not a token")
	}
	name = strings.ToLower(p.s[start:p.i])
	p.skip(" \t")
	if p.i == len(p.s) || p.s[p.i] != '=' {
		return name, "", nil
	}
	p.i++
	p.skip(" \t")
	if p.i < len(p.s) && p.s[p.i] == '"' {
		value, err = p.quoted()
		return name, value, err
	}
	start = p.i
	for p.i < len(p.s) && isTChar(p.s[p.i]) {
		p.i++
	}
	if p.i == start {
		return "", "", fmt.Errorf("parameter %q has no token or quoted-string value", name)
	}
	return name, p.s[start:p.i], nil
}

// quoted reads a quoted-string (RFC 9110 §5.6.4) and returns its content
// without the escapes.
func (p *linkParser) quoted() (string, error) {
	var b strings.Builder
	for p.i++; p.i < len(p.s); p.i++ {
		switch c := p.s[p.i]; {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s):
			p.i++
			b.WriteByte(p.s[p.i])
		case c < ' ' && c != '\t' || c == 0x7f:
			return "", fmt.Errorf("control character in a quoted-string")
		default:
			b.WriteByte(c)
		}
	}
	return "", fmt.Errorf("unterminated quoted-string")
}

// isTChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
