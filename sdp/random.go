package sdp

import (
	"crypto/rand"
	"encoding/binary"
	"io"
)

// iceChars are the characters RFC 8839 §5.4 allows in ice-ufrag and ice-pwd.
const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// random draws identifiers from an injectable source. It reads in blocks of 64
// bytes, so that an answer (ICE credentials, session ID, SSRCs) costs one or two
// reads of crypto/rand instead of one system call per identifier.
type random struct {
	r    io.Reader
	buf  [64]byte
	next int // bytes of buf already used; len(buf) means empty
}

func newRandom(r io.Reader) *random {
	if r == nil {
		r = rand.Reader
	}
	return &random{r: r, next: len(random{}.buf)}
}

// read returns n (at most 64) random bytes, valid until the next call.
func (r *random) read(n int) ([]byte, error) {
	if r.next+n > len(r.buf) {
		if _, err := io.ReadFull(r.r, r.buf[:]); err != nil {
			return nil, errorf(ErrConfig, "read Rand: %v", err)
		}
		r.next = 0
	}
	b := r.buf[r.next : r.next+n]
	r.next += n
	return b, nil
}

// iceString returns n random ICE characters (6 bits of entropy each).
func (r *random) iceString(n int) (string, error) {
	b, err := r.read(n)
	if err != nil {
		return "", err
	}
	out := make([]byte, n)
	for i, v := range b {
		out[i] = iceChars[v&63]
	}
	return string(out), nil
}

// credentials returns ufrag and pwd, filling empty ones with
// DefaultICEUfragLen and DefaultICEPwdLen random characters (RFC 8839 §5.4 asks for at least 24 and 128 bits).
func (r *random) credentials(ufrag, pwd string) (string, string, error) {
	var err error
	if ufrag == "" {
		if ufrag, err = r.iceString(DefaultICEUfragLen); err != nil {
			return "", "", err
		}
	}
	if pwd == "" {
		if pwd, err = r.iceString(DefaultICEPwdLen); err != nil {
			return "", "", err
		}
	}
	return ufrag, pwd, nil
}

// sessionID returns a random o= session ID below 2^63 (RFC 8829 §5.2.1).
func (r *random) sessionID() (uint64, error) {
	b, err := r.read(8)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint64(b) >> 1, nil
}

// ssrc returns a random non-zero SSRC.
func (r *random) ssrc() (uint32, error) {
	for {
		b, err := r.read(4)
		if err != nil {
			return 0, err
		}
		if v := binary.BigEndian.Uint32(b); v != 0 {
			return v, nil
		}
	}
}
