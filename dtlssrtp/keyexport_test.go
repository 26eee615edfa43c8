package dtlssrtp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/gob"
	"encoding/hex"
	"hash"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/streamwire/streamwire/dtlsparams"
)

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed),
// written out here so the test checks the exporter independently of
// pion/dtls.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := append([]byte(label), seed...)
	var out []byte
	a := labelSeed
	for len(out) < n {
		m := hmac.New(h, secret)
		m.Write(a)
		a = m.Sum(nil) // A(i) = HMAC(secret, A(i-1))
		m = hmac.New(h, secret)
		m.Write(a)
		m.Write(labelSeed)
		out = m.Sum(out)
	}
	return out[:n]
}

// dtlsStateRandoms is the part of pion/dtls's gob-encoded State
// (State.MarshalBinary) the test needs; gob matches fields by name.
type dtlsStateRandoms struct {
	LocalRandom  [32]byte
	RemoteRandom [32]byte
	MasterSecret []byte
	IsClient     bool
}

// The SRTP keys of a session are the RFC 5705 exporter output for
// "EXTRACTOR-dtls_srtp" over client random || server random (RFC 5764
// §4.2), cut as client key, server key, client salt, server salt. The
// master secret comes from the key log (and must agree with pion's
// state); the randoms come from the client's serialized state.
func TestExportedKeysMatchRFC5764(t *testing.T) {
	for _, p := range AllProfiles {
		t.Run(p.String(), func(t *testing.T) {
			cfgA, cfgB := pairConfigs(t, p)
			var keyLog bytes.Buffer
			cfgA.KeyLogWriter = &keyLog
			ea, eb := newPipe()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, b := handshakePair(ctx, ea.dtls, eb.dtls, dtlsparams.RoleClient, dtlsparams.RoleServer, cfgA, cfgB)
			defer closeSessions(a, b)
			if a.err != nil || b.err != nil {
				t.Fatalf("handshake: a=%v b=%v", a.err, b.err)
			}
			// "CLIENT_RANDOM <64 hex> <96 hex>\n"
			fields := strings.Fields(keyLog.String())
			if len(fields) != 3 || fields[0] != "CLIENT_RANDOM" {
				t.Fatalf("key log %q", keyLog.String())
			}
			clientRandom, err1 := hex.DecodeString(fields[1])
			master, err2 := hex.DecodeString(fields[2])
			if err1 != nil || err2 != nil || len(clientRandom) != 32 || len(master) != 48 {
				t.Fatalf("key log %q", keyLog.String())
			}
			state, ok := a.s.DTLSConn().ConnectionState()
			if !ok {
				t.Fatal("no connection state")
			}
			raw, err := state.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var st dtlsStateRandoms
			if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&st); err != nil {
				t.Fatal(err)
			}
			if !st.IsClient || !bytes.Equal(st.LocalRandom[:], clientRandom) || !bytes.Equal(st.MasterSecret, master) {
				t.Fatal("key log and connection state disagree")
			}
			serverRandom := st.RemoteRandom
			h := sha256.New
			if state.CipherSuiteID == dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
				h = sha512.New384
			}
			want := prf12(h, master, ExporterLabel, append(clientRandom, serverRandom[:]...), KeyingMaterialLen(p))
			k := a.s.Keys()
			got := bytes.Join([][]byte{k.LocalKey, k.RemoteKey, k.LocalSalt, k.RemoteSalt}, nil)
			if !bytes.Equal(got, want) {
				t.Fatalf("cipher suite %v: keys\n got %x\nwant %x", state.CipherSuiteID, got, want)
			}
			kb := b.s.Keys()
			if !bytes.Equal(kb.RemoteKey, k.LocalKey) || !bytes.Equal(kb.LocalSalt, k.RemoteSalt) {
				t.Fatal("server keys are not the mirror of the client's")
			}
		})
	}
}

// The PRF above against the TLS 1.2 P_SHA256 test vector published on
// the IETF TLS list (secret, seed and label "test label", 100 bytes).
func TestPRF12Vector(t *testing.T) {
	secret, _ := hex.DecodeString("9bbe436ba940f017b17652849a71db35")
	seed, _ := hex.DecodeString("a0ba9f936cda311827a6f796ffd5198c")
	want, _ := hex.DecodeString("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")
	if got := prf12(sha256.New, secret, "test label", seed, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("P_SHA256:\n got %x\nwant %x", got, want)
	}
}
