// Command issuelist measures the read side of Telltale's Sentry web API
// (DESIGN.md §2.6) over a large store: the issue list, its sorts, filters,
// search and paging, the project issue list, and one issue's detail, events
// and latest event, each as a black box through HTTP with the admin token.
//
// It keeps a filled store per (-events, -groups) under -data, in
// DIR/e{events}-g{groups}/ (telltale.yaml, data/, filled.json). If the
// marker filled.json is missing or names other parameters (or -refill is
// given), it starts `telltale serve` on a fresh data directory and sends
// sentryload's events (bench/sentryload/load: about 6 500 bytes each, event i
// in group i mod -groups) flat out over -conns connections until the server
// has accepted -events of them, printing progress every -progress, then stops
// it with SIGTERM and writes the marker. Later runs reuse the store.
//
// Then it starts telltale again on the filled store and reports the time to
// /readyz and the RSS once ready; reads the admin token from
// data/admin-token; sends each request -warmup times, then -n times timed
// one after the other, and prints p50/p90/p99/max per request with the
// X-Hits total; pages through every issue (limit=100) and checks that there
// is one issue per group and that the counts sum to the events accepted;
// captures a CPU profile of any request over its target (-profile); prints
// the server's RSS and stops it.
//
// A list request passes when its p99 is under -list-target (50 ms); the other
// requests, and extra ones given with -req, are held against -page-target
// (100 ms), the server-time budget of a UI page. The run fails (exit 1) when
// the count check fails or a list request misses its target.
//
// See bench/README.md, section "Issue list"; `make bench-issues` and
// `make bench-issues-quick` build everything and run it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/telltale-dev/telltale/bench/benchproc"
	"github.com/telltale-dev/telltale/bench/sentryload/load"
)

func main() { benchproc.Main("issuelist", run) }

// errUsage reports bad flags.
var errUsage = errors.New("issuelist: bad usage")

// errFailed reports a run whose server, fill, requests or checks failed.
var errFailed = errors.New("issuelist: run failed")

// The store's fixed parameters: the organization, project and key written
// to the config, and the event size and seed of the load.
const (
	orgSlug     = "main"
	projectSlug = "bench"
	projectID   = "1"
	projectKey  = "0123456789abcdef0123456789abcdef"
	eventSize   = 6500
	loadSeed    = 1
	markerFile  = "filled.json"
)

// request is one API request to time; in Path, {issue} is replaced by the
// id of the first issue of the default list, {now} and {start1h} by the Unix
// seconds of now and an hour ago.
type request struct {
	Name string `json:"name"`
	Path string `json:"path"`
	List bool   `json:"list"` // held against -list-target, else -page-target
}

// config holds the flags.
type config struct {
	Bin            string        `json:"bin"`
	Data           string        `json:"data"`
	Events         int64         `json:"events"`
	Groups         int           `json:"groups"`
	Quick          bool          `json:"quick"`
	Refill         bool          `json:"refill"`
	Conns          int           `json:"conns"`
	Progress       time.Duration `json:"progress"`
	N              int           `json:"n"`
	Warmup         int           `json:"warmup"`
	Search         string        `json:"search"`
	ListTarget     time.Duration `json:"list_target"`
	PageTarget     time.Duration `json:"page_target"`
	Extra          []request     `json:"extra,omitempty"`
	Profile        bool          `json:"profile"`
	ProfileSeconds int           `json:"profile_seconds"`
	ReadyTimeout   time.Duration `json:"ready_timeout"`
	Out            string        `json:"-"`
	LogDir         string        `json:"-"`
	Timeout        time.Duration `json:"-"`
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("issuelist", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Bin, "bin", "bin/telltale", "Telltale binary")
	fs.StringVar(&c.Data, "data", "bench/out/issuelist-data", "cache `dir` of filled stores, one subdirectory per -events and -groups")
	fs.Int64Var(&c.Events, "events", 1_000_000, "events the store holds (accepted by the server)")
	fs.IntVar(&c.Groups, "groups", 10_000, "distinct groups (issues)")
	fs.BoolVar(&c.Quick, "quick", false, "-events 100000 unless given explicitly")
	fs.BoolVar(&c.Refill, "refill", false, "fill the store again even if it is marked filled")
	fs.IntVar(&c.Conns, "conns", 8, "connections of the fill")
	fs.DurationVar(&c.Progress, "progress", 5*time.Second, "interval of the fill's progress lines")
	fs.IntVar(&c.N, "n", 200, "timed repetitions of each request")
	fs.IntVar(&c.Warmup, "warmup", 20, "untimed repetitions of each request before the timed ones")
	fs.StringVar(&c.Search, "search", "payment", "free text of the text search request (matches about 1 group in 24)")
	fs.DurationVar(&c.ListTarget, "list-target", 50*time.Millisecond, "p99 target of the list requests")
	fs.DurationVar(&c.PageTarget, "page-target", 100*time.Millisecond, "p99 target of the other requests (a UI page's server time)")
	fs.Func("req", "extra request `name=/path?query` ({issue}: an issue id), held against -page-target; repeatable", func(s string) error {
		r, err := parseRequest(s)
		if err == nil {
			c.Extra = append(c.Extra, r)
		}
		return err
	})
	fs.BoolVar(&c.Profile, "profile", true, "capture a CPU profile of each request over its target")
	fs.IntVar(&c.ProfileSeconds, "profile-seconds", 5, "length of each CPU profile")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", 5*time.Minute, "longest wait for /readyz")
	fs.StringVar(&c.Out, "out", "bench/out/issuelist.json", "JSON report file; profiles go beside it")
	fs.StringVar(&c.LogDir, "log-dir", "bench/out/logs", "directory for Telltale's output")
	fs.DurationVar(&c.Timeout, "timeout", 45*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if c.Quick {
		set := false
		fs.Visit(func(f *flag.Flag) { set = set || f.Name == "events" })
		if !set {
			c.Events = 100_000
		}
	}
	if c.Events < 1 || c.Groups < 1 || c.Conns < 1 || c.N < 1 || c.Warmup < 0 || c.Progress <= 0 || c.ProfileSeconds < 1 {
		return c, fmt.Errorf("%w: -events, -groups, -conns, -n, -progress and -profile-seconds must be positive, -warmup not negative", errUsage)
	}
	return c, nil
}

// parseRequest parses a -req value, name=/path.
func parseRequest(s string) (request, error) {
	name, path, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" || !strings.HasPrefix(path, "/") {
		return request{}, fmt.Errorf("%w: -req %q: want name=/path", errUsage, s)
	}
	return request{Name: name, Path: path}, nil
}

// fillMarker is filled.json: what the store holds, written once the fill
// ended and the server stopped.
type fillMarker struct {
	Events        int64     `json:"events"` // the -events asked for
	Groups        int       `json:"groups"`
	Size          int       `json:"size"`
	Seed          uint64    `json:"seed"`
	Sent          int64     `json:"sent"`
	Accepted      int64     `json:"accepted"`         // answered 200
	Issues        int       `json:"issues"`           // groups with an accepted event
	Seconds       float64   `json:"seconds"`          // of sending
	EventsPerSec  float64   `json:"events_per_sec"`   // accepted
	CleanShutdown bool      `json:"clean_shutdown"`   // telltale exited 0 after SIGTERM
	Finished      time.Time `json:"finished"`         // UTC
	Commit        string    `json:"commit,omitempty"` // git describe of the tree when filled
}

// matches reports whether m describes a finished store for c.
func (m *fillMarker) matches(c *config) bool {
	return m.Events == c.Events && m.Groups == c.Groups && m.Size == eventSize && m.Seed == loadSeed && m.Accepted >= c.Events
}

// storeDir is the directory of the store for c's parameters.
func storeDir(c *config) string {
	return filepath.Join(c.Data, fmt.Sprintf("e%d-g%d", c.Events, c.Groups))
}

// stats are the quantiles of one request's timed repetitions, in ms.
type stats struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// percentile returns the nearest-rank q-quantile of sorted, which must not
// be empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// summarize returns the stats of ds (sorting it).
func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return stats{
		N: len(ds), P50Ms: ms(percentile(ds, 0.5)), P90Ms: ms(percentile(ds, 0.9)),
		P99Ms: ms(percentile(ds, 0.99)), MaxMs: ms(ds[len(ds)-1]), MeanMs: ms(sum / time.Duration(len(ds))),
	}
}

// result is one request's measurement.
type result struct {
	request
	URLPath  string  `json:"url_path"` // Path with {issue} replaced
	Hits     string  `json:"x_hits,omitempty"`
	Bytes    int     `json:"bytes"`
	Stats    stats   `json:"stats"`
	TargetMs float64 `json:"target_ms"`
	// Over counts the timed requests slower than the target; SlowestAt is
	// when the slowest was sent, to find it in the server's log.
	Over      int       `json:"over_target"`
	SlowestAt time.Time `json:"slowest_at"`
	Met       bool      `json:"met"`
	Profile   string    `json:"profile,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// countCheck is the check of every issue's count against the fill.
type countCheck struct {
	Issues       int     `json:"issues"`
	WantIssues   int     `json:"want_issues"`
	CountSum     int64   `json:"count_sum"`
	WantCountSum int64   `json:"want_count_sum"` // events accepted by the fill
	Pages        int     `json:"pages"`
	Seconds      float64 `json:"seconds"`
	Passed       bool    `json:"passed"`
	Error        string  `json:"error,omitempty"`
}

// report is the JSON document written to -out.
type report struct {
	Started      time.Time  `json:"started"`
	Finished     time.Time  `json:"finished"`
	Config       config     `json:"config"`
	LoadAvg      string     `json:"loadavg"` // before the timed requests
	Store        string     `json:"store"`
	Fill         fillMarker `json:"fill"`
	Filled       bool       `json:"filled_now"` // this run filled the store
	DiskBytes    int64      `json:"disk_bytes"`
	ReadySeconds float64    `json:"ready_seconds"`
	ReadyRSS     int64      `json:"ready_rss_bytes"`
	EndRSS       int64      `json:"end_rss_bytes"`
	PeakRSS      int64      `json:"peak_rss_bytes"` // VmHWM at the end
	Issue        string     `json:"issue"`          // the issue of the detail requests
	Results      []result   `json:"results"`
	Check        countCheck `json:"check"`
	ListMet      bool       `json:"list_target_met"`
	Error        string     `json:"error,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	if _, err := os.Stat(c.Bin); err != nil {
		return fmt.Errorf("%w: %v (run `make bench-issues`, or pass -bin)", errUsage, err)
	}
	for _, dir := range []string{c.LogDir, filepath.Dir(c.Out), c.Data} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
	}
	rep := report{Started: time.Now().UTC(), Config: c, Store: storeDir(&c)}
	runErr := measure(ctx, &c, &rep, logf)
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	rep.Finished = time.Now().UTC()
	if len(rep.Results) > 0 {
		writeTable(stdout, &rep)
	}
	if err := writeJSON(c.Out, &rep); err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stdout, "\nJSON report: %s; logs: %s\n", c.Out, c.LogDir)
	return runErr
}

// measure fills the store if needed, then serves it and times the requests.
func measure(ctx context.Context, c *config, rep *report, logf func(string, ...any)) error {
	dir := storeDir(c)
	m, ok := readMarker(dir)
	if ok && m.matches(c) && !c.Refill {
		logf("store %s: filled %s with %d events in %d issues (%.0f events/s), commit %s", dir, m.Finished.Format(time.RFC3339), m.Accepted, m.Issues, m.EventsPerSec, m.Commit)
	} else {
		var err error
		if m, err = fill(ctx, c, dir, logf); err != nil {
			return err
		}
		rep.Filled = true
	}
	rep.Fill = m
	rep.DiskBytes = benchproc.DirBytes(filepath.Join(dir, "data"))

	logf("telltale: starting on %s (%.2f GB on disk)", dir, float64(rep.DiskBytes)/1e9)
	srv, ready, err := startServer(ctx, c, dir, "issuelist-telltale.log")
	if err != nil {
		return fmt.Errorf("%w: %v (a store filled by an older build may not open: try -refill)", errFailed, err)
	}
	defer stopServer(srv, 2*time.Minute)
	rep.ReadySeconds = ready.Seconds()
	if st, err := benchproc.Read(srv.Pid()); err == nil {
		rep.ReadyRSS = st.RSS
	}
	logf("telltale: ready in %v, RSS %.1f MB", ready.Round(time.Millisecond), float64(rep.ReadyRSS)/1e6)

	rep.LoadAvg = benchproc.LoadAvg()
	var failed []string
	if err := timeRequests(ctx, c, srv, rep, logf); err != nil {
		return fmt.Errorf("%w: %v", errFailed, err)
	}
	rep.ListMet = true
	for _, r := range rep.Results {
		if r.Error != "" {
			failed = append(failed, r.Name+": "+r.Error)
		}
		if r.List && !r.Met {
			rep.ListMet = false
		}
	}
	if !rep.ListMet {
		failed = append(failed, fmt.Sprintf("a list request's p99 is over %v", c.ListTarget))
	}

	rep.Check = checkCounts(ctx, srv, &m)
	logf("check: %d issues (want %d), counts sum %d (want %d) over %d pages in %.1fs: %s",
		rep.Check.Issues, rep.Check.WantIssues, rep.Check.CountSum, rep.Check.WantCountSum, rep.Check.Pages, rep.Check.Seconds, passFail(rep.Check.Passed))
	if !rep.Check.Passed {
		failed = append(failed, "count check: "+orDefault(rep.Check.Error, "counts differ"))
	}

	if c.Profile {
		for i := range rep.Results {
			r := &rep.Results[i]
			if r.Met || r.Error != "" || ctx.Err() != nil {
				continue
			}
			path := filepath.Join(filepath.Dir(c.Out), "issuelist-"+slug(r.Name)+".prof")
			logf("profile: %s is over its target: %ds CPU profile while repeating it", r.Name, c.ProfileSeconds)
			if err := profile(ctx, srv, r.URLPath, c.ProfileSeconds, path); err != nil {
				logf("profile: %v", err)
				continue
			}
			r.Profile = path
		}
	}

	if err := srv.Alive(); err != nil {
		return fmt.Errorf("%w: %v", errFailed, err)
	}
	if st, err := benchproc.Read(srv.Pid()); err == nil {
		rep.EndRSS, rep.PeakRSS = st.RSS, st.HWM
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: %s", errFailed, strings.Join(failed, "; "))
	}
	return nil
}

// orDefault returns a, or b when a is empty.
func orDefault(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// readMarker reads dir's filled.json.
func readMarker(dir string) (fillMarker, bool) {
	var m fillMarker
	b, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		return m, false
	}
	return m, json.Unmarshal(b, &m) == nil
}

// configYAML is Telltale's config for the store (DESIGN.md §2.2): one
// unlimited project, no API token (so the server makes the admin token in
// the data directory), and events kept for a year so that a cached store
// does not expire.
func configYAML() string {
	return fmt.Sprintf(`organization: %s
projects:
  - { id: %s, slug: %s, platform: go, keys: [%q], rate_limit: 0 }
retention:
  events: 8760h
`, orgSlug, projectID, projectSlug, projectKey)
}

// server is the running Telltale.
type server struct {
	*benchproc.Telltale
	token string
}

// startServer starts `telltale serve` on dir (config dir/telltale.yaml,
// data dir/data), waits for /readyz and reads the admin token.
func startServer(ctx context.Context, c *config, dir, logName string) (*server, time.Duration, error) {
	t, ready, err := benchproc.StartTelltale(ctx, c.Bin, dir, nil, filepath.Join(c.LogDir, logName), c.ReadyTimeout)
	if err != nil {
		return nil, 0, err
	}
	s := &server{Telltale: t}
	b, err := os.ReadFile(filepath.Join(t.DataDir, "admin-token"))
	if err != nil {
		s.Stop()
		return nil, 0, fmt.Errorf("admin token: %w", err)
	}
	s.token = strings.TrimSpace(string(b))
	return s, ready, nil
}

// stopServer sends SIGTERM and waits up to wait for the server to exit
// (benchproc's Stop kills after 15 s, short for closing a big store), then
// reports whether it exited 0.
func stopServer(s *server, wait time.Duration) bool {
	if s.Alive() == nil {
		s.Cmd.Process.Signal(syscall.SIGTERM)
		for deadline := time.Now().Add(wait); s.Alive() == nil && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
	}
	s.Stop()
	return s.Cmd.ProcessState != nil && s.Cmd.ProcessState.Success()
}

// fill makes a fresh store in dir and sends events until -events are
// accepted, then stops the server and writes the marker.
func fill(ctx context.Context, c *config, dir string, logf func(string, ...any)) (fillMarker, error) {
	m := fillMarker{Events: c.Events, Groups: c.Groups, Size: eventSize, Seed: loadSeed, Commit: gitHead(ctx)}
	// The marker goes first, so that a fill cut short is never taken for a
	// finished one; the data of a previous attempt goes too.
	if err := os.Remove(filepath.Join(dir, markerFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return m, err
	}
	if err := os.RemoveAll(filepath.Join(dir, "data")); err != nil {
		return m, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return m, err
	}
	if err := os.WriteFile(filepath.Join(dir, "telltale.yaml"), []byte(configYAML()), 0o644); err != nil {
		return m, err
	}
	logf("fill: %d events in %d groups into %s over %d connections, flat out", c.Events, c.Groups, dir, c.Conns)
	srv, _, err := startServer(ctx, c, dir, "issuelist-fill-telltale.log")
	if err != nil {
		return m, fmt.Errorf("%w: fill: %v", errFailed, err)
	}
	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(progressStopped)
		fillProgress(srv, c, start, progressDone, logf)
	}()
	groupAccepted := make([]int64, c.Groups)
	var first uint64
	var runErr error
	for m.Accepted < c.Events {
		if runErr = ctx.Err(); runErr != nil {
			break
		}
		want := c.Events - m.Accepted
		sum, err := load.Run(ctx, load.Config{
			GenConfig:     load.GenConfig{Groups: c.Groups, Size: eventSize, Seed: loadSeed},
			URL:           srv.URL,
			Project:       projectID,
			Key:           projectKey,
			Conns:         c.Conns,
			Events:        want,
			First:         first,
			MaxRetryAfter: 5 * time.Second,
		})
		if err != nil {
			runErr = err
			break
		}
		first += uint64(sum.Sent)
		m.Sent += sum.Sent
		m.Accepted += sum.Accepted
		for g, n := range sum.GroupAccepted {
			groupAccepted[g] += n
		}
		if err := srv.Alive(); err != nil {
			runErr = err
			break
		}
		if sum.Accepted < want && ctx.Err() == nil {
			logf("fill: %d of %d events not accepted (statuses %v, first error %q)", want-sum.Accepted, want, sum.Statuses, sum.FirstError)
			if sum.Accepted == 0 {
				runErr = errors.New("no event accepted")
				break
			}
		}
	}
	m.Seconds = time.Since(start).Seconds()
	close(progressDone)
	<-progressStopped
	if m.Seconds > 0 {
		m.EventsPerSec = float64(m.Accepted) / m.Seconds
	}
	for _, n := range groupAccepted {
		if n > 0 {
			m.Issues++
		}
	}
	logf("fill: %d events accepted of %d sent in %.0fs (%.0f events/s); stopping telltale", m.Accepted, m.Sent, m.Seconds, m.EventsPerSec)
	m.CleanShutdown = stopServer(srv, 5*time.Minute)
	if runErr != nil {
		return m, fmt.Errorf("%w: fill: %v", errFailed, runErr)
	}
	if !m.CleanShutdown {
		logf("fill: telltale did not exit 0 after SIGTERM (see %s); acknowledged events are durable, and the count check will tell", srv.Log.Name())
	}
	m.Finished = time.Now().UTC()
	b, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return m, err
	}
	return m, os.WriteFile(filepath.Join(dir, markerFile), append(b, '\n'), 0o644)
}

// fillProgress prints a progress line every c.Progress until done: events
// accepted (the server's 200 answers to envelopes, from /metrics), the rate
// over the last interval and overall, the time left, and the server's RSS.
func fillProgress(srv *server, c *config, start time.Time, done <-chan struct{}, logf func(string, ...any)) {
	t := time.NewTicker(c.Progress)
	defer t.Stop()
	var last float64
	lastAt := start
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			var rss int64
			if st, err := benchproc.Read(srv.Pid()); err == nil {
				rss = st.RSS
			}
			accepted, err := acceptedEvents(srv)
			if err != nil {
				logf("fill: %v elapsed, server RSS %.0f MB (no progress: %v)", now.Sub(start).Round(time.Second), float64(rss)/1e6, err)
				continue
			}
			avg := accepted / now.Sub(start).Seconds()
			eta := "?"
			if avg > 0 {
				eta = (time.Duration((float64(c.Events)-accepted)/avg) * time.Second).Round(time.Second).String()
			}
			logf("fill: %.0f/%d events (%.1f%%), %.0f events/s now, %.0f average, ETA %s, server RSS %.0f MB",
				accepted, c.Events, 100*accepted/float64(c.Events), (accepted-last)/now.Sub(lastAt).Seconds(), avg, eta, float64(rss)/1e6)
			last, lastAt = accepted, now
		}
	}
}

// acceptedEvents reads the envelopes answered 200 from the server's
// /metrics.
func acceptedEvents(srv *server) (float64, error) {
	resp, err := srv.Client.Get(srv.URL + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	return metricSum(body, "telltale_sentry_requests_total", `code="200"`)
}

// metricSum sums the samples of metric name in a Prometheus text
// exposition that have label (e.g. `code="200"`; "" for all).
func metricSum(exposition []byte, name, label string) (float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(exposition))
	if err != nil {
		return 0, fmt.Errorf("/metrics: %w", err)
	}
	lname, lvalue, _ := strings.Cut(label, "=")
	lvalue = strings.Trim(lvalue, `"`)
	var sum float64
	found := false
	for _, m := range fams[name].GetMetric() {
		if label != "" && !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == lname && l.GetValue() == lvalue }) {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		default:
			sum += m.GetUntyped().GetValue()
		}
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s{%s} in /metrics", name, label)
	}
	return sum, nil
}

// answer is one response.
type answer struct {
	status int
	header http.Header
	body   []byte
	took   time.Duration // from sending the request to reading the body
}

// get sends GET srv.URL+path with the admin token.
func get(ctx context.Context, srv *server, path string) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+srv.token)
	start := time.Now()
	resp, err := srv.Client.Do(req)
	if err != nil {
		return answer{}, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header, body: body, took: time.Since(start)}
	if err == nil && a.status != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	return a, err
}

// Paths of the lists.
const (
	orgIssues     = "/api/0/organizations/" + orgSlug + "/issues/"
	projectIssues = "/api/0/projects/" + orgSlug + "/" + projectSlug + "/issues/"
)

// requests returns the requests to time; page5 is the cursor of page 5 of
// the default list.
func requests(c *config, page5 string) []request {
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "?" + v.Encode()
	}
	rs := []request{
		{Name: "org list (sort=date, limit=25)", Path: orgIssues, List: true},
		{Name: "org list sort=freq", Path: orgIssues + q("sort", "freq"), List: true},
		{Name: "org list sort=new", Path: orgIssues + q("sort", "new"), List: true},
		{Name: "org list sort=user", Path: orgIssues + q("sort", "user"), List: true},
		{Name: "query=is:unresolved level:error", Path: orgIssues + q("query", "is:unresolved level:error"), List: true},
		{Name: "text search " + strconv.Quote(c.Search), Path: orgIssues + q("query", c.Search), List: true},
		{Name: "page 5 (Link cursor)", Path: orgIssues + q("cursor", page5), List: true},
		{Name: "project list", Path: projectIssues, List: true},
		{Name: "issue detail", Path: "/api/0/issues/{issue}/"},
		{Name: "issue events", Path: "/api/0/issues/{issue}/events/"},
		{Name: "latest event", Path: "/api/0/issues/{issue}/events/latest/"},
		// The other requests of the web UI's pages (the issue list page
		// makes the list requests above, the issue page the three above).
		{Name: "UI shell /", Path: "/"},
		{Name: "UI issue page: tags", Path: "/api/0/issues/{issue}/tags/"},
		{Name: "UI projects page", Path: "/api/0/organizations/" + orgSlug + "/projects/"},
		{Name: "UI metrics: names", Path: "/api/v1/label/__name__/values"},
		{Name: "UI metrics: series", Path: "/api/v1/series" + q("match[]", "telltale_sentry_requests_total")},
		{Name: "UI metrics: 1h chart", Path: "/api/v1/query_range" + q("query", "sum by (code) (rate(telltale_sentry_requests_total[5m]))", "start", "{start1h}", "end", "{now}", "step", "14")},
	}
	return append(rs, c.Extra...)
}

// timeRequests finds the issue and the page-5 cursor, then times every
// request.
func timeRequests(ctx context.Context, c *config, srv *server, rep *report, logf func(string, ...any)) error {
	a, err := get(ctx, srv, orgIssues)
	if err != nil {
		return err
	}
	var top []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(a.body, &top); err != nil || len(top) == 0 {
		return fmt.Errorf("GET %s: no issue (%v): %.200s", orgIssues, err, a.body)
	}
	rep.Issue = top[0].ID
	cursor := ""
	for page := 1; page < 5; page++ {
		next, ok := benchproc.NextCursor(a.header.Values("Link"))
		if !ok {
			return fmt.Errorf("GET %s: no page %d in the Link header %q", orgIssues, page+1, a.header.Values("Link"))
		}
		cursor = next
		if page < 4 {
			if a, err = get(ctx, srv, orgIssues+"?cursor="+url.QueryEscape(cursor)); err != nil {
				return err
			}
		}
	}
	for _, rq := range requests(c, cursor) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := time.Now().Unix()
		nowS, hourAgo := strconv.FormatInt(now, 10), strconv.FormatInt(now-3600, 10)
		// The placeholders may stand in a query string, escaped.
		path := strings.NewReplacer("{issue}", rep.Issue, "{now}", nowS, "%7Bnow%7D", nowS, "{start1h}", hourAgo, "%7Bstart1h%7D", hourAgo).Replace(rq.Path)
		r := timeOne(ctx, c, srv, rq, path)
		rep.Results = append(rep.Results, r)
		logf("%-32s hits %-6s %7d B  p50 %7.2f  p90 %7.2f  p99 %7.2f  max %7.2f ms  %s%s",
			r.Name, orDefault(r.Hits, "-"), r.Bytes, r.Stats.P50Ms, r.Stats.P90Ms, r.Stats.P99Ms, r.Stats.MaxMs, passFail(r.Met), errSuffix(r.Error))
	}
	return nil
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ": " + e
}

// timeOne sends path c.Warmup times, then c.N times timed.
func timeOne(ctx context.Context, c *config, srv *server, rq request, path string) result {
	target := c.PageTarget
	if rq.List {
		target = c.ListTarget
	}
	r := result{request: rq, URLPath: path, TargetMs: float64(target) / 1e6}
	for range c.Warmup {
		if _, err := get(ctx, srv, path); err != nil {
			r.Error = err.Error()
			return r
		}
	}
	took := make([]time.Duration, 0, c.N)
	var slowest time.Duration
	for range c.N {
		a, err := get(ctx, srv, path)
		if err != nil {
			r.Error = err.Error()
			break
		}
		took = append(took, a.took)
		r.Bytes, r.Hits = len(a.body), a.header.Get("X-Hits")
		if a.took > target {
			r.Over++
		}
		if a.took > slowest {
			slowest, r.SlowestAt = a.took, time.Now().Add(-a.took).UTC()
		}
	}
	r.Stats = summarize(took)
	r.Met = r.Error == "" && r.Stats.P99Ms < r.TargetMs
	return r
}

// checkCounts pages through every issue of the project (all statuses,
// limit=100, following the Link header) and compares them with the fill.
func checkCounts(ctx context.Context, srv *server, m *fillMarker) (v countCheck) {
	v = countCheck{WantIssues: m.Issues, WantCountSum: m.Accepted}
	start := time.Now()
	defer func() { v.Seconds = time.Since(start).Seconds() }()
	seen := make(map[string]bool)
	cursor := ""
	for {
		path := projectIssues + "?query=&limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		a, err := get(ctx, srv, path)
		if err != nil {
			v.Error = err.Error()
			return v
		}
		v.Pages++
		var page []struct {
			ID    string `json:"id"`
			Count string `json:"count"` // a string, as in Sentry
		}
		if err := json.Unmarshal(a.body, &page); err != nil {
			v.Error = fmt.Sprintf("GET %s: %v", path, err)
			return v
		}
		for _, is := range page {
			n, err := strconv.ParseInt(is.Count, 10, 64)
			if err != nil {
				v.Error = fmt.Sprintf("issue %s: count %q", is.ID, is.Count)
				return v
			}
			v.Issues++
			v.CountSum += n
		}
		next, more := benchproc.NextCursor(a.header.Values("Link"))
		if !more {
			break
		}
		if seen[next] {
			v.Error = fmt.Sprintf("cursor %q repeats", next)
			return v
		}
		seen[next] = true
		cursor = next
	}
	v.Passed = v.Issues == v.WantIssues && v.CountSum == v.WantCountSum
	return v
}

// profile fetches a CPU profile of seconds from /debug/pprof/profile into
// file while repeating GET path.
func profile(ctx context.Context, srv *server, path string, seconds int, file string) error {
	type res struct {
		body []byte
		err  error
	}
	ch := make(chan res, 1)
	go func() {
		resp, err := srv.Client.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", srv.URL, seconds))
		if err != nil {
			ch <- res{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("pprof: %s: %.200s", resp.Status, b)
		}
		ch <- res{b, err}
	}()
	for {
		select {
		case r := <-ch:
			if r.err != nil {
				return r.err
			}
			return os.WriteFile(file, r.body, 0o644)
		default:
		}
		if _, err := get(ctx, srv, path); err != nil {
			return err
		}
	}
}

// slug turns a request name into a file name part.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// writeTable prints the report for people.
func writeTable(w io.Writer, rep *report) {
	c := &rep.Config
	filled := "cached"
	if rep.Filled {
		filled = "filled now"
	}
	fmt.Fprintf(w, "\nIssue list over %d events in %d issues (%s, %s %s at %.0f events/s, %.2f GB on disk)\n",
		rep.Fill.Accepted, rep.Fill.Issues, rep.Store, filled, rep.Fill.Finished.Format("2006-01-02 15:04"), rep.Fill.EventsPerSec, float64(rep.DiskBytes)/1e9)
	fmt.Fprintf(w, "telltale ready in %.3fs, RSS %.1f MB once ready, %.1f MB at the end (peak %.1f MB); load average %s\n",
		rep.ReadySeconds, float64(rep.ReadyRSS)/1e6, float64(rep.EndRSS)/1e6, float64(rep.PeakRSS)/1e6, rep.LoadAvg)
	fmt.Fprintf(w, "each request %d times after %d untimed, one at a time, over keep-alive HTTP/1.1; issue %s for the detail requests\n\n", c.N, c.Warmup, rep.Issue)
	writeRows(w, rep.Results)
	fmt.Fprintln(w)
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.Name, r.Error)
		}
		if r.Profile != "" {
			fmt.Fprintf(w, "%s: CPU profile %s (go tool pprof -top %s %s)\n", r.Name, r.Profile, c.Bin, r.Profile)
		}
	}
	v := &rep.Check
	fmt.Fprintf(w, "issue counts: %d issues (want %d), counts sum %d (want %d, the events accepted): %s%s\n",
		v.Issues, v.WantIssues, v.CountSum, v.WantCountSum, passFail(v.Passed), errSuffix(v.Error))
	fmt.Fprintf(w, "p99 under %v on every list request: %s\n", c.ListTarget, passFail(rep.ListMet))
}

// writeRows prints one line per result under a header, names left-aligned
// and figures right-aligned; "over" counts the requests slower than the
// target.
func writeRows(w io.Writer, results []result) {
	width := len("request")
	for _, r := range results {
		width = max(width, len(r.Name))
	}
	fmt.Fprintf(w, "%-*s  %7s  %8s  %8s  %8s  %8s  %8s  %7s  %6s\n", width, "request", "X-Hits", "bytes", "p50 ms", "p90 ms", "p99 ms", "max ms", "target", "over")
	for _, r := range results {
		verdict := passFail(r.Met)
		if r.Error != "" {
			verdict = "ERROR"
		}
		fmt.Fprintf(w, "%-*s  %7s  %8d  %8.2f  %8.2f  %8.2f  %8.2f  %4.0f ms  %6d  %s\n",
			width, r.Name, orDefault(r.Hits, "-"), r.Bytes, r.Stats.P50Ms, r.Stats.P90Ms, r.Stats.P99Ms, r.Stats.MaxMs, r.TargetMs, r.Over, verdict)
	}
}

func writeJSON(path string, rep *report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// gitHead returns the short commit of the working tree, with "-dirty" if
// it has changes, or "".
func gitHead(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
