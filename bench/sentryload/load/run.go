package load

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Config is one run of the load.
type Config struct {
	GenConfig
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; the
	// envelope endpoint is URL/api/{Project}/envelope/.
	URL string
	// Project is the project id.
	Project string
	// Key is the project's public key, sent in X-Sentry-Auth.
	Key string
	// Gzip compresses each body (Content-Encoding: gzip; see
	// Generator.AppendGzip).
	Gzip bool
	// Conns is the number of connections, each a goroutine sending one
	// request at a time over its own keep-alive connection.
	Conns int
	// Rate is the target events/s over all connections; 0 sends flat out.
	// Each connection paces itself at Rate/Conns.
	Rate float64
	// Duration stops the run after this long; 0: no limit.
	Duration time.Duration
	// Events stops the run after this many events; 0: no limit. At least
	// one of Duration and Events must be set.
	Events int64
	// First is the index of the first event. Event ids and groups follow
	// the index: runs against the same server should use disjoint ranges,
	// or the server sees duplicate event ids.
	First uint64
	// Timeout bounds each request.
	Timeout time.Duration
	// MaxRetryAfter caps the back-off after a 429 (0: 60 s).
	MaxRetryAfter time.Duration
	// Started, when set, is called once the templates are built, just
	// before the first request.
	Started func()
}

// Summary is the result of a run, printed as JSON by bench/sentryload.
type Summary struct {
	URL        string  `json:"url"`
	Conns      int     `json:"conns"`
	Gzip       bool    `json:"gzip"`
	Groups     int     `json:"groups"`
	Seed       uint64  `json:"seed"`
	First      uint64  `json:"first"`
	TargetRate float64 `json:"target_rate"`
	// Sent counts requests that got an answer or failed (errors included).
	Sent     int64 `json:"sent"`
	Accepted int64 `json:"accepted"` // status 200
	// Status counts: 200, 429, other 4xx, 5xx, anything else; Errors are
	// requests without an HTTP answer (connection refused or reset,
	// timeouts).
	Status200   int64            `json:"status_200"`
	Status429   int64            `json:"status_429"`
	Status4xx   int64            `json:"status_4xx"`
	Status5xx   int64            `json:"status_5xx"`
	StatusOther int64            `json:"status_other"`
	Errors      int64            `json:"errors"`
	Statuses    map[string]int64 `json:"statuses"`
	FirstError  string           `json:"first_error,omitempty"`
	// BadIDs counts 200 answers whose body does not carry the event's id.
	BadIDs int64 `json:"bad_ids"`
	// Backoffs counts the 429s honoured by sleeping the connection for
	// their Retry-After (or X-Sentry-Rate-Limits); BackoffSeconds is the
	// total sleep over all connections.
	Backoffs       int64   `json:"backoffs"`
	BackoffSeconds float64 `json:"backoff_seconds"`
	Seconds        float64 `json:"seconds"`
	// EventsPerSec is accepted events per second; SentPerSec all requests.
	EventsPerSec float64 `json:"events_per_sec"`
	SentPerSec   float64 `json:"sent_per_sec"`
	// Latency of accepted (200) requests, from writing the request to
	// reading the whole answer, in milliseconds.
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
	// EventBytes is the mean size of the event item payloads; BodyBytes the
	// mean request body on the wire (compressed with Gzip).
	EventBytes float64 `json:"event_bytes"`
	BodyBytes  float64 `json:"body_bytes"`
	// GroupsAccepted is the number of groups with at least one accepted
	// event; GroupAccepted the accepted events of each group.
	GroupsAccepted int     `json:"groups_accepted"`
	GroupAccepted  []int64 `json:"group_accepted"`
	// CPUSeconds is this process's user+system CPU time during the run.
	CPUSeconds float64 `json:"cpu_seconds"`
	Error      string  `json:"error,omitempty"`
}

// Human returns a one-line summary for people.
func (s *Summary) Human() string {
	return fmt.Sprintf("sent %d, accepted %d (%.1f events/s over %.1fs), latency p50 %.2f ms p99 %.2f ms max %.2f ms; 200:%d 429:%d 4xx:%d 5xx:%d other:%d errors:%d; backoff %d× %.1fs; %d groups accepted; event %.0f B, body %.0f B",
		s.Sent, s.Accepted, s.EventsPerSec, s.Seconds, s.P50Ms, s.P99Ms, s.MaxMs,
		s.Status200, s.Status429, s.Status4xx, s.Status5xx, s.StatusOther, s.Errors,
		s.Backoffs, s.BackoffSeconds, s.GroupsAccepted, s.EventBytes, s.BodyBytes)
}

// defaultRetryAfter is what SDKs assume for a 429 with neither header.
const defaultRetryAfter = 60 * time.Second

func (c *Config) check() error {
	if c.Conns < 1 {
		return fmt.Errorf("%w: conns must be at least 1", ErrConfig)
	}
	if c.Rate < 0 || c.Duration < 0 || c.Events < 0 {
		return fmt.Errorf("%w: rate, duration and events must not be negative", ErrConfig)
	}
	if c.Duration == 0 && c.Events == 0 {
		return fmt.Errorf("%w: set a duration or a number of events", ErrConfig)
	}
	if c.Project == "" || c.Key == "" {
		return fmt.Errorf("%w: project and key are required", ErrConfig)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxRetryAfter <= 0 {
		c.MaxRetryAfter = defaultRetryAfter
	}
	return nil
}

// conn is one connection's state and counts.
type conn struct {
	client   *fasthttp.HostClient
	hist     Histogram
	groups   []int64
	statuses map[int]int64
	sent     int64
	errors   int64
	badIDs   int64
	backoffs int64
	backoff  time.Duration
	evBytes  int64
	wire     int64
	firstErr string
	last     time.Time
}

// Run sends the load described by cfg and returns its summary. It stops at
// the end of the duration, after the events, or when ctx is done (which is
// not an error).
func Run(ctx context.Context, cfg Config) (Summary, error) {
	if err := cfg.check(); err != nil {
		return Summary{}, err
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return Summary{}, fmt.Errorf("%w: bad url %q", ErrConfig, cfg.URL)
	}
	if cfg.DSN == "" {
		cfg.DSN = fmt.Sprintf("%s://%s@%s%s/%s", base.Scheme, cfg.Key, base.Host, base.Path, cfg.Project)
	}
	gen, err := NewGenerator(cfg.GenConfig)
	if err != nil {
		return Summary{}, err
	}
	endpoint := base.String() + "/api/" + cfg.Project + "/envelope/"
	auth := "Sentry sentry_version=7, sentry_client=sentry.go/0.50.0, sentry_key=" + cfg.Key
	addr := base.Host
	if base.Port() == "" {
		addr += map[string]string{"http": ":80", "https": ":443"}[base.Scheme]
	}

	conns := make([]*conn, cfg.Conns)
	for i := range conns {
		conns[i] = &conn{
			client: &fasthttp.HostClient{
				Addr:                addr,
				IsTLS:               base.Scheme == "https",
				MaxConns:            1,
				ReadTimeout:         cfg.Timeout,
				WriteTimeout:        cfg.Timeout,
				MaxIdleConnDuration: time.Minute,
				// Room for a whole request, so that it goes out in one write.
				WriteBufferSize: 32 << 10,
				Name:            "sentry.go/0.50.0",
			},
			groups:   make([]int64, gen.Groups()),
			statuses: make(map[int]int64),
		}
	}
	var next atomic.Uint64
	next.Store(cfg.First)
	limit := uint64(0)
	if cfg.Events > 0 {
		limit = cfg.First + uint64(cfg.Events)
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	cpu0 := cpuTime()
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			c.loop(ctx, &cfg, gen, endpoint, auth, &next, limit, start, deadline)
		})
	}
	wg.Wait()
	cpu := cpuTime() - cpu0

	s := Summary{
		URL: cfg.URL, Conns: cfg.Conns, Gzip: cfg.Gzip, Groups: gen.Groups(), Seed: cfg.Seed,
		First: cfg.First, TargetRate: cfg.Rate, Statuses: make(map[string]int64),
		GroupAccepted: make([]int64, gen.Groups()), CPUSeconds: cpu.Seconds(),
	}
	var hist Histogram
	var last time.Time
	var evBytes, wire int64
	for _, c := range conns {
		hist.Merge(&c.hist)
		s.Sent += c.sent
		s.Errors += c.errors
		s.BadIDs += c.badIDs
		s.Backoffs += c.backoffs
		s.BackoffSeconds += c.backoff.Seconds()
		evBytes += c.evBytes
		wire += c.wire
		if s.FirstError == "" {
			s.FirstError = c.firstErr
		}
		if c.last.After(last) {
			last = c.last
		}
		for g, n := range c.groups {
			s.GroupAccepted[g] += n
		}
		for code, n := range c.statuses {
			s.Statuses[strconv.Itoa(code)] += n
			switch {
			case code == 200:
				s.Status200 += n
			case code == 429:
				s.Status429 += n
			case code >= 400 && code < 500:
				s.Status4xx += n
			case code >= 500 && code < 600:
				s.Status5xx += n
			default:
				s.StatusOther += n
			}
		}
		c.client.CloseIdleConnections()
	}
	if s.Errors > 0 {
		s.Statuses["error"] = s.Errors
	}
	s.Accepted = s.Status200
	for _, n := range s.GroupAccepted {
		if n > 0 {
			s.GroupsAccepted++
		}
	}
	if last.Before(start) {
		last = time.Now()
	}
	s.Seconds = last.Sub(start).Seconds()
	if s.Seconds > 0 {
		s.EventsPerSec = float64(s.Accepted) / s.Seconds
		s.SentPerSec = float64(s.Sent) / s.Seconds
	}
	if s.Sent > 0 {
		s.EventBytes = float64(evBytes) / float64(s.Sent)
		s.BodyBytes = float64(wire) / float64(s.Sent)
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	s.P50Ms, s.P90Ms, s.P99Ms = ms(hist.Quantile(0.5)), ms(hist.Quantile(0.9)), ms(hist.Quantile(0.99))
	s.P999Ms, s.MaxMs, s.MeanMs = ms(hist.Quantile(0.999)), ms(hist.Max()), ms(hist.Mean())
	return s, nil
}

// loop is one connection: take the next event index, build, pace, send,
// count, and sleep after a 429 as an SDK does.
func (c *conn) loop(ctx context.Context, cfg *Config, gen *Generator, endpoint, auth string, next *atomic.Uint64, limit uint64, start, deadline time.Time) {
	defer func() { c.last = time.Now() }()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(endpoint)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", auth)
	if cfg.Gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	var raw, zbuf []byte
	b := newBucket(cfg.Rate/float64(cfg.Conns), start)
	done := ctx.Done()
	for {
		select {
		case <-done:
			return
		default:
		}
		if !deadline.IsZero() && !time.Now().Before(deadline) {
			return
		}
		if !b.take(ctx, deadline) {
			return
		}
		i := next.Add(1) - 1
		if limit > 0 && i >= limit {
			return
		}
		var group, size int
		body := raw
		if cfg.Gzip {
			zbuf, raw, group, size = gen.AppendGzip(zbuf[:0], raw[:0], i, time.Now())
			body = zbuf
		} else {
			raw, group, size = gen.Append(raw[:0], i, time.Now())
			body = raw
		}
		c.evBytes += int64(size)
		c.wire += int64(len(body))
		req.SetBodyRaw(body)
		t0 := time.Now()
		err := c.client.Do(req, resp)
		lat := time.Since(t0)
		c.sent++
		if err != nil {
			c.errors++
			if c.firstErr == "" {
				c.firstErr = err.Error()
			}
			// No hot loop against a dead server.
			if !sleepUntil(ctx, time.Now().Add(10*time.Millisecond), deadline) {
				return
			}
			continue
		}
		code := resp.StatusCode()
		c.statuses[code]++
		switch code {
		case http.StatusOK:
			c.hist.Record(lat)
			c.groups[group]++
			id := gen.EventID(i)
			if !bytes.Contains(resp.Body(), id[:]) {
				c.badIDs++
			}
		case http.StatusTooManyRequests:
			wait := min(retryAfter(resp, time.Now()), cfg.MaxRetryAfter)
			c.backoffs++
			c.backoff += wait
			if !sleepUntil(ctx, time.Now().Add(wait), deadline) {
				return
			}
			b.reset(time.Now())
		}
	}
}

// retryAfter returns how long an SDK stays away after a 429: the longest
// X-Sentry-Rate-Limits entry for all categories or "error", else
// Retry-After in seconds or as an HTTP date, else 60 s.
func retryAfter(resp *fasthttp.Response, now time.Time) time.Duration {
	if rl := string(resp.Header.Peek("X-Sentry-Rate-Limits")); rl != "" {
		var best time.Duration
		found := false
		for entry := range strings.SplitSeq(rl, ",") {
			fields := strings.Split(strings.TrimSpace(entry), ":")
			secs, err := strconv.ParseFloat(fields[0], 64)
			if err != nil || secs < 0 {
				continue
			}
			applies := len(fields) < 2 || fields[1] == ""
			if !applies {
				for cat := range strings.SplitSeq(fields[1], ";") {
					applies = applies || cat == "error" || cat == "default"
				}
			}
			if applies {
				found = true
				best = max(best, time.Duration(secs*float64(time.Second)))
			}
		}
		if found {
			return best
		}
	}
	return parseRetryAfter(string(resp.Header.Peek("Retry-After")), now)
}

// parseRetryAfter parses a Retry-After value: seconds or an HTTP date; ""
// or garbage means 60 s, as in the SDKs.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return defaultRetryAfter
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return defaultRetryAfter
}

// sleepUntil sleeps until t, or the deadline (if set), or ctx is done; it
// reports whether the caller should go on.
func sleepUntil(ctx context.Context, t, deadline time.Time) bool {
	if !deadline.IsZero() && t.After(deadline) {
		t = deadline
	}
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
	}
	return deadline.IsZero() || time.Now().Before(deadline)
}

// bucket paces one connection: a token bucket of events that holds at most
// 20 ms of tokens (and at least one), so a connection that fell behind does
// not catch up with a long burst.
type bucket struct {
	rate   float64 // events/s; 0 means no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: max(1, rate*0.020), tokens: 1, last: now}
}

// reset empties the bucket after a pause.
func (b *bucket) reset(now time.Time) { b.tokens, b.last = 0, now }

// take waits for one token; false when ctx is done or the deadline passed.
func (b *bucket) take(ctx context.Context, deadline time.Time) bool {
	if b.rate == 0 {
		return true
	}
	for {
		now := time.Now()
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			return true
		}
		wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		if !sleepUntil(ctx, now.Add(wait), deadline) {
			return false
		}
	}
}

// cpuTime returns this process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
