package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// designExample is the config file of DESIGN.md §2.2, verbatim.
const designExample = `data_dir: ./data
http:   { addr: 127.0.0.1:8080, public_url: http://127.0.0.1:8080 }
statsd: { addr: 127.0.0.1:8125, flush_interval: 10s, percentiles: [50, 90, 95, 99] }
retention: { events: 720h, metrics: 360h }
organization: main                 # the org slug in /api/0/organizations/{org}/...
projects:
  - { id: 1, slug: backend, platform: go, keys: ["0123456789abcdef0123456789abcdef"], rate_limit: 1000 }
auth:
  tokens: ["a-long-random-api-token"]    # Bearer tokens for /api/0, /api/v1 and the UI
`

const validKey = "0123456789abcdef0123456789abcdef"

func TestConfigParseServeArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		// file, if not empty, is written to telltale.yaml in the working
		// directory; args refer to it by that name.
		file      string
		args      []string
		want      func(*Config) // edits Defaults() into the expected Config
		wantCheck bool
		// wantErr lists substrings that must all appear in the error; each
		// is typically one whole problem line.
		wantErr []string
	}{
		{
			name: "defaults",
			want: func(c *Config) { c.HTTP.PublicURL = "http://127.0.0.1:8080" },
		},
		{
			name: "design example",
			file: designExample,
			args: []string{"-config", "telltale.yaml"},
			want: func(c *Config) {
				c.HTTP.PublicURL = "http://127.0.0.1:8080"
				c.Projects = []ProjectConfig{{ID: 1, Slug: "backend", Platform: "go", Keys: []string{validKey}, RateLimit: 1000}}
				c.Auth.Tokens = []string{"a-long-random-api-token"}
			},
		},
		{
			name: "file values",
			file: `data_dir: /var/lib/telltale
http:
  addr: 0.0.0.0:9000
  public_url: https://telltale.example.com/
statsd:
  addr: ":9125"
  flush_interval: 1m30s
  percentiles: [50, 99.9]
  udp_readers: 4
  workers: 3
  read_buffer: 1048576
  queue_size: 100
  max_line_length: 1024
  max_tcp_connections: 10
  tcp_idle_timeout: 0s
  series_idle_timeout: 0s
  max_series: 0
  max_series_per_metric: 5
  history: true
  history_max_new_series: 1000
retention:
  events: 24h
organization: acme
projects:
  - id: 7
    slug: web-app
    keys: [0123456789ABCDEF0123456789ABCDEF]
  - {id: 8, slug: worker_2}
auth:
  tokens: [aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb]
`,
			args: []string{"-config=telltale.yaml"},
			want: func(c *Config) {
				c.DataDir = "/var/lib/telltale"
				c.HTTP = HTTPConfig{Addr: "0.0.0.0:9000", PublicURL: "https://telltale.example.com"}
				c.Statsd = StatsdConfig{
					Addr: ":9125", FlushInterval: 90 * time.Second, Percentiles: []float64{50, 99.9},
					UDPReaders: 4, Workers: 3, ReadBuffer: 1 << 20, QueueSize: 100, MaxLineLength: 1024,
					MaxTCPConnections: 10, TCPIdleTimeout: 0, SeriesIdleTimeout: 0, MaxSeries: 0, MaxSeriesPerMetric: 5,
					History: true, HistoryMaxNewSeries: 1000,
				}
				c.Retention.Events = 24 * time.Hour
				c.Organization = "acme"
				c.Projects = []ProjectConfig{
					{ID: 7, Slug: "web-app", Keys: []string{validKey}},
					{ID: 8, Slug: "worker_2"},
				}
				c.Auth.Tokens = []string{"aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbb"}
			},
		},
		{
			name: "empty file keeps defaults",
			file: "# nothing here\n",
			args: []string{"-config", "telltale.yaml"},
			want: func(c *Config) { c.HTTP.PublicURL = "http://127.0.0.1:8080" },
		},
		{
			name: "key without value keeps defaults",
			file: "statsd:\nhttp: ~\n",
			args: []string{"-config", "telltale.yaml"},
			want: func(c *Config) { c.HTTP.PublicURL = "http://127.0.0.1:8080" },
		},
		{
			name: "flags without file",
			args: []string{"-data-dir", "/tmp/d", "-http-addr", ":0", "-statsd-addr", "127.0.0.1:0", "-flush-interval", "250ms", "-history=false"},
			want: func(c *Config) {
				c.DataDir = "/tmp/d"
				c.Statsd.History = false
				c.HTTP = HTTPConfig{Addr: ":0", PublicURL: "http://127.0.0.1:0"}
				c.Statsd.Addr = "127.0.0.1:0"
				c.Statsd.FlushInterval = 250 * time.Millisecond
			},
		},
		{
			name: "flag overrides file",
			file: "data_dir: /from/file\nhttp: {addr: 127.0.0.1:1111}\nstatsd: {flush_interval: 1m, addr: 127.0.0.1:2222}\n",
			args: []string{"-flush-interval=5s", "-config", "telltale.yaml", "-http-addr", "127.0.0.1:3333"},
			want: func(c *Config) {
				c.DataDir = "/from/file"
				c.HTTP = HTTPConfig{Addr: "127.0.0.1:3333", PublicURL: "http://127.0.0.1:3333"}
				c.Statsd.Addr = "127.0.0.1:2222"
				c.Statsd.FlushInterval = 5 * time.Second
			},
		},
		{
			name: "flag equal to the default still overrides file",
			file: "statsd: {flush_interval: 1m}\n",
			args: []string{"-config", "telltale.yaml", "-flush-interval", "10s"},
			want: func(c *Config) { c.HTTP.PublicURL = "http://127.0.0.1:8080" },
		},
		{
			name: "flag fixes a bad file value",
			file: "http: {addr: nonsense}\n",
			args: []string{"-config", "telltale.yaml", "-http-addr", "127.0.0.1:8081"},
			want: func(c *Config) { c.HTTP = HTTPConfig{Addr: "127.0.0.1:8081", PublicURL: "http://127.0.0.1:8081"} },
		},
		{
			name:      "check-config",
			file:      designExample,
			args:      []string{"-check-config", "-config", "telltale.yaml"},
			wantCheck: true,
			want: func(c *Config) {
				c.HTTP.PublicURL = "http://127.0.0.1:8080"
				c.Projects = []ProjectConfig{{ID: 1, Slug: "backend", Platform: "go", Keys: []string{validKey}, RateLimit: 1000}}
				c.Auth.Tokens = []string{"a-long-random-api-token"}
			},
		},
		{
			name:    "check-config reports problems",
			file:    "statsd:\n  flush_interval: 0s\n",
			args:    []string{"-check-config", "-config", "telltale.yaml"},
			wantErr: []string{"telltale.yaml:2: statsd.flush_interval: must be greater than 0"},
		},
		{
			name: "unknown key names key and line",
			file: "data_dir: ./data\nstatsd:\n  addr: 127.0.0.1:8125\n\n\n\n  flush_intervall: 10s\n",
			args: []string{"-config", "telltale.yaml"},
			wantErr: []string{
				`telltale.yaml:7: unknown key "statsd.flush_intervall" (did you mean "statsd.flush_interval"?)`,
			},
		},
		{
			name:    "unknown key in flow mapping",
			file:    "statsd: { addr: 127.0.0.1:8125, flush_intervall: 10s }\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:1: unknown key "statsd.flush_intervall"`},
		},
		{
			name:    "unknown top-level key without a near match",
			file:    "\nfrobnicate: true\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:2: unknown key "frobnicate"`},
		},
		{
			name:    "unknown key inside a project",
			file:    "projects:\n  - id: 1\n    slug: a1\n    rate: 5\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:4: unknown key "projects[0].rate"`},
		},
		{
			name:    "bad duration names key and line",
			file:    "retention:\n  events: 720h\n  metrics: 15d\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:3: retention.metrics: invalid value "15d": want a duration such as 10s, 5m or 720h`},
		},
		{
			name:    "bare number is not a duration",
			file:    "statsd: {flush_interval: 10}\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:1: statsd.flush_interval: invalid value "10": want a duration`},
		},
		{
			name:    "bad integer",
			file:    "statsd:\n  queue_size: lots\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:2: statsd.queue_size: invalid value "lots": want an integer`},
		},
		{
			name:    "wrong shape",
			file:    "statsd: 5\nauth: {tokens: abc}\nprojects: {id: 1}\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:1: statsd: want a mapping, got "5"`, `telltale.yaml:2: auth.tokens: want a list of strings, got "abc"`, `telltale.yaml:3: projects: want a list of mappings, got a mapping`},
		},
		{
			name: "bad percentile",
			file: "statsd:\n  percentiles:\n    - 50\n    - 150\n    - 0\n    - 50\n    - x\n",
			args: []string{"-config", "telltale.yaml"},
			wantErr: []string{
				`telltale.yaml:7: statsd.percentiles[4]: invalid value "x": want a number`,
			},
		},
		{
			name: "percentile out of range",
			file: "statsd:\n  percentiles:\n    - 50\n    - 150\n    - 0\n    - 50\n",
			args: []string{"-config", "telltale.yaml"},
			wantErr: []string{
				"telltale.yaml:4: statsd.percentiles[1]: 150 is not in (0, 100]",
				"telltale.yaml:5: statsd.percentiles[2]: 0 is not in (0, 100]",
				"telltale.yaml:6: statsd.percentiles[3]: duplicate percentile 50 (also statsd.percentiles[0])",
			},
		},
		{
			name:    "duplicate key",
			file:    "statsd:\n  addr: 127.0.0.1:1\n  addr: 127.0.0.1:2\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{`telltale.yaml:3: duplicate key "statsd.addr" (first set at line 2)`},
		},
		{
			name:    "yaml syntax error names file and line",
			file:    "statsd:\n  addr: x\n   flush_interval: 1s\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{"telltale.yaml:3: "},
		},
		{
			name:    "top level must be a mapping",
			file:    "- a\n- b\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{"telltale.yaml:1: want a mapping of settings at the top level, got a list"},
		},
		{
			name:    "one document only",
			file:    "data_dir: a\n---\ndata_dir: b\n",
			args:    []string{"-config", "telltale.yaml"},
			wantErr: []string{"telltale.yaml:2: only one YAML document is allowed"},
		},
		{
			name:    "missing file",
			args:    []string{"-config", "nope.yaml"},
			wantErr: []string{"cannot read config: open nope.yaml:"},
		},
		{
			name: "validation names key and line",
			file: `http:
  addr: localhost
  public_url: ftp://x
statsd:
  addr: 127.0.0.1:99999
  series_idle_timeout: -1s
  max_series: -1
retention: {events: -1h}
organization: Main
projects:
  - {id: 1, slug: "123", keys: [` + validKey + `, abc]}
  - {id: 1, slug: ok, keys: ["` + strings.ToUpper(validKey) + `"], rate_limit: -5}
  - slug: ok
auth:
  tokens: [short, "has a space in it", aaaaaaaaaaaaaaaa, aaaaaaaaaaaaaaaa]
`,
			args: []string{"-config", "telltale.yaml"},
			wantErr: []string{
				`telltale.yaml:2: http.addr: "localhost" is not host:port`,
				`telltale.yaml:3: http.public_url: "ftp://x" is not an absolute http:// or https:// URL`,
				`telltale.yaml:5: statsd.addr: "127.0.0.1:99999": port must be a number in [0, 65535]`,
				`telltale.yaml:6: statsd.series_idle_timeout: must not be negative`,
				`telltale.yaml:7: statsd.max_series: must not be negative`,
				`telltale.yaml:8: retention.events: must be greater than 0, got -1h0m0s`,
				`telltale.yaml:9: organization: "Main" is not a valid slug`,
				`telltale.yaml:11: projects[0].slug: "123" is not a valid slug: it must not be only digits`,
				`telltale.yaml:11: projects[0].keys[1]: "abc" is not 32 hexadecimal characters`,
				`telltale.yaml:12: projects[1].id: duplicate project id 1 (also projects[0])`,
				`telltale.yaml:12: projects[1].keys[0]: duplicate key ` + validKey + ` (also projects[0].keys[0])`,
				`telltale.yaml:12: projects[1].rate_limit: must not be negative`,
				`telltale.yaml:13: projects[2].id: must be a positive integer, got 0`,
				`telltale.yaml:13: projects[2].slug: duplicate project slug "ok" (also projects[1])`,
				`telltale.yaml:15: auth.tokens[0]: a token must be at least 16 characters long`,
				`telltale.yaml:15: auth.tokens[1]: a token must not contain whitespace`,
				`telltale.yaml:15: auth.tokens[3]: duplicate of auth.tokens[2]`,
			},
		},
		{
			name: "statsd limits",
			file: "statsd:\n  read_buffer: 0\n  queue_size: 0\n  max_line_length: 0\n  max_tcp_connections: -1\n  tcp_idle_timeout: -1s\n  udp_readers: -1\n  workers: 5000\n",
			args: []string{"-config", "telltale.yaml"},
			wantErr: []string{
				"telltale.yaml:2: statsd.read_buffer: must be in [1, 1 GiB] bytes, got 0",
				"telltale.yaml:3: statsd.queue_size: must be in [1, 1048576] chunks, got 0",
				"telltale.yaml:4: statsd.max_line_length: must be in [1, 16 MiB] bytes, got 0",
				"telltale.yaml:5: statsd.max_tcp_connections: must be greater than 0, got -1",
				"telltale.yaml:6: statsd.tcp_idle_timeout: must not be negative",
				"telltale.yaml:7: statsd.udp_readers: must be in [0, 1024]",
				"telltale.yaml:8: statsd.workers: must be in [0, 1024]",
			},
		},
		{
			name:    "bad flag value names the flag",
			args:    []string{"-flush-interval", "0s", "-http-addr", "nope"},
			wantErr: []string{"flag -flush-interval: statsd.flush_interval: must be greater than 0", `flag -http-addr: http.addr: "nope" is not host:port`},
		},
		{
			name:    "flag syntax error",
			args:    []string{"-flush-interval", "soon"},
			wantErr: []string{`invalid value "soon" for flag -flush-interval`},
		},
		{
			name:    "unknown flag",
			args:    []string{"-flush", "1s"},
			wantErr: []string{"flag provided but not defined: -flush"},
		},
		{
			name:    "unexpected argument",
			args:    []string{"-data-dir", "d", "extra"},
			wantErr: []string{`unexpected argument "extra"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if tc.file != "" {
				if err := os.WriteFile("telltale.yaml", []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stderr bytes.Buffer
			got, check, err := parseServeArgs(tc.args, &stderr)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("got no error, want one containing %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("got error\n%v\nwant it to contain\n%s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v (stderr %q), want none", err, stderr.String())
			}
			want := Defaults()
			if tc.want != nil {
				tc.want(&want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if check != tc.wantCheck {
				t.Errorf("got checkOnly %v, want %v", check, tc.wantCheck)
			}
		})
	}
}

func TestConfigUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		wantHelp bool
	}{
		{args: []string{"-h"}, wantHelp: true},
		{args: []string{"-nope"}},
		{args: []string{"positional"}},
	} {
		var stderr bytes.Buffer
		_, _, err := parseServeArgs(tc.args, &stderr)
		if !errors.Is(err, errFlagUsage) {
			t.Errorf("%q: got %v, want an error wrapping errFlagUsage", tc.args, err)
		}
		if got := errors.Is(err, flag.ErrHelp); got != tc.wantHelp {
			t.Errorf("%q: got errors.Is(err, flag.ErrHelp) %v, want %v", tc.args, got, tc.wantHelp)
		}
		if !strings.Contains(stderr.String(), "Usage: telltale serve") || !strings.Contains(stderr.String(), "-flush-interval") {
			t.Errorf("%q: got stderr %q, want the usage", tc.args, stderr.String())
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/telltale.yaml"
	if err := os.WriteFile(path, []byte(designExample), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("got error %v, want none", err)
	}
	if got.Projects[0].Keys[0] != validKey || got.Statsd.FlushInterval != 10*time.Second {
		t.Errorf("got %+v, want the DESIGN example", got)
	}

	if err := os.WriteFile(path, []byte("statsd:\n  percentiles: [101]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(path)
	if want := path + ":2: statsd.percentiles[0]: 101 is not in (0, 100]"; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %s", err, want)
	}
}

func TestConfigDefaultsValid(t *testing.T) {
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Errorf("got %v, want Defaults() to be valid", err)
	}
	if c.HTTP.PublicURL != "" {
		t.Errorf("Validate modified its receiver: got public_url %q", c.HTTP.PublicURL)
	}
	c.Statsd.Percentiles = []float64{200}
	if err := c.Validate(); err == nil || err.Error() != "statsd.percentiles[0]: 200 is not in (0, 100]" {
		t.Errorf("got %v, want the percentile named without a location", err)
	}
}

func TestConfigPublicURLDefault(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://127.0.0.1:8080",
		"0.0.0.0:80":     "http://127.0.0.1:80",
		"[::]:8080":      "http://127.0.0.1:8080",
		"[::1]:8080":     "http://[::1]:8080",
		"example.com:1":  "http://example.com:1",
	} {
		c := Defaults()
		c.HTTP.Addr = addr
		c.normalize()
		if c.HTTP.PublicURL != want {
			t.Errorf("addr %q: got public_url %q, want %q", addr, c.HTTP.PublicURL, want)
		}
	}
}

func TestConfigQuantiles(t *testing.T) {
	got := Defaults().Statsd.Quantiles()
	want := []float64{0.5, 0.9, 0.95, 0.99}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
