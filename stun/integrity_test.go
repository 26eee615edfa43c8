package stun

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"math/rand/v2"
	"testing"
)

// TestIntegrityMatchesCryptoHMAC: the MESSAGE-INTEGRITY and
// MESSAGE-INTEGRITY-SHA256 that Builder writes are crypto/hmac's HMAC of
// the message before them (header length adjusted, RFC 8489 §14.5,
// §14.6), for keys of every length around the SHA block size (a longer key
// is hashed first, RFC 2104 §2) and messages of many lengths, and Verify
// accepts them. One Integrity serves every message, as a session's does.
func TestIntegrityMatchesCryptoHMAC(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for keyLen := range 2*sha1.BlockSize + 2 {
		key := make([]byte, keyLen)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		integ := NewIntegrity(key)
		for _, valueLen := range []int{0, 1, 7, 23, 24, 40, 200} {
			value := make([]byte, valueLen)
			for i := range value {
				value[i] = byte(rng.Uint32())
			}
			var b Builder
			b.Start(nil, BindingRequest, testID)
			b.Add(AttrSoftware, value)
			b.AddMessageIntegrity(integ)
			b.AddMessageIntegritySHA256(integ)
			msg, err := b.Finish()
			if err != nil {
				t.Fatal(err)
			}
			mi := HeaderSize + attrHeaderSize + padded(valueLen)
			mi256 := mi + attrHeaderSize + IntegritySize
			check := func(name string, h func() hash.Hash, at, size int) {
				t.Helper()
				hdr := bytes.Clone(msg[:HeaderSize])
				binary.BigEndian.PutUint16(hdr[2:], uint16(at+attrHeaderSize+size-HeaderSize))
				mac := hmac.New(h, key)
				mac.Write(hdr)
				mac.Write(msg[HeaderSize:at])
				if want, got := mac.Sum(nil), msg[at+attrHeaderSize:at+attrHeaderSize+size]; !bytes.Equal(got, want) {
					t.Fatalf("key of %d bytes, value of %d: %s %x, crypto/hmac %x", keyLen, valueLen, name, got, want)
				}
			}
			check("MESSAGE-INTEGRITY", sha1.New, mi, IntegritySize)
			check("MESSAGE-INTEGRITY-SHA256", sha256.New, mi256, IntegritySHA256Size)
			var m Message
			if err := m.Decode(msg); err != nil {
				t.Fatal(err)
			}
			if err := integ.VerifySHA1(&m); err != nil {
				t.Fatalf("key of %d bytes: VerifySHA1: %v", keyLen, err)
			}
			if err := integ.VerifySHA256(&m); err != nil {
				t.Fatalf("key of %d bytes: VerifySHA256: %v", keyLen, err)
			}
			msg[8] ^= 1 // the transaction ID
			if err := integ.VerifySHA1(&m); err != ErrIntegrity {
				t.Fatalf("key of %d bytes: VerifySHA1 of a changed message: %v", keyLen, err)
			}
		}
	}
}

// TestIntegritySHA256Lazy: an Integrity made for ICE, which uses HMAC-SHA1
// only (RFC 8445 §7.2.2), has no HMAC-SHA256 state until a SHA-256 use
// needs one, and costs 3 allocations (it, its key, its SHA-1 hash) instead
// of the 12 of two crypto/hmac states (counted without -race, which
// allocates more); once made, the SHA-256 state is reused without
// allocating.
func TestIntegritySHA256Lazy(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = NewShortTermIntegrity(rfc5769Password) }); n > 3 && !raceEnabled {
		t.Errorf("NewShortTermIntegrity: %v allocations, want at most 3", n)
	}
	integ := NewShortTermIntegrity(rfc5769Password)
	var m Message
	if err := m.Decode(unhex(t, rfc5769Request)); err != nil {
		t.Fatal(err)
	}
	if err := integ.Verify(&m); err != nil {
		t.Fatal(err)
	}
	if integ.s256 != nil {
		t.Fatal("a MESSAGE-INTEGRITY check made the HMAC-SHA256 state")
	}
	var b Builder
	b.Start(nil, BindingSuccess, testID)
	b.AddMessageIntegritySHA256(integ)
	msg, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if integ.s256 == nil {
		t.Fatal("AddMessageIntegritySHA256 did not make the HMAC-SHA256 state")
	}
	if err := m.Decode(msg); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		if err := integ.Verify(&m); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Verify of MESSAGE-INTEGRITY-SHA256: %v allocations, want 0", n)
	}
	// A fresh Integrity makes the state in Verify too.
	fresh := NewShortTermIntegrity(rfc5769Password)
	if err := fresh.Verify(&m); err != nil || fresh.s256 == nil {
		t.Fatalf("Verify of MESSAGE-INTEGRITY-SHA256 by a fresh Integrity: %v", err)
	}
	if c := integ.Clone(); c.s256 != nil {
		t.Error("Clone made the HMAC-SHA256 state")
	}
}
