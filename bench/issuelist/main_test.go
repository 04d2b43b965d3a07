package main

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(200-i) * time.Millisecond // unsorted: 200 ms down to 1 ms
	}
	s := summarize(ds)
	want := stats{N: 200, P50Ms: 100, P90Ms: 180, P99Ms: 198, MaxMs: 200, MeanMs: 100.5}
	if s != want {
		t.Errorf("summarize = %+v, want %+v", s, want)
	}
	for _, c := range []struct {
		n    int
		q    float64
		want time.Duration
	}{
		{1, 0.99, 1}, {2, 0.5, 1}, {2, 0.99, 2}, {10, 0.9, 9}, {10, 0.99, 10}, {100, 0.99, 99}, {101, 0.99, 100}, {5, 0, 1},
	} {
		sorted := make([]time.Duration, c.n)
		for i := range sorted {
			sorted[i] = time.Duration(i + 1)
		}
		if got := percentile(sorted, c.q); got != c.want {
			t.Errorf("percentile(1..%d, %v) = %d, want %d", c.n, c.q, got, c.want)
		}
	}
	if s := summarize(nil); s != (stats{}) {
		t.Errorf("summarize(nil) = %+v", s)
	}
}

func TestMetricSum(t *testing.T) {
	exp := []byte(`# HELP telltale_sentry_requests_total Sentry ingest requests.
# TYPE telltale_sentry_requests_total counter
telltale_sentry_requests_total{code="200",endpoint="envelope"} 1234
telltale_sentry_requests_total{code="200",endpoint="store"} 6
telltale_sentry_requests_total{code="429",endpoint="envelope"} 7
telltale_sentry_requests_totally 99
telltale_sentry_issues 10
`)
	if got, err := metricSum(exp, "telltale_sentry_requests_total", `code="200"`); err != nil || got != 1240 {
		t.Errorf("code 200: %v, %v; want 1240", got, err)
	}
	if got, err := metricSum(exp, "telltale_sentry_requests_total", ""); err != nil || got != 1247 {
		t.Errorf("all: %v, %v; want 1247", got, err)
	}
	if got, err := metricSum(exp, "telltale_sentry_issues", ""); err != nil || got != 10 {
		t.Errorf("no labels: %v, %v; want 10", got, err)
	}
	if _, err := metricSum(exp, "telltale_sentry_requests_total", `code="500"`); err == nil {
		t.Error("a missing sample is no error")
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-quick", "-req", "tags=/api/0/issues/{issue}/tags/", "-req", "projects=/api/0/organizations/main/projects/"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Events != 100_000 || c.Groups != 10_000 {
		t.Errorf("-quick: %d events, %d groups", c.Events, c.Groups)
	}
	if len(c.Extra) != 2 || c.Extra[0] != (request{Name: "tags", Path: "/api/0/issues/{issue}/tags/"}) {
		t.Errorf("-req: %+v", c.Extra)
	}
	if c, err := parseFlags([]string{"-quick", "-events", "5000"}, io.Discard); err != nil || c.Events != 5000 {
		t.Errorf("-quick -events 5000: %d, %v", c.Events, err)
	}
	if c, err := parseFlags(nil, io.Discard); err != nil || c.Events != 1_000_000 || storeDir(&c) != "bench/out/issuelist-data/e1000000-g10000" {
		t.Errorf("defaults: %d events, store %s, %v", c.Events, storeDir(&c), err)
	}
	for _, args := range [][]string{{"-req", "nopath"}, {"-req", "=/x"}, {"-n", "0"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("an argument: %v, want errUsage", err)
	}
}

func TestMarkerMatches(t *testing.T) {
	c := config{Events: 100_000, Groups: 10_000}
	m := fillMarker{Events: 100_000, Groups: 10_000, Size: eventSize, Seed: loadSeed, Accepted: 100_000}
	if !m.matches(&c) {
		t.Error("a finished marker does not match")
	}
	for _, bad := range []fillMarker{
		{Events: 100_000, Groups: 10_000, Size: eventSize, Seed: loadSeed, Accepted: 99_999},
		{Events: 100_000, Groups: 1_000, Size: eventSize, Seed: loadSeed, Accepted: 100_000},
		{Events: 100_000, Groups: 10_000, Size: 100, Seed: loadSeed, Accepted: 100_000},
		{Events: 100_000, Groups: 10_000, Size: eventSize, Seed: 2, Accepted: 100_000},
	} {
		if bad.matches(&c) {
			t.Errorf("%+v matches %+v", bad, c)
		}
	}
}

func TestRequests(t *testing.T) {
	c := config{Search: "payment", Extra: []request{{Name: "tags", Path: "/api/0/issues/{issue}/tags/"}}}
	rs := requests(&c, "0:100:0")
	if len(rs) != 18 {
		t.Fatalf("%d requests, want 18", len(rs))
	}
	lists := 0
	for _, r := range rs {
		if r.List {
			lists++
			if !strings.Contains(r.Path, "/issues/") {
				t.Errorf("%s: %s", r.Name, r.Path)
			}
		}
		if u, err := url.Parse(r.Path); err != nil || !(strings.HasPrefix(u.Path, "/api/0/") || strings.HasPrefix(u.Path, "/api/v1/") || u.Path == "/") {
			t.Errorf("%s: bad path %q (%v)", r.Name, r.Path, err)
		}
	}
	if lists != 8 {
		t.Errorf("%d list requests, want 8", lists)
	}
	if got := rs[6].Path; got != orgIssues+"?cursor=0%3A100%3A0" {
		t.Errorf("page 5: %s", got)
	}
	if got := rs[4].Path; got != orgIssues+"?query=is%3Aunresolved+level%3Aerror" {
		t.Errorf("query: %s", got)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"org list (sort=date, limit=25)":  "org-list-sort-date-limit-25",
		`text search "payment"`:           "text-search-payment",
		"query=is:unresolved level:error": "query-is-unresolved-level-error",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	rep := report{
		Config: config{N: 200, Warmup: 20, ListTarget: 50 * time.Millisecond, Bin: "bin/telltale"},
		Store:  "bench/out/issuelist-data/e100000-g10000",
		Fill:   fillMarker{Accepted: 100_000, Issues: 10_000, EventsPerSec: 2000},
		Issue:  "42",
		Results: []result{
			{request: request{Name: "org list (sort=date, limit=25)", List: true}, Hits: "10000", Bytes: 51234, Stats: stats{N: 200, P50Ms: 3.5, P90Ms: 4, P99Ms: 5.25, MaxMs: 7}, TargetMs: 50, Met: true},
			{request: request{Name: "issue events"}, Bytes: 700000, Stats: stats{N: 200, P50Ms: 120, P90Ms: 130, P99Ms: 150, MaxMs: 160}, TargetMs: 100, Over: 200, Profile: "bench/out/issuelist-issue-events.prof"},
		},
		Check:   countCheck{Issues: 10_000, WantIssues: 10_000, CountSum: 100_000, WantCountSum: 100_000, Passed: true},
		ListMet: true,
	}
	var b strings.Builder
	writeTable(&b, &rep)
	out := b.String()
	for _, want := range []string{
		"request                          X-Hits     bytes    p50 ms    p90 ms    p99 ms    max ms   target    over\n",
		"org list (sort=date, limit=25)    10000     51234      3.50      4.00      5.25      7.00    50 ms       0  PASS\n",
		"issue events                          -    700000    120.00    130.00    150.00    160.00   100 ms     200  FAIL\n",
		"issue events: CPU profile bench/out/issuelist-issue-events.prof (go tool pprof -top bin/telltale bench/out/issuelist-issue-events.prof)\n",
		"issue counts: 10000 issues (want 10000), counts sum 100000 (want 100000, the events accepted): PASS\n",
		"p99 under 50ms on every list request: PASS\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
