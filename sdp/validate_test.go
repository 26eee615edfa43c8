package sdp

import (
	"errors"
	"strings"
	"testing"

	"github.com/streamwire/streamwire/dtlsparams"
	"github.com/streamwire/streamwire/dtlssrtp"
)

// TestConfigInjection puts a line break or NUL into every caller-supplied string
// that Answer or Offer writes into SDP. Each must fail with ErrConfig naming the
// field, on both paths, rather than produce SDP with an extra line in it.
func TestConfigInjection(t *testing.T) {
	const inject = "x\r\na=injected:1"
	chrome := readOffer(t, "chromium156_sendrecv.sdp")
	for _, tc := range []struct {
		field string
		set   func(c *Config, v string)
	}{
		{"CNAME", func(c *Config, v string) { c.CNAME = v }},
		{"SessionName", func(c *Config, v string) { c.SessionName = v }},
		{"StreamID", func(c *Config, v string) { c.StreamID = v }},
		{"ICEOptions[1]", func(c *Config, v string) { c.ICEOptions = []string{"trickle", v} }},
		{"Candidates[0]", func(c *Config, v string) { c.Candidates[0] += " " + v }},
		{"Audio.Source.CNAME", func(c *Config, v string) { c.Audio.Source.CNAME = v }},
		{"Video.Source.StreamID", func(c *Config, v string) { c.Video.Source.StreamID = v }},
		{"Video.Source.TrackID", func(c *Config, v string) { c.Video.Source.TrackID = v }},
		{"Video.Codecs[0].Name", func(c *Config, v string) { c.Video.Codecs = []Codec{{Name: "VP8" + v}} }},
		{"Video.Codecs[0].Fmtp", func(c *Config, v string) { c.Video.Codecs = []Codec{{Name: "VP8", Fmtp: v}} }},
		{"Video.Codecs[0].RTCPFeedback[0]", func(c *Config, v string) {
			c.Video.Codecs = []Codec{{Name: "VP8", RTCPFeedback: []string{"nack " + v}}}
		}},
		{"Audio.Extensions[0]", func(c *Config, v string) { c.Audio.Extensions = []string{"urn:x" + v} }},
	} {
		for _, bad := range []string{inject, "x\ny", "x\x00y"} {
			cfg := testConfig()
			tc.set(cfg, bad)
			sess, err := Answer(chrome, cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Answer with %s = %q: err %v, want ErrConfig naming the field", tc.field, bad, err)
				if sess != nil && strings.Contains(string(sess.SDP), "a=injected") {
					t.Errorf("answer carries the injected line")
				}
			}
			o, err := Offer(cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("Offer with %s = %q: err %v, want ErrConfig naming the field", tc.field, bad, err)
				if o != nil && strings.Contains(string(o.SDP), "a=injected") {
					t.Errorf("offer carries the injected line")
				}
			}
		}
	}
}

// TestConfigGrammar holds the other strings to their RFC grammar and keeps the
// values real peers write.
func TestConfigGrammar(t *testing.T) {
	chrome := readOffer(t, "chromium156_sendrecv.sdp")
	for _, tc := range []struct {
		name string
		set  func(c *Config)
		ok   bool
	}{
		{"session name with spaces and UTF-8", func(c *Config) { c.SessionName = "Live – stage 1" }, true},
		{"ice-options trickle renomination", func(c *Config) { c.ICEOptions = []string{"trickle", "renomination"} }, true},
		{"ice-option with a space", func(c *Config) { c.ICEOptions = []string{"trickle renomination"} }, false},
		{"empty ice-option", func(c *Config) { c.ICEOptions = []string{""} }, false},
		{"candidate with a=candidate: prefix", func(c *Config) { c.Candidates = []string{"a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host"} }, true},
		{"candidate with extensions", func(c *Config) {
			c.Candidates = []string{"candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host generation 0 network-id 1"}
		}, true},
		{"candidate too short", func(c *Config) { c.Candidates = []string{"candidate:1 1 udp"} }, false},
		{"candidate with a tab", func(c *Config) { c.Candidates = []string{"1 1 udp 2130706431 192.0.2.1\t5000 typ host"} }, false},
		{"zero fingerprint", func(c *Config) { c.Fingerprints[0] = dtlsparams.Fingerprint{} }, false},
		{"brace stream ID (Chromium)", func(c *Config) { c.StreamID = "{8a4e2f0c-3b9f-4b5e-9d2a-5c1e6f7a8b9c}" }, true},
		{"stream ID of 64", func(c *Config) { c.StreamID = strings.Repeat("s", 64) }, true},
		{"stream ID of 65", func(c *Config) { c.StreamID = strings.Repeat("s", 65) }, false},
		{"track ID with a space", func(c *Config) { c.Video.Source.TrackID = "a b" }, false},
		{"empty codec name", func(c *Config) { c.Audio.Codecs = []Codec{{ClockRate: 8000}} }, false},
	} {
		cfg := testConfig()
		tc.set(cfg)
		_, aerr := Answer(chrome, cfg)
		_, oerr := Offer(cfg)
		if tc.ok && (aerr != nil || oerr != nil) {
			t.Errorf("%s: Answer %v, Offer %v; want both to succeed", tc.name, aerr, oerr)
		}
		if !tc.ok && (!errors.Is(aerr, ErrConfig) || !errors.Is(oerr, ErrConfig)) {
			t.Errorf("%s: Answer %v, Offer %v; want ErrConfig from both", tc.name, aerr, oerr)
		}
	}
}

// TestFingerprintFromDTLSCertificate: the fingerprint of a dtlssrtp certificate
// is the type Config.Fingerprints holds, so it goes in unchanged (the
// strings.Cut of its String() that the two former types needed, and the
// mistake of passing the whole String() as a digest, cannot be written any
// more), and the answer's a=fingerprint is its String(). The digest's
// grammar (hex pairs, length of the hash) is dtlsparams.Fingerprint's
// invariant: no Config can hold a malformed one, only the zero value, which
// TestConfigGrammar refuses.
func TestFingerprintFromDTLSCertificate(t *testing.T) {
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Fingerprints = cfg.Fingerprints[:0]
	for _, alg := range []dtlsparams.HashAlgorithm{dtlsparams.SHA256, dtlsparams.SHA512} {
		fp, err := cert.Fingerprint(alg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Fingerprints = append(cfg.Fingerprints, fp)
	}
	sess, err := Answer(readOffer(t, "chromium156_sendrecv.sdp"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := "a=fingerprint:" + cfg.Fingerprints[0].String() + "\r\na=fingerprint:" + cfg.Fingerprints[1].String() + "\r\n"
	if !strings.Contains(string(sess.SDP), want) {
		t.Errorf("answer lacks\n%s", want)
	}
	// And back: our answer read by an offerer gives the certificate's own values.
	o, err := Offer(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	ans, err := Answer(o.SDP, cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := o.Accept(ans.SDP)
	if err != nil {
		t.Fatal(err)
	}
	if fps := got.Sections[0].RemoteFingerprints; len(fps) != 2 || fps[0] != cfg.Fingerprints[0] || fps[1] != cfg.Fingerprints[1] {
		t.Errorf("RemoteFingerprints %v, want %v", fps, cfg.Fingerprints)
	}
	if err := dtlssrtp.VerifyFingerprint(cert.Leaf().Raw, got.Sections[0].RemoteFingerprints); err != nil {
		t.Errorf("the answer's fingerprints do not verify the certificate: %v", err)
	}
}

// TestValidateAllocs: checking a valid Config, which every Answer and Offer
// does, allocates nothing.
func TestValidateAllocs(t *testing.T) {
	cfg := testConfig()
	cfg.CNAME, cfg.StreamID, cfg.SessionName = "cname", "stream", "session"
	cfg.ICEOptions = []string{"trickle"}
	cfg.Video.Codecs = DefaultVideoCodecs
	cfg.Audio.Extensions = DefaultAudioExtensions
	cfg.Audio.Source = Source{CNAME: "a", StreamID: "s", TrackID: "t"}
	if n := testing.AllocsPerRun(100, func() {
		if err := cfg.validate(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("validate: %v allocations, want 0", n)
	}
}
