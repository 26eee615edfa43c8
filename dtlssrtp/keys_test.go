package dtlssrtp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/streamwire/streamwire/dtlsparams"
)

// RFC 5764 §4.2 lays out the exporter output as
// client key | server key | client salt | server salt.
func TestSplitKeyingMaterialLayout(t *testing.T) {
	for _, p := range AllProfiles {
		kl, sl := p.KeyLen(), p.SaltLen()
		material := make([]byte, KeyingMaterialLen(p))
		for i := range material {
			material[i] = byte(i)
		}
		clientKey := material[:kl]
		serverKey := material[kl : 2*kl]
		clientSalt := material[2*kl : 2*kl+sl]
		serverSalt := material[2*kl+sl:]

		c, err := SplitKeyingMaterial(p, dtlsparams.RoleClient, material)
		if err != nil {
			t.Fatal(err)
		}
		s, err := SplitKeyingMaterial(p, dtlsparams.RoleServer, material)
		if err != nil {
			t.Fatal(err)
		}
		for _, chk := range []struct {
			name      string
			got, want []byte
		}{
			{"client local key", c.LocalKey, clientKey}, {"client local salt", c.LocalSalt, clientSalt},
			{"client remote key", c.RemoteKey, serverKey}, {"client remote salt", c.RemoteSalt, serverSalt},
			{"server local key", s.LocalKey, serverKey}, {"server local salt", s.LocalSalt, serverSalt},
			{"server remote key", s.RemoteKey, clientKey}, {"server remote salt", s.RemoteSalt, clientSalt},
		} {
			if !bytes.Equal(chk.got, chk.want) {
				t.Errorf("%v %s = %x, want %x", p, chk.name, chk.got, chk.want)
			}
		}
		// Appending to one key must not overwrite the next one.
		_ = append(c.LocalKey, 0xff)
		if material[kl] != byte(kl) {
			t.Fatalf("%v: keys share capacity with their neighbours", p)
		}
	}
	if n := KeyingMaterialLen(ProfileAES128CMHMACSHA1_80); n != 60 {
		t.Fatalf("AES128_CM_HMAC_SHA1_80 material is %d bytes, want 60 (RFC 5764 §4.2)", n)
	}
	if n := KeyingMaterialLen(ProfileAEADAES256GCM); n != 88 {
		t.Fatalf("AEAD_AES_256_GCM material is %d bytes, want 88 (RFC 7714 §12)", n)
	}
}

func TestSplitKeyingMaterialErrors(t *testing.T) {
	if _, err := SplitKeyingMaterial(ProfileAEADAES128GCM, dtlsparams.RoleClient, make([]byte, 10)); !errors.Is(err, ErrBadKeyingMaterial) {
		t.Fatalf("short material: %v", err)
	}
	if _, err := SplitKeyingMaterial(Profile(0x0005), dtlsparams.RoleClient, make([]byte, 60)); !errors.Is(err, ErrUnsupportedProfile) {
		t.Fatalf("null profile: %v", err)
	}
	if _, err := SplitKeyingMaterial(ProfileAEADAES128GCM, 0, make([]byte, 56)); !errors.Is(err, dtlsparams.ErrBadRole) {
		t.Fatalf("no role: %v", err)
	}
	if _, _, err := (KeyingMaterial{Profile: ProfileAEADAES128GCM, LocalKey: []byte{1}}).Contexts(0); !errors.Is(err, ErrBadKeyingMaterial) {
		t.Fatalf("short key: %v", err)
	}
}

// Contexts from the two halves of the same material talk to each other.
func TestKeyingMaterialContexts(t *testing.T) {
	for _, p := range AllProfiles {
		material := bytes.Repeat([]byte{7, 1, 3}, KeyingMaterialLen(p))[:KeyingMaterialLen(p)]
		ck, _ := SplitKeyingMaterial(p, dtlsparams.RoleClient, material)
		sk, _ := SplitKeyingMaterial(p, dtlsparams.RoleServer, material)
		cOut, _, err := ck.Contexts(0)
		if err != nil {
			t.Fatal(err)
		}
		_, sIn, err := sk.Contexts(0)
		if err != nil {
			t.Fatal(err)
		}
		plain := marshalRTP(t, 1, 9, []byte("hello"))
		enc, err := cOut.EncryptRTP(nil, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := sIn.DecryptRTP(nil, enc, nil)
		if err != nil || !bytes.Equal(dec, plain) {
			t.Fatalf("%v: %v", p, err)
		}
		if _, err := sIn.DecryptRTP(nil, enc, nil); err == nil {
			t.Fatalf("%v: remote context has no replay protection", p)
		}
	}
}

func TestProfileNames(t *testing.T) {
	want := map[Profile]string{
		ProfileAEADAES128GCM: "AEAD_AES_128_GCM", ProfileAEADAES256GCM: "AEAD_AES_256_GCM",
		ProfileAES128CMHMACSHA1_80: "AES128_CM_HMAC_SHA1_80", ProfileAES128CMHMACSHA1_32: "AES128_CM_HMAC_SHA1_32",
	}
	for p, name := range want {
		if p.String() != name || !p.Supported() {
			t.Errorf("%#04x: %q", uint16(p), p.String())
		}
	}
	if Profile(0x0005).Supported() || Profile(0x0005).KeyLen() != 0 || Profile(0x0005).String() != "Profile(0x0005)" {
		t.Error("null profile must be unsupported")
	}
}
