package load

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// parsedEvent is what the tests read back from an envelope.
type parsedEvent struct {
	headerID string
	item     map[string]any
	payload  []byte
	event    map[string]any
}

// parseEnvelope splits an envelope with one event item, checking the
// framing: a header line, an item header with type and length, the payload
// of exactly that length, then a newline or the end.
func parseEnvelope(t *testing.T, b []byte) parsedEvent {
	t.Helper()
	var pe parsedEvent
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		t.Fatalf("no envelope header line in %q", b)
	}
	var head map[string]any
	if err := json.Unmarshal(b[:nl], &head); err != nil {
		t.Fatalf("envelope header %q: %v", b[:nl], err)
	}
	pe.headerID, _ = head["event_id"].(string)
	rest := b[nl+1:]
	nl = bytes.IndexByte(rest, '\n')
	if nl < 0 {
		t.Fatal("no item header line")
	}
	if err := json.Unmarshal(rest[:nl], &pe.item); err != nil {
		t.Fatalf("item header %q: %v", rest[:nl], err)
	}
	if pe.item["type"] != "event" {
		t.Fatalf("item type %v, want event", pe.item["type"])
	}
	n := int(pe.item["length"].(float64))
	rest = rest[nl+1:]
	if len(rest) < n || (len(rest) > n && rest[n] != '\n') || len(rest) > n+1 {
		t.Fatalf("payload of %d bytes, item length %d", len(rest), n)
	}
	pe.payload = rest[:n]
	if err := json.Unmarshal(pe.payload, &pe.event); err != nil {
		t.Fatalf("event payload: %v\n%s", err, pe.payload)
	}
	return pe
}

// fingerprint approximates Sentry's default grouping (SENTRY-PROTOCOL.md
// §2.4): every exception's type, then the module and function of its
// in-app frames.
func fingerprint(t *testing.T, ev map[string]any) string {
	t.Helper()
	raw := ev["exception"]
	if m, ok := raw.(map[string]any); ok {
		raw = m["values"]
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		t.Fatalf("no exception list in %v", ev["exception"])
	}
	var parts []string
	for _, e := range list {
		e := e.(map[string]any)
		parts = append(parts, "type:"+e["type"].(string))
		if st, ok := e["stacktrace"].(map[string]any); ok {
			frames := st["frames"].([]any)
			if len(frames) != 20 {
				t.Fatalf("%d frames, want 20", len(frames))
			}
			for _, f := range frames {
				f := f.(map[string]any)
				for _, k := range []string{"function", "module", "abs_path", "lineno", "in_app"} {
					if _, ok := f[k]; !ok {
						t.Fatalf("frame without %s: %v", k, f)
					}
				}
				if f["in_app"] == true {
					parts = append(parts, f["module"].(string)+"."+f["function"].(string))
				}
			}
		}
	}
	return strings.Join(parts, "|")
}

func TestGeneratorEvents(t *testing.T) {
	const groups, size = 37, 6500
	g, err := NewGenerator(GenConfig{Groups: groups, Size: size, Seed: 7, DSN: "http://k@127.0.0.1/1"})
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool)
	fpGroup := make(map[string]int)
	arrays, values := 0, 0
	now := time.Date(2026, 11, 26, 1, 2, 3, 456789000, time.UTC)
	var buf []byte
	for i := range uint64(2000) {
		var group, n int
		buf, group, n = g.Append(buf[:0], i, now)
		pe := parseEnvelope(t, buf)
		if n != len(pe.payload) {
			t.Fatalf("Append said %d payload bytes, envelope has %d", n, len(pe.payload))
		}
		if d := math.Abs(float64(len(pe.payload)-size)) / size; d > 0.05 {
			t.Fatalf("event %d: %d bytes, want %d ± 5 %%", i, len(pe.payload), size)
		}
		id := pe.event["event_id"].(string)
		if id != pe.headerID || len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("event_id %q, header %q: want the same 32 hex digits", id, pe.headerID)
		}
		if ids[id] {
			t.Fatalf("event %d: duplicate id %s", i, id)
		}
		ids[id] = true
		if ts := pe.event["timestamp"]; ts != "2026-11-26T01:02:03.456789Z" {
			t.Fatalf("timestamp %v", ts)
		}
		for _, k := range []string{"tags", "user", "contexts", "breadcrumbs", "release", "environment", "level", "platform", "sdk"} {
			if _, ok := pe.event[k]; !ok {
				t.Fatalf("event without %s", k)
			}
		}
		if _, ok := pe.event["exception"].([]any); ok {
			arrays++
		} else {
			values++
		}
		fp := fingerprint(t, pe.event)
		if prev, ok := fpGroup[fp]; ok && prev != group {
			t.Fatalf("groups %d and %d share a fingerprint", prev, group)
		}
		fpGroup[fp] = group
	}
	if len(fpGroup) != groups {
		t.Errorf("%d distinct fingerprints, want %d", len(fpGroup), groups)
	}
	if arrays == 0 || values == 0 {
		t.Errorf("exception forms: %d arrays, %d {values}; want both with -exception mixed", arrays, values)
	}
	// The same seed gives the same events.
	g2, _ := NewGenerator(GenConfig{Groups: groups, Size: size, Seed: 7, DSN: "http://k@127.0.0.1/1"})
	a, _, _ := g.Append(nil, 123, now)
	b, _, _ := g2.Append(nil, 123, now)
	if !bytes.Equal(a, b) {
		t.Error("same seed, different envelopes")
	}
}

func TestGeneratorGzip(t *testing.T) {
	for _, size := range []int{6500, 70000} {
		g, err := NewGenerator(GenConfig{Groups: 7, Size: size, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for i := range uint64(50) {
			gz, env, _, _ := g.AppendGzip([]byte("junk"), []byte("x"), i, now)
			want, _, _ := g.Append(nil, i, now)
			if !bytes.Equal(env[1:], want) {
				t.Fatalf("AppendGzip's envelope differs from Append's")
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz[4:]))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("size %d event %d: inflate: %v", size, i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("size %d event %d: inflated %d bytes differ from the %d-byte envelope", size, i, len(got), len(want))
			}
			if i == 0 {
				t.Logf("size %d: gzip %d bytes for %d", size, len(gz)-4, len(want))
			}
			if len(gz)-4 > len(want)/2 {
				t.Errorf("size %d: %d bytes compressed from %d", size, len(gz)-4, len(want))
			}
		}
	}
}

func TestGeneratorManyGroups(t *testing.T) {
	// Past the word lists' product, names get a suffix and stay unique.
	g, err := NewGenerator(GenConfig{Groups: 1000, Size: 6500, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	var buf []byte
	for i := range uint64(1000) {
		buf, _, _ = g.Append(buf[:0], i, time.Now())
		fp := fingerprint(t, parseEnvelope(t, buf).event)
		if seen[fp] {
			t.Fatalf("event %d repeats a fingerprint", i)
		}
		seen[fp] = true
	}
}

// fakeIngest is an httptest envelope endpoint that decodes every request
// and answers 429 to some.
type fakeIngest struct {
	t          *testing.T
	wantGzip   bool
	every429   int
	mu         sync.Mutex
	n          int
	status429  int
	retryTotal time.Duration
	pausedTo   map[string]time.Time // remote address → earliest next request
	early      int                  // requests that came before their pause ended
	groups     map[string]bool
}

func (f *fakeIngest) fail(format string, a ...any) { f.t.Errorf(format, a...) }

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/42/envelope/" {
		f.fail("unexpected %s %s", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	auth := r.Header.Get("X-Sentry-Auth")
	if !strings.HasPrefix(auth, "Sentry ") || !strings.Contains(auth, "sentry_key=abcdef0123456789abcdef0123456789") || !strings.Contains(auth, "sentry_version=7") {
		f.fail("bad X-Sentry-Auth %q", auth)
	}
	var body io.Reader = r.Body
	if gz := r.Header.Get("Content-Encoding") == "gzip"; gz != f.wantGzip {
		f.fail("Content-Encoding %q, want gzip %v", r.Header.Get("Content-Encoding"), f.wantGzip)
	} else if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.fail("gzip: %v", err)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		f.fail("read: %v", err)
		return
	}
	pe := parseEnvelope(f.t, b)
	fp := fingerprint(f.t, pe.event)
	if d := math.Abs(float64(len(pe.payload)-6500)) / 6500; d > 0.05 {
		f.fail("event of %d bytes", len(pe.payload))
	}

	f.mu.Lock()
	f.n++
	n := f.n
	now := time.Now()
	if until, ok := f.pausedTo[r.RemoteAddr]; ok && now.Before(until) {
		f.early++
	}
	delete(f.pausedTo, r.RemoteAddr)
	if f.every429 > 0 && n%f.every429 == 0 {
		f.status429++
		wait := 100 * time.Millisecond
		if f.status429%2 == 0 {
			w.Header().Set("Retry-After", "0.1")
		} else {
			// X-Sentry-Rate-Limits wins over Retry-After.
			w.Header().Set("Retry-After", "5")
			w.Header().Set("X-Sentry-Rate-Limits", "0.15:error;default:key:rate_limited, 9:transaction:key")
			wait = 150 * time.Millisecond
		}
		f.retryTotal += wait
		// Allow for the timer's and the scheduler's slack.
		f.pausedTo[r.RemoteAddr] = now.Add(wait - 20*time.Millisecond)
		f.mu.Unlock()
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"detail":"rate limited"}`)
		return
	}
	f.groups[fp] = true
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"id":"`+pe.headerID+`"}`)
}

func runFake(t *testing.T, gz bool, every429 int, cfg Config) (*fakeIngest, Summary) {
	t.Helper()
	f := &fakeIngest{t: t, wantGzip: gz, every429: every429, pausedTo: make(map[string]time.Time), groups: make(map[string]bool)}
	srv := httptest.NewServer(f)
	defer srv.Close()
	cfg.URL, cfg.Project, cfg.Key, cfg.Gzip = srv.URL, "42", "abcdef0123456789abcdef0123456789", gz
	cfg.Size, cfg.Seed = 6500, 3
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f, sum
}

func TestRunCountsAndBackoff(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run("gzip="+strconv.FormatBool(gz), func(t *testing.T) {
			const events, groups = 600, 23
			f, s := runFake(t, gz, 50, Config{GenConfig: GenConfig{Groups: groups}, Conns: 4, Events: events})
			if s.Sent != events || s.Errors != 0 {
				t.Fatalf("sent %d, errors %d (%s); want %d, 0", s.Sent, s.Errors, s.FirstError, events)
			}
			if int(s.Status429) != f.status429 || s.Backoffs != s.Status429 || s.Status429 == 0 {
				t.Errorf("429s: counted %d, backoffs %d, server sent %d", s.Status429, s.Backoffs, f.status429)
			}
			if s.Accepted+s.Status429 != events || s.Status200 != s.Accepted || s.Statuses["200"] != s.Accepted {
				t.Errorf("accepted %d + 429 %d != %d (statuses %v)", s.Accepted, s.Status429, events, s.Statuses)
			}
			if f.early > 0 {
				t.Errorf("%d requests came on a connection still in its Retry-After", f.early)
			}
			if d := math.Abs(s.BackoffSeconds - f.retryTotal.Seconds()); d > 1e-6 {
				t.Errorf("backoff %.3fs, server asked for %.3fs", s.BackoffSeconds, f.retryTotal.Seconds())
			}
			if s.GroupsAccepted != groups || len(f.groups) != groups {
				t.Errorf("groups accepted: client %d, server %d distinct fingerprints; want %d", s.GroupsAccepted, len(f.groups), groups)
			}
			var sum int64
			for _, n := range s.GroupAccepted {
				sum += n
			}
			if sum != s.Accepted || s.BadIDs != 0 {
				t.Errorf("per-group sum %d, accepted %d, bad ids %d", sum, s.Accepted, s.BadIDs)
			}
			if s.P50Ms <= 0 || s.P99Ms < s.P50Ms || s.MaxMs < s.P99Ms {
				t.Errorf("latency p50 %v p99 %v max %v", s.P50Ms, s.P99Ms, s.MaxMs)
			}
			if gz && s.BodyBytes >= s.EventBytes/2 {
				t.Errorf("gzip body %.0f B for %.0f B events", s.BodyBytes, s.EventBytes)
			}
			if !gz && s.BodyBytes <= s.EventBytes {
				t.Errorf("body %.0f B, event %.0f B: the envelope must be larger", s.BodyBytes, s.EventBytes)
			}
		})
	}
}

func TestRunRate(t *testing.T) {
	_, s := runFake(t, false, 0, Config{GenConfig: GenConfig{Groups: 5}, Conns: 2, Rate: 400, Duration: 500 * time.Millisecond})
	// 400/s for 0.5 s: 200, plus the first token of each connection.
	if s.Sent < 150 || s.Sent > 215 {
		t.Errorf("sent %d at 400/s for 0.5s, want about 200", s.Sent)
	}
}

func TestNullSink(t *testing.T) {
	sink, err := StartNullSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, gz := range []bool{false, true} {
		s, err := Run(context.Background(), Config{
			GenConfig: GenConfig{Groups: 10, Size: 6500}, URL: sink.URL(), Project: "1", Key: "k",
			Gzip: gz, Conns: 2, Events: 200,
		})
		if err != nil {
			t.Fatal(err)
		}
		if s.Accepted != 200 || s.BadIDs != 0 {
			t.Errorf("gzip %v: accepted %d, bad ids %d; want 200, 0 (%s)", gz, s.Accepted, s.BadIDs, s.Human())
		}
	}
	if sink.Requests() != 400 {
		t.Errorf("sink answered %d requests, want 400", sink.Requests())
	}
}

func TestRunErrors(t *testing.T) {
	// Nothing listens: errors are counted, not fatal, and paced.
	sink, _ := StartNullSink("127.0.0.1:0")
	url := sink.URL()
	sink.Close()
	s, err := Run(context.Background(), Config{GenConfig: GenConfig{Groups: 1}, URL: url, Project: "1", Key: "k", Conns: 1, Duration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.Errors == 0 || s.Errors > 20 || s.Accepted != 0 || s.FirstError == "" {
		t.Errorf("errors %d accepted %d first %q; want a few errors, paced 10 ms apart", s.Errors, s.Accepted, s.FirstError)
	}
	if _, err := Run(context.Background(), Config{URL: url, Project: "1", Key: "k", Conns: 1}); err == nil {
		t.Error("no duration and no events: want an error")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"":                              defaultRetryAfter,
		"junk":                          defaultRetryAfter,
		"3":                             3 * time.Second,
		"0.25":                          250 * time.Millisecond,
		"Thu, 01 Jan 2026 00:00:07 GMT": 7 * time.Second,
		"Wed, 31 Dec 2025 23:00:00 GMT": 0,
	}
	for in, want := range cases {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestHistogram(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.02 {
			t.Errorf("q%.2f = %v, want %v ± 2 %%", c.q, got, c.want)
		}
	}
	if h.Max() != 10*time.Millisecond || h.Count() != 10000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	var o Histogram
	o.Record(time.Second)
	h.Merge(&o)
	if h.Quantile(1) != time.Second || h.Count() != 10001 {
		t.Errorf("after merge: q1 %v count %d", h.Quantile(1), h.Count())
	}
	for us := range uint64(1 << 20) {
		if v := histValue(histIndex(us)); v < us || float64(v-us) > float64(us)/histSub+1 {
			t.Fatalf("bucket of %d µs has upper bound %d", us, v)
		}
	}
}
