package main

// The server's settings come from one table, settings: each one's flag
// -NAME, its config file key NAME and its environment variable
// STREAMWIRE_NAME (upper case, "-" as "_") are made from the one name, so
// that the three cannot drift apart. loadConfig layers them in the order
// users of MediaMTX and SRS expect: built-in default < config file <
// environment < command line.

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/streamwire/streamwire/internal/httpserver"
	"github.com/streamwire/streamwire/rtmp"
	"github.com/streamwire/streamwire/turnrest"
)

const (
	// envPrefix starts every setting's environment variable.
	envPrefix = "STREAMWIRE_"
	// configFlag names the config file: -config FILE or $STREAMWIRE_CONFIG.
	// It is not a key of the file itself.
	configFlag = "config"
	// maxConfigBytes caps the config file, so that a wrong path (a device,
	// a log) fails at once instead of filling memory.
	maxConfigBytes = 1 << 20
)

// errCommandLine marks a command-line error that the flag package has
// already printed with the usage.
var errCommandLine = errors.New("bad command line")

// setting is one server setting.
type setting struct {
	name  string                   // flag and config key; envName(name) is its environment variable
	def   string                   // built-in default, as the flag takes it
	usage string                   // the flag's help text
	field func(*config) flag.Value // the field of config it sets
	alias string                   // an older environment variable, read when envName(name) is unset
}

// settings are every setting of the server, in the order of the example
// config file. Adding a field to config means adding its row here.
var settings = []setting{
	{name: "http", def: "127.0.0.1:8080", field: stringField(func(c *config) *string { return &c.HTTP }),
		usage: "HTTP `address`: pages, WHIP/WHEP, signaling, /turn, /metrics"},
	{name: "https", field: stringField(func(c *config) *string { return &c.HTTPS }),
		usage: "HTTPS `address` serving the same as -http (cameras on other devices and KVS need it); needs -tls-cert and -tls-key"},
	{name: "tls-cert", field: stringField(func(c *config) *string { return &c.TLSCert }),
		usage: "PEM certificate `file` for -https"},
	{name: "tls-key", field: stringField(func(c *config) *string { return &c.TLSKey }),
		usage: "PEM private key `file` for -https"},
	{name: "http-max-conns-per-ip", def: "0", field: intField(func(c *config) *int { return &c.HTTPPerIP }),
		usage: fmt.Sprintf("`count` of open HTTP connections allowed per client IP; 0 means %d, negative means no cap (load tests from loopback)",
			httpserver.DefaultMaxConnsPerIP)},
	{name: "udp", def: "127.0.0.1:3478", field: stringField(func(c *config) *string { return &c.UDP }),
		usage: "UDP `address` of STUN and of all WebRTC media"},
	{name: "tcp", def: "127.0.0.1:3478", field: stringField(func(c *config) *string { return &c.TCP }),
		usage: "TCP `address` of ICE-TCP, for clients whose UDP is blocked (off when empty)"},
	{name: "public-ip", field: listField(func(c *config) *[]string { return &c.PublicIPs }),
		usage: "public `IP` address announced in ICE candidates in place of the local ones (repeatable, or comma-separated; a 1:1 NAT, a cloud instance)"},
	{name: "token", field: stringField(func(c *config) *string { return &c.Token }),
		usage: "bearer `token` that publishers must give: WHIP Authorization: Bearer T, RTMP rtmp://HOST/APP/NAME?token=T (default: anyone may publish)"},
	{name: "nats", field: stringField(func(c *config) *string { return &c.NATS }),
		usage: "NATS `URL` (nats://HOST:4222, JetStream enabled) of the backplane that shares AppRTC rooms and KVS channels with other instances (default: in memory, this instance only)"},
	{name: "drop-bframes", def: "false", field: boolField(func(c *config) *bool { return &c.DropBFrame }),
		usage: "leave H.264 B-frames out for WebRTC viewers instead of refusing the stream"},
	{name: "whep-wait", def: "false", field: boolField(func(c *config) *bool { return &c.WHEPWait }),
		usage: "answer WHEP for a stream nobody publishes yet at once, with tracks that wait for the publisher, instead of 409 with Retry-After"},
	{name: "rtmp", def: "127.0.0.1:1935", field: stringField(func(c *config) *string { return &c.RTMP }),
		usage: "TCP `address` of the RTMP server (publish and play rtmp://HOST/APP/NAME)"},
	{name: "rtmps", field: stringField(func(c *config) *string { return &c.RTMPS }),
		usage: "TCP `address` of the RTMPS server, sharing the RTMP streams (off when empty)"},
	{name: "rtmps-cert", field: stringField(func(c *config) *string { return &c.RTMPSCert }),
		usage: "PEM certificate `file` for -rtmps"},
	{name: "rtmps-key", field: stringField(func(c *config) *string { return &c.RTMPSKey }),
		usage: "PEM private key `file` for -rtmps"},
	{name: "rtmp-write-interval", def: "0s", field: durationField(func(c *config) *time.Duration { return &c.RTMPWrite }),
		usage: "merge writes to RTMP players every `interval` (e.g. 100ms: less CPU per player, up to that much more latency); 0 writes at once"},
	{name: "rtmp-max-conns", def: "0", field: intField(func(c *config) *int { return &c.RTMPConns }),
		usage: fmt.Sprintf("`count` of open RTMP connections allowed per listener; 0 means %d, negative means no cap", rtmp.DefaultMaxConns)},
	{name: "rtmp-max-conns-per-ip", def: "0", field: intField(func(c *config) *int { return &c.RTMPPerIP }),
		usage: "`count` of open RTMP connections allowed per client IP; 0 means no cap (relays and load tests hold many from one address)"},
	{name: "turn-secret", alias: "TURN_SECRET", field: stringField(func(c *config) *string { return &c.TURNSecret }),
		usage: "TURN REST shared `secret`(s), comma-separated, the first signs (coturn's static-auth-secret; also $TURN_SECRET; default random)"},
	{name: "turn-uri", field: listField(func(c *config) *[]string { return &c.TURNURIs }),
		usage: "TURN `URI` handed out with credentials (repeatable, or comma-separated), e.g. turn:turn.example.com:3478?transport=udp"},
	{name: "turn-ttl", def: turnrest.DefaultTTL.String(), field: durationField(func(c *config) *time.Duration { return &c.TURNTTL }),
		usage: "TURN credential `lifetime`"},
}

// usageHeader opens -help, before the flags.
const usageHeader = `Usage: server [flags]

Every flag is also a key of a YAML config file (-config FILE, or
$STREAMWIRE_CONFIG; see examples/server/streamwire.example.yaml) and an
environment variable STREAMWIRE_NAME: the flag's name in upper case with
"-" as "_" (-public-ip is "public-ip:" in the file and $STREAMWIRE_PUBLIC_IP).
Repeatable flags are lists in the file and comma-separated in the environment.

Precedence, lowest first: built-in default < config file < environment <
command line.

Flags:
`

// envName is the environment variable of the setting or flag name.
func envName(name string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// loadConfig returns the configuration that args (the command line without
// the program name), environ (os.Environ's KEY=VALUE form) and the config
// file they name give, over the built-in defaults. -help and command-line
// errors print to usage; the error then wraps flag.ErrHelp or
// errCommandLine. A config file or environment error names the file and
// line or the variable, and the setting. Unknown STREAMWIRE_ variables are
// logged as warnings, not errors, since other tools may share the prefix.
func loadConfig(args, environ []string, usage io.Writer, log *slog.Logger) (config, error) {
	// The command line is read before the file, since it names the file,
	// but applied after the file and the environment: parse it once to
	// check it and find the file, and once more over them.
	cfg := defaultConfig()
	var file string
	fs := newFlagSet(&cfg, &file, usage)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%w: %w", errCommandLine, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(usage, "unexpected argument %q (a list is comma-separated or repeats its flag)\n", fs.Arg(0))
		fs.Usage()
		return config{}, fmt.Errorf("%w: unexpected argument %q", errCommandLine, fs.Arg(0))
	}
	env := environMap(environ)
	if !flagGiven(fs, configFlag) {
		file = env[envName(configFlag)]
	}

	cfg = defaultConfig()
	if file != "" {
		if err := applyFile(&cfg, file); err != nil {
			return config{}, err
		}
	}
	if err := applyEnv(&cfg, env, log); err != nil {
		return config{}, err
	}
	if err := newFlagSet(&cfg, new(string), io.Discard).Parse(args); err != nil {
		return config{}, fmt.Errorf("%w: %w", errCommandLine, err) // parsed once already: not reached
	}
	return cfg, nil
}

// newFlagSet defines every setting's flag on cfg, and -config on file.
// cfg's values at the call are the defaults -help shows.
func newFlagSet(cfg *config, file *string, usage io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(usage)
	fs.StringVar(file, configFlag, "", "YAML config `file` of the settings below, keyed by flag name (default $"+envName(configFlag)+")")
	for _, s := range settings {
		fs.Var(s.field(cfg), s.name, s.usage)
	}
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHeader)
		fs.PrintDefaults()
	}
	return fs
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// defaultConfig is the configuration of the built-in defaults.
func defaultConfig() config {
	var c config
	for _, s := range settings {
		if err := s.field(&c).Set(s.def); err != nil {
			panic(fmt.Sprintf("setting %s: bad built-in default %q: %v", s.name, s.def, err)) // TestConfigDefaults
		}
	}
	return c
}

// lookupSetting returns the setting called name.
func lookupSetting(name string) (setting, bool) {
	for _, s := range settings {
		if s.name == name {
			return s, true
		}
	}
	return setting{}, false
}

// didYouMean suggests the setting that name misspells by case, "_" for "-"
// or a missing "-" (public_ip, publicIP), or returns "".
func didYouMean(name string) string {
	fold := func(s string) string {
		return strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
	}
	for _, s := range settings {
		if fold(s.name) == fold(name) {
			return fmt.Sprintf(" (did you mean %q?)", s.name)
		}
	}
	return ""
}

// isList reports whether s is a repeatable setting (a list).
func (s setting) isList() bool {
	_, ok := s.field(new(config)).(*listValue)
	return ok
}

// environMap turns KEY=VALUE pairs into a map; the first of a repeated key
// counts, as for os.Getenv.
func environMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// applyEnv sets cfg from the environment variables of the settings. A
// variable that is set counts even when empty (STREAMWIRE_TCP= turns
// ICE-TCP off); a list's variable replaces the list of the file.
func applyEnv(cfg *config, env map[string]string, log *slog.Logger) error {
	known := map[string]bool{envName(configFlag): true}
	for _, s := range settings {
		name := envName(s.name)
		known[name] = true
		v, ok := env[name]
		if !ok && s.alias != "" {
			name = s.alias
			v, ok = env[name]
		}
		if !ok {
			continue
		}
		if err := s.field(cfg).Set(v); err != nil {
			return fmt.Errorf("$%s (%s): invalid value %q: %w", name, s.name, v, err)
		}
	}
	var unknown []string
	for k := range env {
		if strings.HasPrefix(k, envPrefix) && !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		name := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, envPrefix), "_", "-"))
		log.Warn("unknown environment variable ignored"+didYouMean(name), "name", k)
	}
	return nil
}

// applyFile sets cfg from the YAML config file at path: one mapping of
// setting names to values, where a repeatable setting takes a list (or one
// comma-separated value) that replaces the default list.
func applyFile(cfg *config, path string) error {
	data, err := readCapped(path, maxConfigBytes)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty, or only comments
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	var more yaml.Node
	switch err := dec.Decode(&more); {
	case err == nil:
		return fmt.Errorf("%s:%d: want one YAML document, found a second", path, more.Line)
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("%s: %w", path, err)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of setting names to values, such as \"http: 127.0.0.1:8080\"", path, root.Line)
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("%s:%d: key %q repeated (first on line %d)", path, k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		s, ok := lookupSetting(k.Value)
		if k.Kind != yaml.ScalarNode || !ok {
			return fmt.Errorf("%s:%d: unknown key %q%s", path, k.Line, k.Value, didYouMean(k.Value))
		}
		if err := applyNode(s.field(cfg), s, v); err != nil {
			return fmt.Errorf("%s:%w", path, err)
		}
	}
	return nil
}

// applyNode sets the setting s, through its value fv, from the YAML value
// n. The error starts with n's line number.
func applyNode(fv flag.Value, s setting, n *yaml.Node) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	items := []*yaml.Node{n}
	switch {
	case n.Kind == yaml.SequenceNode && s.isList():
		items = n.Content
		if len(items) == 0 {
			return fv.Set("") // []: no entries
		}
	case n.Kind != yaml.ScalarNode:
		return fmt.Errorf("%d: %s: want a single value, not a %s", n.Line, s.name, kindName(n.Kind))
	}
	for _, it := range items {
		if it.Kind == yaml.AliasNode {
			it = it.Alias
		}
		if it.Kind != yaml.ScalarNode {
			return fmt.Errorf("%d: %s: want a list of single values, not of a %s", it.Line, s.name, kindName(it.Kind))
		}
		text := it.Value
		if it.Tag == "!!null" {
			text = "" // "key:", "key: ~" and "key: null" are all empty
		}
		if err := fv.Set(text); err != nil {
			return fmt.Errorf("%d: %s: invalid value %q: %w", it.Line, s.name, text, err)
		}
	}
	return nil
}

// kindName names a YAML node kind in an error.
func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "document"
	}
}

// readCapped reads the file at path, failing if it is over max bytes.
func readCapped(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: over %d bytes", path, max)
	}
	return data, nil
}

// The flag.Values of the settings' field types. The same Set parses a
// value from the command line, the environment and the file, so that each
// source accepts the same text.

type stringValue string

func stringField(f func(*config) *string) func(*config) flag.Value {
	return func(c *config) flag.Value { return (*stringValue)(f(c)) }
}
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue int

func intField(f func(*config) *int) func(*config) flag.Value {
	return func(c *config) flag.Value { return (*intValue)(f(c)) }
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 0, strconv.IntSize)
	if err != nil {
		return errors.New("want an integer")
	}
	*v = intValue(n)
	return nil
}

type boolValue bool

func boolField(f func(*config) *bool) func(*config) flag.Value {
	return func(c *config) flag.Value { return (*boolValue)(f(c)) }
}
func (v *boolValue) IsBoolFlag() bool { return true } // -drop-bframes alone means true
func (v *boolValue) String() string   { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return errors.New("want true or false")
	}
	*v = boolValue(b)
	return nil
}

type durationValue time.Duration

func durationField(f func(*config) *time.Duration) func(*config) flag.Value {
	return func(c *config) flag.Value { return (*durationValue)(f(c)) }
}
func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d < 0 {
		return errors.New("want a duration of 0 or more, such as 100ms, 90s or 1h30m")
	}
	*v = durationValue(d)
	return nil
}

// listValue is a repeatable setting. Its first Set replaces the list that
// a lower layer (the default, the file) gave, and further Sets of the same
// layer (a repeated flag, a YAML list's items) add to it. Each Set takes
// comma-separated entries; an empty one sets no entry.
type listValue struct {
	p   *[]string
	set bool // a Set of this layer has replaced the list
}

func listField(f func(*config) *[]string) func(*config) flag.Value {
	return func(c *config) flag.Value { return &listValue{p: f(c)} }
}
func (v *listValue) String() string {
	if v.p == nil { // the zero value flag.PrintDefaults makes
		return ""
	}
	return strings.Join(*v.p, ",")
}
func (v *listValue) Set(s string) error {
	if !v.set {
		*v.p, v.set = nil, true
	}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			*v.p = append(*v.p, e)
		}
	}
	return nil
}
