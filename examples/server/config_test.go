package main

import (
	"bytes"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// writeConfig writes text to a file named name in a new temporary directory
// and returns its path.
func writeConfig(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	return path
}

// load runs loadConfig without logging, failing the test on an error.
func load(t *testing.T, args, env []string) config {
	t.Helper()
	cfg, err := loadConfig(args, env, io.Discard, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return cfg
}

// TestConfigDefaults checks the built-in defaults: the ones the flags had
// before the settings table, and what `go run ./examples/server` serves.
func TestConfigDefaults(t *testing.T) {
	want := config{HTTP: "127.0.0.1:8080", UDP: "127.0.0.1:3478", TCP: "127.0.0.1:3478",
		RTMP: "127.0.0.1:1935", TURNTTL: 24 * time.Hour}
	require.Equal(t, want, load(t, nil, nil))
	require.Equal(t, want, defaultConfig())
}

// TestConfigFile sets every kind of value from a file only: strings,
// integers, booleans, durations, a list as a YAML list and as one
// comma-separated value, an empty value, a null, an alias.
func TestConfigFile(t *testing.T) {
	path := writeConfig(t, "streamwire.yaml", `# a comment
http: 0.0.0.0:8080
http-max-conns-per-ip: -1
drop-bframes: true
public-ip:
  - 203.0.113.7
  - 2001:db8::7
turn-uri: turn:a.example:3478?transport=udp, turn:b.example:3478   # one value, comma-separated
turn-ttl: 1h30m
rtmp-write-interval: 100ms
udp: &media 127.0.0.1:4000
tcp: *media
rtmps: ""
token: ~
`)
	cfg := load(t, []string{"-config", path}, nil)
	want := defaultConfig()
	want.HTTP, want.HTTPPerIP, want.DropBFrame = "0.0.0.0:8080", -1, true
	want.PublicIPs = []string{"203.0.113.7", "2001:db8::7"}
	want.TURNURIs = []string{"turn:a.example:3478?transport=udp", "turn:b.example:3478"}
	want.TURNTTL, want.RTMPWrite = 90*time.Minute, 100*time.Millisecond
	want.UDP, want.TCP = "127.0.0.1:4000", "127.0.0.1:4000"
	require.Equal(t, want, cfg)
}

// TestConfigEmptyFile checks that a file with no settings (empty, or only
// comments) leaves the defaults.
func TestConfigEmptyFile(t *testing.T) {
	for _, text := range []string{"", "# nothing set yet\n", "\n\n"} {
		path := writeConfig(t, "empty.yaml", text)
		require.Equal(t, defaultConfig(), load(t, []string{"-config", path}, nil), "%q", text)
	}
}

// TestConfigEnvOverFile checks that the environment overrides the file
// ($STREAMWIRE_CONFIG names it), that an environment list replaces the
// file's list, that a variable set empty counts, and that what the
// environment does not set keeps the file's value.
func TestConfigEnvOverFile(t *testing.T) {
	path := writeConfig(t, "streamwire.yaml", `
http: 127.0.0.1:9000
rtmp: 127.0.0.1:9001
turn-ttl: 1h
public-ip: [192.0.2.1, 192.0.2.2]
`)
	cfg := load(t, nil, []string{
		"STREAMWIRE_CONFIG=" + path,
		"STREAMWIRE_HTTP=127.0.0.1:9100",
		"STREAMWIRE_PUBLIC_IP=198.51.100.1, 198.51.100.2",
		"STREAMWIRE_TCP=",
		"STREAMWIRE_DROP_BFRAMES=true",
		"PATH=/usr/bin",
	})
	want := defaultConfig()
	want.HTTP, want.RTMP, want.TURNTTL = "127.0.0.1:9100", "127.0.0.1:9001", time.Hour
	want.PublicIPs = []string{"198.51.100.1", "198.51.100.2"}
	want.TCP, want.DropBFrame = "", true
	require.Equal(t, want, cfg)
}

// TestConfigFlagOverEnv checks that the command line overrides the
// environment and the file: -config over $STREAMWIRE_CONFIG (which names a
// missing file here), a flag over its variable, and a repeated list flag
// that replaces the environment's list with all of its values.
func TestConfigFlagOverEnv(t *testing.T) {
	path := writeConfig(t, "streamwire.yaml", "http: 127.0.0.1:9000\nrtmp: 127.0.0.1:9001\nturn-ttl: 1h\n")
	env := []string{
		"STREAMWIRE_CONFIG=" + filepath.Join(t.TempDir(), "missing.yaml"),
		"STREAMWIRE_HTTP=127.0.0.1:9100",
		"STREAMWIRE_TURN_TTL=2h",
		"STREAMWIRE_PUBLIC_IP=198.51.100.1",
		"STREAMWIRE_TURN_URI=turn:env.example",
	}
	cfg := load(t, []string{"-config", path, "-http", "127.0.0.1:9200", "-drop-bframes",
		"-public-ip", "192.0.2.1", "-public-ip", "192.0.2.2,192.0.2.3"}, env)
	want := defaultConfig()
	want.HTTP, want.RTMP, want.TURNTTL, want.DropBFrame = "127.0.0.1:9200", "127.0.0.1:9001", 2*time.Hour, true
	want.PublicIPs = []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"}
	want.TURNURIs = []string{"turn:env.example"}
	require.Equal(t, want, cfg)

	_, err := loadConfig(nil, env, io.Discard, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "missing.yaml", "without -config, $STREAMWIRE_CONFIG names the file")
}

// TestConfigTURNSecret checks that $TURN_SECRET keeps working: over the
// file, under $STREAMWIRE_TURN_SECRET and the flag.
func TestConfigTURNSecret(t *testing.T) {
	path := writeConfig(t, "streamwire.yaml", "turn-secret: file\n")
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, []string{"TURN_SECRET=old"}, "old"},
		{[]string{"-config", path}, nil, "file"},
		{[]string{"-config", path}, []string{"TURN_SECRET=old"}, "old"},
		{[]string{"-config", path}, []string{"TURN_SECRET=old", "STREAMWIRE_TURN_SECRET=new"}, "new"},
		{[]string{"-config", path, "-turn-secret", "flag"}, []string{"TURN_SECRET=old", "STREAMWIRE_TURN_SECRET=new"}, "flag"},
	} {
		require.Equal(t, tc.want, load(t, tc.args, tc.env).TURNSecret, "%v %v", tc.args, tc.env)
	}
}

// TestConfigUnknownKey checks that a key no setting has is an error naming
// the file, the line and the key, with a hint for a near miss.
func TestConfigUnknownKey(t *testing.T) {
	path := writeConfig(t, "streamwire.yaml", "http: 127.0.0.1:8080\n\npublic_ip: 203.0.113.7\n")
	_, err := loadConfig([]string{"-config", path}, nil, io.Discard, slog.New(slog.DiscardHandler))
	require.EqualError(t, err, path+`:3: unknown key "public_ip" (did you mean "public-ip"?)`)

	path = writeConfig(t, "streamwire.yaml", "# listen on all\nlisten: :8080\n")
	_, err = loadConfig([]string{"-config", path}, nil, io.Discard, slog.New(slog.DiscardHandler))
	require.EqualError(t, err, path+`:2: unknown key "listen"`)
}

// TestConfigBadValues checks that a bad value, from the file, the
// environment or the command line, is an error that names the setting (and
// the file's line, or the variable).
func TestConfigBadValues(t *testing.T) {
	files := []struct{ text, want string }{
		{"http: a\nturn-ttl: 5x\n", `:2: turn-ttl: invalid value "5x": want a duration of 0 or more`},
		{"rtmp-write-interval: -1s\n", `:1: rtmp-write-interval: invalid value "-1s": want a duration of 0 or more`},
		{"http-max-conns-per-ip: many\n", `:1: http-max-conns-per-ip: invalid value "many": want an integer`},
		{"drop-bframes: yes\n", `:1: drop-bframes: invalid value "yes": want true or false`},
		{"http: [a, b]\n", `:1: http: want a single value, not a list`},
		{"turn-ttl:\n", `:1: turn-ttl: invalid value "": want a duration`},
		{"public-ip:\n  - 192.0.2.1\n  - {a: b}\n", `:3: public-ip: want a list of single values, not of a mapping`},
		{"http: a\nudp: b\nhttp: c\n", `:3: key "http" repeated (first on line 1)`},
		{"- http\n", `:1: want a mapping of setting names to values`},
		{"http: a\n---\nudp: b\n", `:2: want one YAML document, found a second`},
		{"http: [\n", `: yaml: line 1: did not find expected node content`},
	}
	for _, tc := range files {
		path := writeConfig(t, "bad.yaml", tc.text)
		_, err := loadConfig([]string{"-config", path}, nil, io.Discard, slog.New(slog.DiscardHandler))
		require.ErrorContains(t, err, path+tc.want, "%q", tc.text)
	}

	for _, tc := range []struct{ env, want string }{
		{"STREAMWIRE_TURN_TTL=soon", `$STREAMWIRE_TURN_TTL (turn-ttl): invalid value "soon": want a duration`},
		{"STREAMWIRE_RTMP_MAX_CONNS=lots", `$STREAMWIRE_RTMP_MAX_CONNS (rtmp-max-conns): invalid value "lots": want an integer`},
	} {
		_, err := loadConfig(nil, []string{tc.env}, io.Discard, slog.New(slog.DiscardHandler))
		require.ErrorContains(t, err, tc.want)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-turn-ttl", "5x"}, `invalid value "5x" for flag -turn-ttl: want a duration`},
		{[]string{"-public-ip", "192.0.2.1", "192.0.2.2"}, `unexpected argument "192.0.2.2"`},
		{[]string{"-no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	} {
		var usage bytes.Buffer
		_, err := loadConfig(tc.args, nil, &usage, slog.New(slog.DiscardHandler))
		require.ErrorIs(t, err, errCommandLine, "%v", tc.args)
		require.Contains(t, usage.String(), tc.want)
		require.Contains(t, usage.String(), "Usage: server")
	}

	_, err := loadConfig([]string{"-config", filepath.Join(t.TempDir(), "none.yaml")}, nil, io.Discard, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "config file: open")
	big := writeConfig(t, "big.yaml", "# "+strings.Repeat("x", maxConfigBytes)+"\n")
	_, err = loadConfig([]string{"-config", big}, nil, io.Discard, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "over 1048576 bytes")
}

// TestConfigUnknownEnv checks that a STREAMWIRE_ variable no setting has is
// logged as a warning with a hint, without its value (it may be a secret).
func TestConfigUnknownEnv(t *testing.T) {
	var logs bytes.Buffer
	cfg, err := loadConfig(nil, []string{"STREAMWIRE_PUBLICIP=203.0.113.9", "STREAMWIRE_X=1"}, io.Discard,
		slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.Equal(t, defaultConfig(), cfg)
	require.Contains(t, logs.String(), `unknown environment variable ignored (did you mean \"public-ip\"?)" name=STREAMWIRE_PUBLICIP`)
	require.Contains(t, logs.String(), "name=STREAMWIRE_X")
	require.NotContains(t, logs.String(), "203.0.113.9")
}

// TestConfigHelp checks that -help names every flag and states the
// precedence.
func TestConfigHelp(t *testing.T) {
	var usage bytes.Buffer
	_, err := loadConfig([]string{"-help"}, []string{"TURN_SECRET=hunter2"}, &usage, slog.New(slog.DiscardHandler))
	require.ErrorIs(t, err, flag.ErrHelp)
	out := usage.String()
	require.Contains(t, strings.Join(strings.Fields(out), " "),
		"Precedence, lowest first: built-in default < config file < environment < command line.")
	require.Contains(t, out, "$STREAMWIRE_PUBLIC_IP")
	require.Contains(t, out, "  -"+configFlag+" file")
	for _, s := range settings {
		require.Regexp(t, `(?m)^  -`+s.name+`( |$)`, out)
	}
	require.NotContains(t, out, "hunter2", "-help must not print the secret of the environment")
}

// TestConfigExample checks that streamwire.example.yaml parses, sets every
// key of the table and no other, and gives exactly the built-in defaults.
func TestConfigExample(t *testing.T) {
	const path = "streamwire.example.yaml"
	require.Equal(t, defaultConfig(), load(t, []string{"-config", path}, nil))

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var keys, names []string
	for i := 0; i < len(doc.Content[0].Content); i += 2 {
		keys = append(keys, doc.Content[0].Content[i].Value)
	}
	for _, s := range settings {
		names = append(names, s.name)
	}
	sort.Strings(keys)
	sort.Strings(names)
	require.Equal(t, names, keys)
}

// TestConfigTable checks the table itself: unique names, and every field
// of config set by exactly one setting, so that a new field without a row
// (no flag, key or variable) fails here.
func TestConfigTable(t *testing.T) {
	samples := map[reflect.Type]string{
		reflect.TypeFor[*stringValue](): "x", reflect.TypeFor[*intValue](): "7", reflect.TypeFor[*boolValue](): "true",
		reflect.TypeFor[*durationValue](): "1s", reflect.TypeFor[*listValue](): "a,b",
	}
	setBy := map[int]string{}
	seen := map[string]bool{configFlag: true}
	for _, s := range settings {
		require.False(t, seen[s.name], "setting %s twice (or named %q)", s.name, configFlag)
		seen[s.name] = true
		var c config
		v := s.field(&c)
		sample, ok := samples[reflect.TypeOf(v)]
		require.True(t, ok, "%s: value type %T has no sample", s.name, v)
		require.NoError(t, v.Set(sample))
		rv := reflect.ValueOf(c)
		var set []int
		for i := range rv.NumField() {
			if !rv.Field(i).IsZero() {
				set = append(set, i)
			}
		}
		require.Len(t, set, 1, "%s sets one field", s.name)
		require.Empty(t, setBy[set[0]], "%s and %s set the same field", s.name, setBy[set[0]])
		setBy[set[0]] = s.name
	}
	typ := reflect.TypeFor[config]()
	for i := range typ.NumField() {
		require.NotEmpty(t, setBy[i], "config.%s has no row in settings", typ.Field(i).Name)
	}
}

// TestConfigREADME checks that the README's server section names -config
// and every setting's environment variable.
func TestConfigREADME(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(data)
	require.Contains(t, readme, "-config")
	require.Contains(t, readme, envName(configFlag))
	for _, s := range settings {
		require.Contains(t, readme, "`"+envName(s.name)+"`", s.name)
	}
}
