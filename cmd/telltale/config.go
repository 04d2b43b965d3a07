package main

import (
	"bytes"
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is Telltale's configuration: the YAML file named by -config
// (DESIGN.md §2.2) with the command-line flags applied over it. main maps it
// onto the packages' own Config structs; no package parses the file itself.
//
// The zero Config is not valid: start from Defaults, or use LoadConfig or
// parseServeArgs, which also validate.
type Config struct {
	// DataDir is the directory of the Badger store. Flag -data-dir.
	DataDir string `yaml:"data_dir"`
	// HTTP configures the one HTTP listener (Sentry ingest, APIs, UI, /metrics).
	HTTP HTTPConfig `yaml:"http"`
	// Statsd configures the statsd listeners and aggregation.
	Statsd StatsdConfig `yaml:"statsd"`
	// Retention says how long stored data is kept.
	Retention RetentionConfig `yaml:"retention"`
	// Organization is the organization slug in /api/0/organizations/{org}/...
	Organization string `yaml:"organization"`
	// Projects are created or updated at start. Projects created through the
	// API persist in storage and need not be listed here.
	Projects []ProjectConfig `yaml:"projects"`
	// Auth holds the credentials of the query APIs and the UI.
	Auth AuthConfig `yaml:"auth"`
}

// HTTPConfig configures the HTTP listener.
type HTTPConfig struct {
	// Addr is the host:port to listen on. Flag -http-addr.
	Addr string `yaml:"addr"`
	// PublicURL is the base URL that clients use to reach Addr; it goes into
	// DSNs, permalinks and Link headers. Empty means http://Addr (with
	// 127.0.0.1 in place of an unspecified host). After loading it has no
	// trailing slash.
	PublicURL string `yaml:"public_url"`
}

// StatsdConfig configures the statsd listeners (UDP and TCP on one address)
// and the aggregation of what they receive.
type StatsdConfig struct {
	// Addr is the host:port of both the UDP and the TCP listener.
	// Flag -statsd-addr.
	Addr string `yaml:"addr"`
	// FlushInterval is how often aggregated series are flushed to storage
	// and to the gauges and summaries of /metrics. Flag -flush-interval.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// Percentiles are the quantiles, in percent, that timers, histograms
	// and distributions expose as summaries; each is in (0, 100].
	Percentiles []float64 `yaml:"percentiles"`
	// UDPReaders is the number of goroutines reading the UDP socket.
	// 0 means GOMAXPROCS.
	UDPReaders int `yaml:"udp_readers"`
	// Workers is the number of goroutines parsing UDP datagrams and feeding
	// the aggregator. 0 means GOMAXPROCS.
	Workers int `yaml:"workers"`
	// ReadBuffer is the receive buffer (SO_RCVBUF) asked of the kernel for
	// the UDP socket, in bytes; the kernel caps it at net.core.rmem_max.
	ReadBuffer int `yaml:"read_buffer"`
	// QueueSize is the capacity of the queue between the UDP readers and the
	// workers, in chunks of up to 64 KiB of datagrams; a datagram that finds
	// it full is dropped and counted in
	// telltale_statsd_udp_queue_dropped_total.
	QueueSize int `yaml:"queue_size"`
	// MaxLineLength is the longest statsd line accepted, in bytes; longer
	// lines are rejected with reason "line_too_long".
	MaxLineLength int `yaml:"max_line_length"`
	// MaxTCPConnections is the number of statsd TCP connections served at
	// once; further connections are closed on accept.
	MaxTCPConnections int `yaml:"max_tcp_connections"`
	// TCPIdleTimeout closes a statsd TCP connection that sent nothing for
	// this long. 0 never closes one. (ingest.StatsdConfig spells "never" as
	// a negative TCPIdleTimeout: its 0 means its default.)
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	// SeriesIdleTimeout forgets a series that has received nothing for this
	// long. 0 keeps series forever.
	SeriesIdleTimeout time.Duration `yaml:"series_idle_timeout"`
	// MaxSeries caps the number of live series in total. 0 means no limit.
	MaxSeries int `yaml:"max_series"`
	// MaxSeriesPerMetric caps the number of live series of one metric name.
	// 0 means no limit.
	MaxSeriesPerMetric int `yaml:"max_series_per_metric"`
	// History keeps every flush in the embedded store and serves it through
	// the Prometheus query API (/api/v1). On by default; -history=false
	// turns it off.
	History bool `yaml:"history"`
	// HistoryMaxNewSeries bounds the series one flush creates in the
	// history (about 15 µs of CPU each): a burst of new series is stored
	// over the next flushes instead of stalling one. 0 means no bound.
	HistoryMaxNewSeries int `yaml:"history_max_new_series"`
}

// Quantiles returns Percentiles as quantiles in (0, 1], in the same order.
func (s StatsdConfig) Quantiles() []float64 {
	q := make([]float64, len(s.Percentiles))
	for i, p := range s.Percentiles {
		q[i] = p / 100
	}
	return q
}

// RetentionConfig says how long stored data is kept.
type RetentionConfig struct {
	// Events is how long Sentry events are kept.
	Events time.Duration `yaml:"events"`
	// Metrics is how long metric history is kept.
	Metrics time.Duration `yaml:"metrics"`
}

// ProjectConfig declares one Sentry project.
type ProjectConfig struct {
	// ID is the project id, the number in DSNs and /api/{id}/envelope/.
	ID int64 `yaml:"id"`
	// Slug names the project in URLs: lowercase letters, digits, '-' and
	// '_', not only digits, at most 50 characters.
	Slug string `yaml:"slug"`
	// Platform is the project's platform as Sentry names it ("go",
	// "python", "javascript"); informational.
	Platform string `yaml:"platform"`
	// Keys are the project's public DSN keys, 32 hexadecimal characters,
	// lowercased after loading.
	Keys []string `yaml:"keys"`
	// RateLimit is the number of events per second the project accepts
	// before answering 429. 0 means no limit.
	RateLimit int `yaml:"rate_limit"`
}

// AuthConfig holds the credentials of the query APIs and the UI.
type AuthConfig struct {
	// Tokens are the Bearer tokens accepted by /api/0, /api/v1 and the UI;
	// each is at least 16 characters without whitespace.
	Tokens []string `yaml:"tokens"`
}

// Defaults returns the configuration used when neither the file nor a flag
// says otherwise: everything on loopback, data under ./data.
func Defaults() Config {
	return Config{
		DataDir: "./data",
		HTTP:    HTTPConfig{Addr: "127.0.0.1:8080"},
		Statsd: StatsdConfig{
			Addr:                "127.0.0.1:8125",
			FlushInterval:       10 * time.Second,
			Percentiles:         []float64{50, 90, 95, 99},
			UDPReaders:          0,
			Workers:             0,
			ReadBuffer:          8 << 20,
			QueueSize:           2048,
			MaxLineLength:       64 << 10,
			MaxTCPConnections:   1024,
			TCPIdleTimeout:      5 * time.Minute,
			SeriesIdleTimeout:   10 * time.Minute,
			MaxSeries:           2_000_000,
			MaxSeriesPerMetric:  100_000,
			History:             true,
			HistoryMaxNewSeries: 50_000,
		},
		Retention: RetentionConfig{
			Events:  720 * time.Hour,
			Metrics: 360 * time.Hour,
		},
		Organization: "main",
	}
}

// RegisterFlags registers on fs the flags that override settings of c,
// with c's current values as their defaults. Parsing fs writes into c.
// -config and -check-config are not settings and are registered by
// parseServeArgs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory of the data store (config: data_dir)")
	fs.StringVar(&c.HTTP.Addr, "http-addr", c.HTTP.Addr, "`host:port` of the HTTP listener (config: http.addr)")
	fs.StringVar(&c.Statsd.Addr, "statsd-addr", c.Statsd.Addr, "`host:port` of the statsd UDP and TCP listeners (config: statsd.addr)")
	fs.DurationVar(&c.Statsd.FlushInterval, "flush-interval", c.Statsd.FlushInterval, "how often statsd series are flushed (config: statsd.flush_interval)")
	fs.BoolVar(&c.Statsd.History, "history", c.Statsd.History, "keep metric history and serve the Prometheus query API on /api/v1 (config: statsd.history)")
}

// flagKey returns the config key that the flag name overrides.
func flagKey(name string) string {
	switch name {
	case "data-dir":
		return "data_dir"
	case "http-addr":
		return "http.addr"
	case "statsd-addr":
		return "statsd.addr"
	case "flush-interval":
		return "statsd.flush_interval"
	case "history":
		return "statsd.history"
	}
	return ""
}

// errFlagUsage marks an error from parsing the command line. The flag package
// has already written the message and the usage to stderr, so the caller
// should only exit (status 2; 0 if errors.Is(err, flag.ErrHelp)).
var errFlagUsage = errors.New("bad command line")

// parseServeArgs parses the arguments of "telltale serve" (also those of a
// bare "telltale -check-config -config FILE"): it parses the flags, loads the
// file named by -config, applies over it the flags given on the command line
// (a flag wins over the file), and validates the result. checkOnly reports
// -check-config. Problems in the file are reported as "FILE:LINE: key: ...",
// all of them at once, joined by newlines. If the command line itself is bad,
// err wraps errFlagUsage (and flag.ErrHelp for -h), and the message and usage
// have already been written to stderr.
func parseServeArgs(args []string, stderr io.Writer) (cfg Config, checkOnly bool, err error) {
	fs := flag.NewFlagSet("telltale serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML configuration `file`; flags given on the command line win over it")
	check := fs.Bool("check-config", false, "validate the configuration and exit")
	fromFlags := Defaults()
	fromFlags.RegisterFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: telltale serve [flags]\n       telltale -check-config -config FILE\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, false, fmt.Errorf("%w: %w", errFlagUsage, err)
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return Config{}, false, fmt.Errorf("%w: %w", errFlagUsage, err)
	}

	cfg = Defaults()
	src := newSources(*configPath)
	if *configPath != "" {
		if err := loadFile(*configPath, &cfg, src); err != nil {
			return Config{}, false, err
		}
	}

	// Apply the flags that were given, and only those, over the file. A
	// second FlagSet bound to cfg parses each flag's text again, so
	// RegisterFlags stays the one list of flags.
	overlay := flag.NewFlagSet("overlay", flag.ContinueOnError)
	overlay.SetOutput(io.Discard)
	cfg.RegisterFlags(overlay)
	var setErr error
	fs.Visit(func(f *flag.Flag) {
		if overlay.Lookup(f.Name) == nil {
			return // -config, -check-config
		}
		if err := overlay.Set(f.Name, f.Value.String()); err != nil && setErr == nil {
			setErr = fmt.Errorf("flag -%s: %w", f.Name, err)
		}
		src.flags[flagKey(f.Name)] = f.Name
	})
	if setErr != nil {
		return Config{}, false, setErr
	}

	if err := cfg.finish(src); err != nil {
		return Config{}, false, err
	}
	return cfg, *check, nil
}

// LoadConfig returns Defaults overridden by the YAML file at path, validated.
// Problems are reported as "PATH:LINE: key: ...", all of them at once, joined
// by newlines; an unknown key is "PATH:LINE: unknown key "statsd.addrr"".
func LoadConfig(path string) (Config, error) {
	cfg := Defaults()
	src := newSources(path)
	if err := loadFile(path, &cfg, src); err != nil {
		return Config{}, err
	}
	if err := cfg.finish(src); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate reports every problem with c, joined by newlines, each naming its
// key; it does not know where a value came from (LoadConfig and
// parseServeArgs add the file and line). It does not modify c.
func (c *Config) Validate() error {
	cp := *c
	cp.normalize()
	return newSources("").annotate(cp.check())
}

// finish normalizes c, then validates it, naming where each bad value came from.
func (c *Config) finish(src *sources) error {
	c.normalize()
	return src.annotate(c.check())
}

// normalize fills derived settings and canonicalises values.
func (c *Config) normalize() {
	if c.HTTP.PublicURL == "" && checkAddr(c.HTTP.Addr) == nil {
		if host, port, err := net.SplitHostPort(c.HTTP.Addr); err == nil {
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			c.HTTP.PublicURL = "http://" + net.JoinHostPort(host, port)
		}
	}
	c.HTTP.PublicURL = strings.TrimRight(c.HTTP.PublicURL, "/")
	for i := range c.Projects {
		for j, k := range c.Projects[i].Keys {
			c.Projects[i].Keys[j] = strings.ToLower(k)
		}
	}
}

// A fieldError is one problem with the setting at key, such as
// "statsd.percentiles[1]" or "projects[0].keys[2]".
type fieldError struct {
	key string
	msg string
}

// check returns every problem with c, in the order of the keys.
func (c *Config) check() []fieldError {
	var errs []fieldError
	fail := func(key, format string, args ...any) {
		errs = append(errs, fieldError{key: key, msg: fmt.Sprintf(format, args...)})
	}

	if c.DataDir == "" {
		fail("data_dir", "must not be empty")
	}
	if err := checkAddr(c.HTTP.Addr); err != nil {
		fail("http.addr", "%v", err)
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		switch {
		case err != nil:
			fail("http.public_url", "invalid URL %s", quote(c.HTTP.PublicURL))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			fail("http.public_url", "%s is not an absolute http:// or https:// URL", quote(c.HTTP.PublicURL))
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			fail("http.public_url", "%s must not have user info, a query or a fragment", quote(c.HTTP.PublicURL))
		}
	}

	s := &c.Statsd
	if err := checkAddr(s.Addr); err != nil {
		fail("statsd.addr", "%v", err)
	}
	if s.FlushInterval <= 0 {
		fail("statsd.flush_interval", "must be greater than 0, got %v", s.FlushInterval)
	}
	seenPct := make(map[float64]int)
	for i, p := range s.Percentiles {
		key := fmt.Sprintf("statsd.percentiles[%d]", i)
		if !(p > 0 && p <= 100) { // also rejects NaN
			fail(key, "%v is not in (0, 100]", p)
			continue
		}
		if j, dup := seenPct[p]; dup {
			fail(key, "duplicate percentile %v (also statsd.percentiles[%d])", p, j)
			continue
		}
		seenPct[p] = i
	}
	if s.UDPReaders < 0 || s.UDPReaders > 1024 {
		fail("statsd.udp_readers", "must be in [0, 1024] (0 means GOMAXPROCS), got %d", s.UDPReaders)
	}
	if s.Workers < 0 || s.Workers > 1024 {
		fail("statsd.workers", "must be in [0, 1024] (0 means GOMAXPROCS), got %d", s.Workers)
	}
	if s.ReadBuffer <= 0 || s.ReadBuffer > 1<<30 {
		fail("statsd.read_buffer", "must be in [1, 1 GiB] bytes, got %d", s.ReadBuffer)
	}
	if s.QueueSize <= 0 || s.QueueSize > 1<<20 {
		fail("statsd.queue_size", "must be in [1, 1048576] chunks, got %d", s.QueueSize)
	}
	if s.MaxLineLength <= 0 || s.MaxLineLength > 16<<20 {
		fail("statsd.max_line_length", "must be in [1, 16 MiB] bytes, got %d", s.MaxLineLength)
	}
	if s.MaxTCPConnections <= 0 {
		fail("statsd.max_tcp_connections", "must be greater than 0, got %d", s.MaxTCPConnections)
	}
	if s.TCPIdleTimeout < 0 {
		fail("statsd.tcp_idle_timeout", "must not be negative (0 never closes an idle connection), got %v", s.TCPIdleTimeout)
	}
	// A series_idle_timeout shorter than flush_interval is fine: the
	// aggregator rounds it up to whole intervals, so every series is flushed
	// at least once before it is forgotten (and -flush-interval 1h must not
	// trip over the default 10m).
	if s.SeriesIdleTimeout < 0 {
		fail("statsd.series_idle_timeout", "must not be negative (0 keeps series forever), got %v", s.SeriesIdleTimeout)
	}
	if s.MaxSeries < 0 {
		fail("statsd.max_series", "must not be negative (0 means no limit), got %d", s.MaxSeries)
	}
	if s.HistoryMaxNewSeries < 0 {
		fail("statsd.history_max_new_series", "must not be negative (0 means no limit), got %d", s.HistoryMaxNewSeries)
	}
	if s.MaxSeriesPerMetric < 0 {
		fail("statsd.max_series_per_metric", "must not be negative (0 means no limit), got %d", s.MaxSeriesPerMetric)
	}

	if c.Retention.Events <= 0 {
		fail("retention.events", "must be greater than 0, got %v", c.Retention.Events)
	}
	if c.Retention.Metrics <= 0 {
		fail("retention.metrics", "must be greater than 0, got %v", c.Retention.Metrics)
	}

	if err := checkSlug(c.Organization); err != nil {
		fail("organization", "%v", err)
	}

	ids := make(map[int64]int)
	slugs := make(map[string]int)
	keys := make(map[string]string)
	for i, p := range c.Projects {
		prefix := fmt.Sprintf("projects[%d]", i)
		switch j, dup := ids[p.ID]; {
		case p.ID <= 0:
			fail(prefix+".id", "must be a positive integer, got %d", p.ID)
		case dup:
			fail(prefix+".id", "duplicate project id %d (also projects[%d])", p.ID, j)
		default:
			ids[p.ID] = i
		}
		if err := checkSlug(p.Slug); err != nil {
			fail(prefix+".slug", "%v", err)
		} else if j, dup := slugs[p.Slug]; dup {
			fail(prefix+".slug", "duplicate project slug %q (also projects[%d])", p.Slug, j)
		} else {
			slugs[p.Slug] = i
		}
		if len(p.Platform) > 64 {
			fail(prefix+".platform", "longer than 64 characters")
		}
		for j, k := range p.Keys {
			key := fmt.Sprintf("%s.keys[%d]", prefix, j)
			if !isHex32(k) {
				fail(key, "%s is not 32 hexadecimal characters", quote(k))
				continue
			}
			if other, dup := keys[k]; dup {
				fail(key, "duplicate key %s (also %s)", k, other)
				continue
			}
			keys[k] = key
		}
		if p.RateLimit < 0 {
			fail(prefix+".rate_limit", "must not be negative (0 means no limit), got %d", p.RateLimit)
		}
	}

	tokens := make(map[string]int)
	for i, tok := range c.Auth.Tokens {
		key := fmt.Sprintf("auth.tokens[%d]", i)
		// Never echo a token: error messages end up in logs.
		switch j, dup := tokens[tok]; {
		case len(tok) < 16:
			fail(key, "a token must be at least 16 characters long")
		case strings.IndexFunc(tok, isSpaceOrControl) >= 0:
			fail(key, "a token must not contain whitespace or control characters")
		case dup:
			fail(key, "duplicate of auth.tokens[%d]", j)
		default:
			tokens[tok] = i
		}
	}
	return errs
}

// checkAddr checks that addr is host:port with a numeric port. The host may be
// empty (all interfaces), a name or an IP address; port 0 picks a free port.
func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s is not host:port", quote(addr))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || port == "" || n > 65535 {
		return fmt.Errorf("%s: port must be a number in [0, 65535]", quote(addr))
	}
	if strings.ContainsFunc(host, isSpaceOrControl) {
		return fmt.Errorf("%s: invalid host", quote(addr))
	}
	return nil
}

// checkSlug checks a Sentry-style slug: 1 to 50 of [a-z0-9_-], not only digits.
func checkSlug(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	if len(s) > 50 {
		return fmt.Errorf("%s is longer than 50 characters", quote(s))
	}
	digits := true
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= '0' && b <= '9':
		case b >= 'a' && b <= 'z', b == '-', b == '_':
			digits = false
		default:
			return fmt.Errorf("%s is not a valid slug: use lowercase letters, digits, '-' and '_'", quote(s))
		}
	}
	if digits {
		return fmt.Errorf("%s is not a valid slug: it must not be only digits", quote(s))
	}
	return nil
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'f' || b >= 'A' && b <= 'F') {
			return false
		}
	}
	return true
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || r == '\u2028' || r == '\u2029'
}

// quote quotes s for an error message, truncated to a safe length.
func quote(s string) string {
	const limit = 80
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "..."
	}
	return strconv.Quote(s)
}

// sources remembers where each setting came from, so that an error can name
// the file and line or the flag that set the bad value.
type sources struct {
	file  string
	lines map[string]int    // key -> line in file
	flags map[string]string // key -> flag name
}

func newSources(file string) *sources {
	return &sources{file: file, lines: make(map[string]int), flags: make(map[string]string)}
}

// annotate turns the problems into one error, each line prefixed with where
// the value came from: "FILE:LINE: key: msg", "flag -name: key: msg", or
// "key: msg" for a default. Problems in the file come in the file's order,
// after the others.
func (s *sources) annotate(errs []fieldError) error {
	if len(errs) == 0 {
		return nil
	}
	type located struct {
		line int
		err  error
	}
	out := make([]located, 0, len(errs))
	for _, e := range errs {
		prefix, line := s.where(e.key)
		out = append(out, located{line, fmt.Errorf("%s%s: %s", prefix, e.key, e.msg)})
	}
	slices.SortStableFunc(out, func(a, b located) int { return cmp.Compare(a.line, b.line) })
	joined := make([]error, len(out))
	for i, l := range out {
		joined[i] = l.err
	}
	return errors.Join(joined...)
}

// where returns the prefix naming the origin of key, or of its closest
// enclosing key ("projects[1]" for an id missing from that project), and the
// line in the file (0 if it did not come from the file).
func (s *sources) where(key string) (prefix string, line int) {
	for k := key; k != ""; k = parentKey(k) {
		if name, ok := s.flags[k]; ok {
			return "flag -" + name + ": ", 0
		}
		if line, ok := s.lines[k]; ok {
			return fmt.Sprintf("%s:%d: ", s.file, line), line
		}
	}
	return "", 0
}

// parentKey returns "a.b" for "a.b.c" and "a.b[1]", and "" for "a".
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// loadFile decodes the YAML file at path over cfg and records in src where
// each key was set.
func loadFile(path string, cfg *Config, src *sources) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("cannot read config: %w", err)
	}
	return decodeYAML(path, data, cfg, src)
}

// decodeYAML decodes data (the contents of the file name) over cfg: the keys
// it sets replace cfg's values, the others keep them; a list replaces the
// whole list. It first walks the YAML tree against Config's type so that
// every unknown key, duplicate key and bad value is reported with the file,
// the line and the full key ("telltale.yaml:7: unknown key
// "statsd.flush_intervall""); go-yaml's own errors name neither the file nor
// the key. Then go-yaml decodes, with KnownFields(true) as a second guard.
func decodeYAML(name string, data []byte, cfg *Config, src *sources) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil // empty file, or only comments: all defaults
	case err != nil:
		return yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return yamlError(name, err)
		}
		return fmt.Errorf("%s:%d: only one YAML document is allowed", name, extra.Line)
	}

	w := &walker{file: name, src: src}
	root := resolveAlias(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolveAlias(root.Content[0])
	}
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("%s:%d: want a mapping of settings at the top level, got %s", name, root.Line, describeNode(root))
	}
	w.mapping("", root, reflect.TypeFor[Config](), make(map[string]int))
	if len(w.errs) > 0 {
		return errors.Join(w.errs...)
	}

	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(cfg); err != nil {
		return yamlError(name, err) // not reached unless walker and go-yaml disagree
	}
	return nil
}

// yamlError rewrites go-yaml's "yaml: line N: msg" as "name:N: msg".
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if _, err := strconv.Atoi(rest[:i]); err == nil {
				return fmt.Errorf("%s:%s: %s", name, rest[:i], rest[i+2:])
			}
		}
	}
	return fmt.Errorf("%s: %s", name, msg)
}

// A walker checks a YAML tree against a Go type, collecting one error per
// unknown key, duplicate key or value of the wrong type.
type walker struct {
	file string
	src  *sources
	errs []error
}

func (w *walker) fail(line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" {
		msg = key + ": " + msg
	}
	w.errs = append(w.errs, fmt.Errorf("%s:%d: %s", w.file, line, msg))
}

// value checks node n, the value of key, against type t.
func (w *walker) value(key string, n *yaml.Node, t reflect.Type) {
	n = resolveAlias(n)
	if isNull(n) {
		return // "key:" with no value keeps the default (a list becomes empty)
	}
	switch {
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.fail(n.Line, key, "want a mapping, got %s", describeNode(n))
			return
		}
		w.mapping(key, n, t, make(map[string]int))
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(n.Line, key, "want a list of %s, got %s", describeElems(t.Elem()), describeNode(n))
			return
		}
		for i, el := range n.Content {
			k := fmt.Sprintf("%s[%d]", key, i)
			w.src.lines[k] = el.Line
			w.value(k, el, t.Elem())
		}
	default:
		if n.Kind != yaml.ScalarNode {
			w.fail(n.Line, key, "want %s, got %s", describeType(t), describeNode(n))
			return
		}
		if err := n.Decode(reflect.New(t).Interface()); err != nil {
			w.fail(n.Line, key, "invalid value %s: want %s", quote(n.Value), describeType(t))
		}
	}
}

// mapping checks the keys of mapping n, the value of key, against struct type
// t. seen holds the keys already set in this mapping and their lines.
func (w *walker) mapping(key string, n *yaml.Node, t reflect.Type, seen map[string]int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			w.merge(key, v, t)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(k.Line, key, "a key must be a plain name, got %s", describeNode(k))
			continue
		}
		full := joinKey(key, k.Value)
		f, ok := fieldByYAMLName(t, k.Value)
		if !ok {
			msg := fmt.Sprintf("unknown key %q", full)
			if guess := closestKey(t, k.Value); guess != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", joinKey(key, guess))
			}
			w.errs = append(w.errs, fmt.Errorf("%s:%d: %s", w.file, k.Line, msg))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			w.errs = append(w.errs, fmt.Errorf("%s:%d: duplicate key %q (first set at line %d)", w.file, k.Line, full, first))
			continue
		}
		seen[k.Value] = k.Line
		w.src.lines[full] = k.Line
		w.value(full, v, f.Type)
	}
}

// merge checks the value of a "<<" merge key: a mapping or a list of them.
func (w *walker) merge(key string, v *yaml.Node, t reflect.Type) {
	v = resolveAlias(v)
	switch v.Kind {
	case yaml.MappingNode:
		w.mapping(key, v, t, make(map[string]int))
	case yaml.SequenceNode:
		for _, el := range v.Content {
			w.merge(key, el, t)
		}
	default:
		w.fail(v.Line, key, "a merge key (<<) needs a mapping, got %s", describeNode(v))
	}
}

func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// yamlName returns the key of struct field f in YAML, or "" if it has none.
func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	return name
}

func fieldByYAMLName(t reflect.Type, name string) (reflect.StructField, bool) {
	for f := range t.Fields() {
		if n := yamlName(f); n != "" && n == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// closestKey returns the key of struct type t nearest to the misspelt name,
// or "" if none is within two edits.
func closestKey(t reflect.Type, name string) string {
	best, bestDist := "", 3
	for f := range t.Fields() {
		n := yamlName(f)
		if n == "" {
			continue
		}
		if d := editDistance(strings.ToLower(name), n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func describeType(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 10s, 5m or 720h"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Slice:
		return "a list"
	case t.Kind() == reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// describeElems names the values of type t in the plural: "numbers".
func describeElems(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "durations"
	case t.Kind() == reflect.String:
		return "strings"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "integers"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "numbers"
	case t.Kind() == reflect.Struct:
		return "mappings"
	}
	return "values"
}

func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quote(n.Value)
	}
	return "nothing"
}
