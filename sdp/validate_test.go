package sdp

import (
	"errors"
	"strings"
	"testing"

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
		{"Fingerprints[0]", func(c *Config, v string) { c.Fingerprints[0].Value += v }},
		{"Fingerprints[0]", func(c *Config, v string) { c.Fingerprints[0].Algorithm += v }},
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
		{"lower-case fingerprint", func(c *Config) { c.Fingerprints[0].Value = strings.ToLower(c.Fingerprints[0].Value) }, true},
		{"fingerprint without colons", func(c *Config) { c.Fingerprints[0].Value = strings.ReplaceAll(c.Fingerprints[0].Value, ":", "") }, false},
		{"fingerprint with a space", func(c *Config) { c.Fingerprints[0].Value = "0F: 1E" }, false},
		{"fingerprint with a non-hex digit", func(c *Config) { c.Fingerprints[0].Value = "0G:1E" }, false},
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

// TestFingerprintFromDTLSString passes dtlssrtp's Fingerprint.String(), which
// holds the algorithm too, as Value: the mistake must be named, not written
// as "a=fingerprint:sha-256 sha-256 9A:...".
func TestFingerprintFromDTLSString(t *testing.T) {
	cert, err := dtlssrtp.GenerateCertificate(dtlssrtp.CertificateConfig{})
	if err != nil {
		t.Fatal(err)
	}
	fp, err := cert.Fingerprint(dtlssrtp.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Fingerprints = []Fingerprint{{Algorithm: "sha-256", Value: fp.String()}}
	for name, call := range map[string]func() error{
		"Answer": func() error { _, err := Answer(readOffer(t, "chromium156_sendrecv.sdp"), cfg); return err },
		"Offer":  func() error { _, err := Offer(cfg); return err },
	} {
		err := call()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "starts with the hash function \"sha-256\"") ||
			!strings.Contains(err.Error(), "String()") {
			t.Errorf("%s: %v; want ErrConfig explaining the doubled algorithm", name, err)
		}
	}
	alg, digest, _ := strings.Cut(fp.String(), " ")
	cfg.Fingerprints = []Fingerprint{{Algorithm: alg, Value: digest}}
	sess, err := Answer(readOffer(t, "chromium156_sendrecv.sdp"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sess.SDP), "a=fingerprint:"+fp.String()+"\r\n") {
		t.Errorf("answer lacks a=fingerprint:%s", fp)
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
