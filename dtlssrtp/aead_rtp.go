package dtlssrtp

// Design note: SRTP protection of outgoing RTP with the AEAD profiles
// (RFC 7714), done here rather than by pion/srtp because a WHEP fan-out
// server spends most of its SRTP time around the AES-GCM seal, not in it:
// pion parses the header into an rtp.Header, looks the SSRC up in a map and
// computes the rollover counter per packet. Here the header is only
// measured (its bytes are the AAD), the per-SSRC state is a short slice
// (a session sends two to four SSRCs: video, audio, their RTX), and the
// caller may pass the header and the payload as two slices, so that it
// need not join them before protecting.
//
// AES-GCM is broken by a nonce used twice with different plaintexts. The
// nonce is made of the SSRC and the packet index (ROC and sequence
// number), so every RTP packet of the Session's outgoing direction must
// take its ROC from this one state: the Session sends all AEAD-protected
// RTP through aeadSender and none through pion's context.

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math"
)

// MaxSendSSRCs is how many SSRCs a Session protects outgoing RTP for with
// the AEAD profiles. Each keeps its rollover counter for the Session's life
// (forgetting one would restart its packet index at 0 and repeat GCM
// nonces), so past this bound packets of new SSRCs are refused with
// ErrTooManySSRCs.
const MaxSendSSRCs = 64

const (
	// gcmTagLen is the AEAD_AES_*_GCM authentication tag length (RFC 7714 §14.2).
	gcmTagLen = 16
	// gcmSaltLen is the session salt length of the AEAD profiles (RFC 7714 §11).
	gcmSaltLen = 12
	// labelSRTPEncryption and labelSRTPSalt are the key derivation labels
	// of the SRTP encryption key and salt (RFC 3711 §4.3.1).
	labelSRTPEncryption = 0x00
	labelSRTPSalt       = 0x02
	// cryptexOneByte and cryptexTwoByte are the header extension profiles
	// of RFC 9335 §5.1, which mark the extensions as encrypted: a header
	// with them would mislead a receiver, since cryptex is not negotiated.
	cryptexOneByte = 0xC0DE
	cryptexTwoByte = 0xC2DE
	// rtpFixedHeaderLen is the RTP fixed header length (RFC 3550 §5.1).
	rtpFixedHeaderLen = 12
)

// sendStream is the packet index state of one outgoing SSRC (RFC 3711
// §3.3.1): the highest sequence number sent and its rollover counter.
type sendStream struct {
	ssrc uint32
	roc  uint32
	seq  uint16
}

// aeadSender protects outgoing RTP with AES-GCM (RFC 7714 §9). It is not
// safe for concurrent use: the Session's outMu guards it.
type aeadSender struct {
	aead    cipher.AEAD
	salt    [gcmSaltLen]byte
	iv      [gcmSaltLen]byte // a field, so that passing it to Seal does not allocate
	streams []sendStream     // in order of first packet, at most MaxSendSSRCs
	last    int              // index in streams of the previous packet's SSRC
}

// aead reports whether p is an AEAD profile (RFC 7714), whose outgoing
// RTP the Session protects with an aeadSender.
func (p Profile) aead() bool { return p == ProfileAEADAES128GCM || p == ProfileAEADAES256GCM }

// newAEADSender derives the SRTP session key and salt from the master key
// (16 or 32 bytes) and master salt (12 bytes) (RFC 7714 §11).
func newAEADSender(masterKey, masterSalt []byte) (*aeadSender, error) {
	if len(masterSalt) != gcmSaltLen {
		return nil, fmt.Errorf("%w: %d-byte master salt, want %d", ErrBadKeyingMaterial, len(masterSalt), gcmSaltLen)
	}
	master, err := aes.NewCipher(masterKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeyingMaterial, err)
	}
	sessionKey := make([]byte, len(masterKey))
	deriveSessionKey(master, labelSRTPEncryption, masterSalt, sessionKey)
	block, err := aes.NewCipher(sessionKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeyingMaterial, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKeyingMaterial, err)
	}
	a := &aeadSender{aead: aead, streams: make([]sendStream, 0, 4)}
	deriveSessionKey(master, labelSRTPSalt, masterSalt, a.salt[:])
	return a, nil
}

// deriveSessionKey fills out with the AES-CM PRF's output for label
// (RFC 3711 §4.3.1 and §4.3.3, key derivation rate 0): the AES keystream
// under the master key from IV = (label << 48 XOR master salt) * 2^16.
// The 12-byte GCM master salt fills the first 12 of the 14 bytes the PRF
// takes, zero-padded, as libsrtp and pion/srtp do (RFC 7714 §11).
func deriveSessionKey(master cipher.Block, label byte, masterSalt, out []byte) {
	var x, block [aes.BlockSize]byte
	copy(x[:14], masterSalt)
	x[7] ^= label
	for i := 0; i < len(out); i += aes.BlockSize {
		binary.BigEndian.PutUint16(x[14:], uint16(i/aes.BlockSize))
		master.Encrypt(block[:], x[:])
		copy(out[i:], block[:])
	}
}

// rtpHeaderLen returns the length of the RTP header at the start of b:
// the fixed header, the CSRCs and the header extension (RFC 3550 §5.1,
// §5.3.1), or ErrBadRTPHeader.
func rtpHeaderLen(b []byte) (int, error) {
	if len(b) < rtpFixedHeaderLen {
		return 0, fmt.Errorf("%w: %d bytes", ErrBadRTPHeader, len(b))
	}
	if v := b[0] >> 6; v != 2 {
		return 0, fmt.Errorf("%w: version %d", ErrBadRTPHeader, v)
	}
	n := rtpFixedHeaderLen + 4*int(b[0]&0x0F)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return 0, fmt.Errorf("%w: %d bytes, too short for its CSRCs and extension header", ErrBadRTPHeader, len(b))
		}
		if profile := binary.BigEndian.Uint16(b[n:]); profile == cryptexOneByte || profile == cryptexTwoByte {
			return 0, fmt.Errorf("%w: extension profile %#04x is cryptex's (RFC 9335 §5.1), not negotiated", ErrBadRTPHeader, profile)
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	if len(b) < n {
		return 0, fmt.Errorf("%w: %d bytes, its CSRC count and extension length say %d", ErrBadRTPHeader, len(b), n)
	}
	return n, nil
}

// checkRTPHeader returns ErrBadRTPHeader unless header is exactly one
// valid RTP header.
func checkRTPHeader(header []byte) error {
	n, err := rtpHeaderLen(header)
	if err == nil && n != len(header) {
		err = fmt.Errorf("%w: %d bytes given, its fields say %d", ErrBadRTPHeader, len(header), n)
	}
	return err
}

// seal protects the RTP packet header||payload into dst's backing array
// when it has room, else into a new slice. header must be exactly one
// valid RTP header.
func (a *aeadSender) seal(dst, header, payload []byte) ([]byte, error) {
	if err := checkRTPHeader(header); err != nil {
		return nil, err
	}
	ssrc, seq := binary.BigEndian.Uint32(header[8:]), binary.BigEndian.Uint16(header[2:])
	roc, err := a.rollover(ssrc, seq)
	if err != nil {
		return nil, err
	}
	size := len(header) + len(payload) + gcmTagLen
	out := dst[:0]
	if cap(dst) < size {
		out = make([]byte, 0, size)
	}
	out = append(out, header...) // a copy onto itself when header is dst[:n]
	a.nonce(ssrc, roc, seq)
	// RFC 7714 §9.1: the header is the AAD, the payload (with any padding)
	// the plaintext; the tag follows the ciphertext.
	return a.aead.Seal(out, a.iv[:], payload, out), nil
}

// nonce sets a.iv to the GCM IV of a packet (RFC 7714 §8.1):
// the session salt XOR 00 00 || SSRC || ROC || SEQ.
func (a *aeadSender) nonce(ssrc, roc uint32, seq uint16) {
	a.iv[0], a.iv[1] = 0, 0
	binary.BigEndian.PutUint32(a.iv[2:], ssrc)
	binary.BigEndian.PutUint32(a.iv[6:], roc)
	binary.BigEndian.PutUint16(a.iv[10:], seq)
	for i := range a.iv {
		a.iv[i] ^= a.salt[i]
	}
}

// rollover returns the rollover counter of packet seq of ssrc and records
// the packet as sent (RFC 3711 §3.3.1). A newer sequence number (less than
// half the space ahead, in RFC 1982 order) becomes the highest sent, and
// one that wrapped increments the ROC. An older one, a retransmission,
// gets the ROC a receiver would guess (RFC 3711 §3.3.1, Appendix A): the
// index closest to the highest sent, so never a new ROC for an old packet.
func (a *aeadSender) rollover(ssrc uint32, seq uint16) (uint32, error) {
	st, err := a.stream(ssrc, seq)
	if err != nil || st == nil {
		return 0, err // a new SSRC starts at ROC 0
	}
	switch ahead := int16(seq - st.seq); {
	case ahead > 0:
		if seq < st.seq {
			if st.roc == math.MaxUint32 {
				return 0, fmt.Errorf("%w: SSRC %#08x sent 2^48 packets", ErrRTPIndex, ssrc)
			}
			st.roc++
		}
		st.seq = seq
		return st.roc, nil
	case seq <= st.seq:
		return st.roc, nil
	case st.roc == 0:
		return 0, fmt.Errorf("%w: SSRC %#08x sequence %d is before its first packet", ErrRTPIndex, ssrc, seq)
	default:
		return st.roc - 1, nil // sent before the last wrap
	}
}

// stream returns the state of ssrc, or nil after adding it with seq as its
// first packet.
func (a *aeadSender) stream(ssrc uint32, seq uint16) (*sendStream, error) {
	if a.last < len(a.streams) && a.streams[a.last].ssrc == ssrc {
		return &a.streams[a.last], nil
	}
	for i := range a.streams {
		if a.streams[i].ssrc == ssrc {
			a.last = i
			return &a.streams[i], nil
		}
	}
	if len(a.streams) == MaxSendSSRCs {
		return nil, fmt.Errorf("%w: SSRC %#08x would be the %d-th", ErrTooManySSRCs, ssrc, MaxSendSSRCs+1)
	}
	a.last = len(a.streams)
	a.streams = append(a.streams, sendStream{ssrc: ssrc, seq: seq})
	return nil, nil
}
