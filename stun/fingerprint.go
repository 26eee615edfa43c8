package stun

import (
	"encoding/binary"
	"hash/crc32"
)

// fingerprintXOR is XORed into the CRC-32 of FINGERPRINT (RFC 8489 §14.7).
const fingerprintXOR = 0x5354554E

// Fingerprint computes the FINGERPRINT value of msg, a message whose header
// length already counts the FINGERPRINT attribute that will follow:
// CRC-32 (IEEE) of msg XOR 0x5354554E (RFC 8489 §14.7).
func Fingerprint(msg []byte) uint32 {
	return crc32.ChecksumIEEE(msg) ^ fingerprintXOR
}

// VerifyFingerprint checks FINGERPRINT (RFC 8489 §14.7). It returns
// ErrAttributeNotFound when m has none and ErrFingerprint when it does not
// match. It does not modify m's bytes or allocate.
func (m *Message) VerifyFingerprint() error {
	a, ok := m.at(m.fp)
	if !ok {
		return ErrAttributeNotFound
	}
	if a.length != 4 {
		return ErrBadAttribute
	}
	off := int(a.off)
	want := binary.BigEndian.Uint32(m.raw[off+attrHeaderSize:])
	var crc uint32
	if off+attrHeaderSize+4 == len(m.raw) {
		crc = crc32.ChecksumIEEE(m.raw[:off])
	} else {
		// Ignored attributes follow FINGERPRINT: the CRC covers a header
		// whose length ends at FINGERPRINT, as the sender computed it.
		var l [2]byte
		binary.BigEndian.PutUint16(l[:], uint16(off+attrHeaderSize+4-HeaderSize))
		crc = crc32.ChecksumIEEE(m.raw[:2])
		crc = crcUpdate(crc, l[:])
		crc = crc32.Update(crc, crc32.IEEETable, m.raw[4:off])
	}
	if crc^fingerprintXOR != want {
		return ErrFingerprint
	}
	return nil
}

// crcUpdate feeds a few bytes to an IEEE CRC-32 with the table; unlike
// crc32.Update it lets p stay on the caller's stack.
func crcUpdate(crc uint32, p []byte) uint32 {
	crc = ^crc
	for _, c := range p {
		crc = crc32.IEEETable[byte(crc)^c] ^ crc>>8
	}
	return ^crc
}

// AddFingerprint appends FINGERPRINT (RFC 8489 §14.7); it must be the last
// attribute.
func (b *Builder) AddFingerprint() {
	if !b.check(AttrFingerprint, 4) {
		return
	}
	b.setLength(len(b.buf) - b.start - HeaderSize + attrHeaderSize + 4)
	crc := Fingerprint(b.message())
	b.begin(AttrFingerprint, 4)
	b.buf = binary.BigEndian.AppendUint32(b.buf, crc)
	b.end(4)
	b.sealed |= sealFP
}
