package aggregate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func newTestAggregator(t testing.TB, cfg Config) (*Aggregator, *MemorySink, *prometheus.Registry) {
	t.Helper()
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.Percentiles == nil {
		cfg.Percentiles = []float64{50, 90, 99}
	}
	sink := &MemorySink{}
	reg := prometheus.NewRegistry()
	a, err := New(cfg, sink, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a, sink, reg
}

func labels(kv ...string) []Label {
	var ls []Label
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, Label{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return ls
}

func add(t testing.TB, ap *Appender, s Sample) {
	t.Helper()
	if err := ap.Add(&s); err != nil {
		t.Fatalf("Add(%s): %v", s.Name, err)
	}
}

// scrape parses the text exposition with the Prometheus parser.
func scrape(t *testing.T, a *Aggregator) map[string]*dto.MetricFamily {
	t.Helper()
	var b bytes.Buffer
	if err := a.WriteExposition(&b, FormatText); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(&b)
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, b.String())
	}
	return fams
}

func findMetric(t *testing.T, fams map[string]*dto.MetricFamily, name string, kv ...string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %q", name)
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(kv)/2 {
			continue
		}
		for i, l := range m.Label {
			if l.GetName() != kv[2*i] || l.GetValue() != kv[2*i+1] {
				continue next
			}
		}
		return m
	}
	t.Fatalf("no series %s%v in %v", name, kv, f.Metric)
	return nil
}

func TestCounterGaugeAndLabels(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{})
	ap := a.NewAppender()
	add(t, ap, Sample{Name: []byte("hits"), Kind: Counter, Value: 1})
	add(t, ap, Sample{Name: []byte("hits"), Kind: Counter, Value: 10}) // 1@0.1, scaled by ingest
	// Labels in any order, escaped names, the last of equal names wins.
	add(t, ap, Sample{Name: []byte("api.req-count"), Kind: Counter, Value: 2, Labels: labels("route", "/a", "http.code", "200")})
	add(t, ap, Sample{Name: []byte("api_req_count"), Kind: Counter, Value: 3, Labels: labels("http_code", "500", "route", "/a", "http_code", "200")})
	add(t, ap, Sample{Name: []byte("temp"), Kind: Gauge, Value: 20})
	add(t, ap, Sample{Name: []byte("temp"), Kind: Gauge, Value: 5, Relative: true})
	add(t, ap, Sample{Name: []byte("temp"), Kind: Gauge, Value: -7, Relative: true})
	add(t, ap, Sample{Name: []byte("9lives"), Kind: Gauge, Value: 1, Labels: labels("a--b", "x\"y\n")})

	fams := scrape(t, a)
	if got := findMetric(t, fams, "hits").Counter.GetValue(); got != 11 {
		t.Errorf("hits = %v, want 11", got)
	}
	if got := findMetric(t, fams, "api_req_count", "http_code", "200", "route", "/a").Counter.GetValue(); got != 5 {
		t.Errorf("api_req_count = %v, want 5", got)
	}
	if got := findMetric(t, fams, "temp").Gauge.GetValue(); got != 18 {
		t.Errorf("temp = %v, want 18", got)
	}
	if got := findMetric(t, fams, "_9lives", "a_b", "x\"y\n").Gauge.GetValue(); got != 1 {
		t.Errorf("_9lives = %v, want 1", got)
	}
	if got := a.Series(); got != 4 {
		t.Errorf("Series() = %d, want 4", got)
	}

	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, ok := sink.Find("api_req_count", map[string]string{"http_code": "200", "route": "/a"})
	if !ok || p.Value != 5 || p.Kind != Counter || !p.Updated {
		t.Errorf("flushed api_req_count = %+v, %v; want value 5, updated", p, ok)
	}
	// Counters stay cumulative across flushes.
	add(t, ap, Sample{Name: []byte("hits"), Kind: Counter, Value: 1})
	a.Flush(context.Background())
	if p, _ := sink.Find("hits", map[string]string{}); p.Value != 12 {
		t.Errorf("hits after second flush = %v, want 12", p.Value)
	}
	if p, _ := sink.Find("temp", map[string]string{}); p.Value != 18 || p.Updated {
		t.Errorf("temp after idle flush = %+v, want 18 and not updated", p)
	}
}

func TestSummary(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{Percentiles: []float64{50, 90, 99}})
	ap := a.NewAppender()
	// Before any flush the quantiles are NaN and count/sum are live.
	var sum float64
	for i := 1; i <= 1000; i++ {
		v := float64(i) / 1000
		sum += v
		add(t, ap, Sample{Name: []byte("lat"), Kind: Summary, Value: v, Labels: labels("svc", "a")})
	}
	add(t, ap, Sample{Name: []byte("lat"), Kind: Summary, Value: 2, Weight: 10, Labels: labels("svc", "a")}) // @0.1
	sum += 20
	fams := scrape(t, a)
	m := findMetric(t, fams, "lat", "svc", "a")
	if got := m.Summary.GetSampleCount(); got != 1010 {
		t.Errorf("count = %v, want 1010", got)
	}
	if got := m.Summary.GetSampleSum(); math.Abs(got-sum) > 1e-9 {
		t.Errorf("sum = %v, want %v", got, sum)
	}
	if q := m.Summary.Quantile[0].GetValue(); !math.IsNaN(q) {
		t.Errorf("quantile before flush = %v, want NaN", q)
	}

	a.Flush(context.Background())
	p, ok := sink.Find("lat", map[string]string{"svc": "a"})
	if !ok {
		t.Fatal("lat not flushed")
	}
	if p.Min != 0.001 || p.Max != 2 || p.Count != 1010 {
		t.Errorf("min/max/count = %v/%v/%v, want 0.001/2/1010", p.Min, p.Max, p.Count)
	}
	if want := sum / 1010; math.Abs(p.Mean-want) > 1e-9 {
		t.Errorf("mean = %v, want %v", p.Mean, want)
	}
	// Exact ranks among 1010 observations: 50% → 0.505, 90% → 0.909, 99% → 0.999
	// (the ten weighted observations of 2 sit above rank 1000).
	for i, want := range []float64{0.505, 0.909, 0.999} {
		if got := p.Quantiles[i]; math.Abs(got-want)/want > 0.011 {
			t.Errorf("q%v = %v, want %v within 1%%", a.cfg.Percentiles[i], got, want)
		}
	}
	m = findMetric(t, scrape(t, a), "lat", "svc", "a")
	if got := m.Summary.Quantile[1]; got.GetQuantile() != 0.9 || math.Abs(got.GetValue()-p.Quantiles[1]) > 0 {
		t.Errorf("exposed q0.9 = %v, want %v", got, p.Quantiles[1])
	}

	// An interval without observations keeps the last quantiles and frees
	// the sketch.
	a.Flush(context.Background())
	p2, _ := sink.Find("lat", map[string]string{"svc": "a"})
	if p2.Quantiles[0] != p.Quantiles[0] || p2.Updated {
		t.Errorf("idle interval quantiles = %v (updated %v), want %v", p2.Quantiles, p2.Updated, p.Quantiles)
	}
}

func TestSet(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{})
	ap := a.NewAppender()
	for i := range 100 {
		add(t, ap, Sample{Name: []byte("users"), Kind: Set, Member: fmt.Appendf(nil, "u%d", i%40)})
	}
	for i := range 20000 {
		add(t, ap, Sample{Name: []byte("ips"), Kind: Set, Member: fmt.Appendf(nil, "10.0.%d.%d", i/256, i%256)})
	}
	a.Flush(context.Background())
	if p, _ := sink.Find("users", map[string]string{}); p.Value != 40 {
		t.Errorf("users = %v, want exactly 40", p.Value)
	}
	if p, _ := sink.Find("ips", map[string]string{}); math.Abs(p.Value-20000)/20000 > 0.03 {
		t.Errorf("ips = %v, want 20000 within 3%%", p.Value)
	}
	if got := findMetric(t, scrape(t, a), "users").Gauge.GetValue(); got != 40 {
		t.Errorf("exposed users = %v, want 40", got)
	}
	// A new interval counts anew.
	add(t, ap, Sample{Name: []byte("users"), Kind: Set, Member: []byte("u1")})
	a.Flush(context.Background())
	if p, _ := sink.Find("users", map[string]string{}); p.Value != 1 {
		t.Errorf("users next interval = %v, want 1", p.Value)
	}
}

func TestRejects(t *testing.T) {
	a, _, reg := newTestAggregator(t, Config{MaxSeries: 5, MaxSeriesPerMetric: 2})
	ap := a.NewAppender()
	add(t, ap, Sample{Name: []byte("x"), Kind: Counter, Value: 1})
	cases := []struct {
		s      Sample
		err    error
		reason string
	}{
		{Sample{Name: []byte("x"), Kind: Gauge, Value: 1}, ErrTypeConflict, "type_conflict"},
		{Sample{Name: []byte("x"), Kind: Summary, Value: 1, Labels: labels("a", "b")}, ErrTypeConflict, "type_conflict"},
		{Sample{Name: []byte("x"), Kind: Counter, Value: -1}, ErrNegativeCounter, "negative_counter"},
		{Sample{Name: nil, Kind: Counter, Value: 1}, ErrInvalidSample, "invalid"},
		{Sample{Name: []byte("y"), Kind: 0, Value: 1}, ErrInvalidSample, "invalid"},
		{Sample{Name: []byte("x"), Kind: Counter, Value: math.Inf(1)}, ErrInvalidSample, "invalid"},
	}
	for _, c := range cases {
		if err := ap.Add(&c.s); !errors.Is(err, c.err) {
			t.Errorf("Add(%+v) = %v, want %v", c.s, err, c.err)
		}
	}
	add(t, ap, Sample{Name: []byte("x"), Kind: Counter, Value: 1, Labels: labels("a", "1")})
	if err := ap.Add(&Sample{Name: []byte("x"), Kind: Counter, Value: 1, Labels: labels("a", "2")}); !errors.Is(err, ErrMetricSeriesLimit) {
		t.Errorf("third series of x: %v, want %v", err, ErrMetricSeriesLimit)
	}
	for _, n := range []string{"p", "q", "r"} {
		add(t, ap, Sample{Name: []byte(n), Kind: Gauge, Value: 1})
	}
	if err := ap.Add(&Sample{Name: []byte("s"), Kind: Gauge, Value: 1}); !errors.Is(err, ErrSeriesLimit) {
		t.Errorf("sixth series: %v, want %v", err, ErrSeriesLimit)
	}
	// Good samples next to refused ones still count.
	add(t, ap, Sample{Name: []byte("x"), Kind: Counter, Value: 1})
	if got := findMetric(t, scrape(t, a), "x").Counter.GetValue(); got != 2 {
		t.Errorf("x = %v, want 2", got)
	}
	want := `
# HELP telltale_aggregate_samples_dropped_total Samples the aggregator refused, by reason.
# TYPE telltale_aggregate_samples_dropped_total counter
telltale_aggregate_samples_dropped_total{reason="invalid"} 3
telltale_aggregate_samples_dropped_total{reason="metric_series_limit"} 1
telltale_aggregate_samples_dropped_total{reason="negative_counter"} 1
telltale_aggregate_samples_dropped_total{reason="series_limit"} 1
telltale_aggregate_samples_dropped_total{reason="type_conflict"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "telltale_aggregate_samples_dropped_total"); err != nil {
		t.Error(err)
	}
}

// TestHashCollision forces two keys onto one hash: both series must live
// side by side, and expiring one must leave the other.
func TestHashCollision(t *testing.T) {
	a, _, _ := newTestAggregator(t, Config{})
	sh := &a.shards[0]
	sh.mu.Lock()
	k1, k2 := []byte("one"), []byte("two")
	s1, err1 := a.create(sh, 42, k1, Counter)
	s2, err2 := a.create(sh, 42, k2, Counter)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if sh.get(42, k1) != s1 || sh.get(42, k2) != s2 || sh.get(42, []byte("three")) != nil {
		t.Fatal("colliding series not told apart")
	}
	a.remove(sh, s1)
	if sh.get(42, k1) != nil || sh.get(42, k2) != s2 {
		t.Fatal("removing one colliding series lost the other")
	}
	a.remove(sh, s2)
	if len(sh.m) != 0 || len(sh.conflicts) != 0 {
		t.Fatalf("shard not empty: %v %v", sh.m, sh.conflicts)
	}
	sh.mu.Unlock()
}

// TestRunFlushesAndExpires runs the flush loop on a fake clock.
func TestRunFlushesAndExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, sink, reg := newTestAggregator(t, Config{FlushInterval: 10 * time.Second, IdleTimeout: 30 * time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- a.Run(ctx) }()
		ap := a.NewAppender()
		add(t, ap, Sample{Name: []byte("busy"), Kind: Counter, Value: 1})
		add(t, ap, Sample{Name: []byte("idle"), Kind: Counter, Value: 1})
		for i := 1; i <= 5; i++ {
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if got := sink.Flushes(); got != i {
				t.Fatalf("after %d intervals: %d flushes", i, got)
			}
			add(t, ap, Sample{Name: []byte("busy"), Kind: Counter, Value: 1})
		}
		_, pts, _ := sink.Last()
		if len(pts) != 1 || pts[0].Name != "busy" || pts[0].Value != 5 {
			t.Errorf("last flush = %+v, want only busy=5", pts)
		}
		if got := testutil.ToFloat64(a.m.expired); got != 1 {
			t.Errorf("expired = %v, want 1", got)
		}
		// The name is free again, even for another type.
		add(t, ap, Sample{Name: []byte("idle"), Kind: Gauge, Value: 3})
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// Close flushes what came after the last tick, once.
		if err := a.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.Close(context.Background())
		if got := sink.Flushes(); got != 6 {
			t.Errorf("flushes after Close = %d, want 6", got)
		}
		if p, ok := sink.Find("busy", map[string]string{}); !ok || p.Value != 6 {
			t.Errorf("busy after Close = %v, want 6", p.Value)
		}
		if n, err := testutil.GatherAndCount(reg, "telltale_aggregate_flush_duration_seconds"); err != nil || n != 1 {
			t.Errorf("flush duration metric: %d, %v", n, err)
		}
	})
}

func TestOpenMetrics(t *testing.T) {
	a, _, _ := newTestAggregator(t, Config{})
	ap := a.NewAppender()
	add(t, ap, Sample{Name: []byte("jobs"), Kind: Counter, Value: 3, Labels: labels("q", "x")})
	add(t, ap, Sample{Name: []byte("sent_total"), Kind: Counter, Value: 4})
	add(t, ap, Sample{Name: []byte("lat"), Kind: Summary, Value: 0.5})
	var b bytes.Buffer
	if err := a.WriteExposition(&b, FormatOpenMetrics); err != nil {
		t.Fatal(err)
	}
	b.WriteString("# EOF\n")
	got := b.String()
	for _, want := range []string{
		"# TYPE jobs counter\njobs_total{q=\"x\"} 3\n",
		"# TYPE sent counter\nsent_total 4\n",
		"# TYPE lat summary\nlat{quantile=\"0.5\"} NaN\n",
		"lat_count 1\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("OpenMetrics output lacks %q:\n%s", want, got)
		}
	}
}

func TestAddAllocatesNothing(t *testing.T) {
	a, _, _ := newTestAggregator(t, Config{})
	ap := a.NewAppender()
	samples := []Sample{
		{Name: []byte("c"), Kind: Counter, Value: 1},
		{Name: []byte("c.tagged"), Kind: Counter, Value: 1, Labels: labels("env", "prod", "host", "web-1", "route", "/x")},
		{Name: []byte("g"), Kind: Gauge, Value: 1, Relative: true},
		{Name: []byte("t"), Kind: Summary, Value: 0.25, Labels: labels("env", "prod")},
		{Name: []byte("s"), Kind: Set, Member: []byte("m1")},
	}
	for i := range samples {
		add(t, ap, samples[i]) // create the series
	}
	for i := range samples {
		s := &samples[i]
		if n := testing.AllocsPerRun(100, func() { ap.Add(s) }); n != 0 {
			t.Errorf("Add(%s) allocates %v times, want 0", s.Name, n)
		}
	}
}

// TestFlushChunks checks that a flush larger than one chunk reaches the sink
// whole.
func TestFlushChunks(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{})
	ap := a.NewAppender()
	const n = 3*flushChunk + 17
	for i := range n {
		add(t, ap, Sample{Name: []byte("c"), Kind: Counter, Value: float64(i), Labels: labels("i", fmt.Sprint(i))})
		if i%3 == 0 {
			add(t, ap, Sample{Name: []byte("t"), Kind: Summary, Value: float64(i), Labels: labels("i", fmt.Sprint(i))})
		}
	}
	if err := a.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, pts, err := sink.Last()
	if err != nil {
		t.Fatal(err)
	}
	if want := n + (n+2)/3; len(pts) != want || sink.Flushes() != 1 {
		t.Fatalf("got %d points in %d flushes, want %d in 1", len(pts), sink.Flushes(), want)
	}
	for _, p := range pts {
		i := p.Labels["i"]
		want := i
		got := fmt.Sprint(p.Value)
		if p.Kind == Summary {
			got = fmt.Sprint(p.Quantiles[0])
		}
		if got != want {
			t.Fatalf("%s{i=%s} = %s, want %s", p.Name, i, got, want)
		}
	}
}

// TestSampleDuringFlushIsNotExpired covers an Appender that reads the epoch
// after Flush has advanced it: its series is stamped one epoch ahead of the
// flush under way and must count as fresh, not as ages old.
func TestSampleDuringFlushIsNotExpired(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{IdleTimeout: time.Minute})
	ap := a.NewAppender()
	add(t, ap, Sample{Name: []byte("racy"), Kind: Counter, Value: 1})
	for i := range a.shards {
		for _, s := range a.shards[i].m {
			s.seen = a.epoch.Load() + 1
		}
	}
	a.Flush(context.Background())
	if a.Series() != 1 || testutil.ToFloat64(a.m.expired) != 0 {
		t.Fatalf("series = %d, expired = %v; want the racy series kept", a.Series(), testutil.ToFloat64(a.m.expired))
	}
	if p, ok := sink.Find("racy", map[string]string{}); !ok || !p.Updated {
		t.Errorf("racy flushed = %+v, %v; want updated", p, ok)
	}
}

// TestSummaryExact covers intervals small enough to be kept exactly, with
// and without sample rates, and the move into the sketch past the limit.
func TestSummaryExact(t *testing.T) {
	a, sink, _ := newTestAggregator(t, Config{Percentiles: []float64{50, 90, 99}})
	ap := a.NewAppender()
	for _, v := range []float64{7, 3, 10, 1, 5, 9, 2, 8, 4, 6} {
		add(t, ap, Sample{Name: []byte("exact"), Kind: Summary, Value: v})
	}
	add(t, ap, Sample{Name: []byte("weighted"), Kind: Summary, Value: 1})
	add(t, ap, Sample{Name: []byte("weighted"), Kind: Summary, Value: 2, Weight: 10})
	for i := range maxExactSummary + 50 {
		add(t, ap, Sample{Name: []byte("spill"), Kind: Summary, Value: float64(i + 1)})
	}
	a.Flush(context.Background())
	for _, c := range []struct {
		name string
		want []float64
		tol  float64
	}{
		{"exact", []float64{5, 9, 9}, 0},    // ranks 4.5, 8.1, 8.91 among 1..10
		{"weighted", []float64{2, 2, 2}, 0}, // 1 once, 2 ten times
		{"spill", []float64{89, 160, 176}, 0.011},
	} {
		p, _ := sink.Find(c.name, map[string]string{})
		for i, want := range c.want {
			if got := p.Quantiles[i]; math.Abs(got-want) > c.tol*want {
				t.Errorf("%s q%v = %v, want %v", c.name, a.cfg.Percentiles[i], got, want)
			}
		}
	}
	if p, _ := sink.Find("weighted", map[string]string{}); p.Count != 11 || p.Sum != 21 || p.Mean != 21.0/11 {
		t.Errorf("weighted count/sum/mean = %v/%v/%v, want 11/21/%v", p.Count, p.Sum, p.Mean, 21.0/11)
	}
	// The next interval starts exact again for the small series.
	add(t, ap, Sample{Name: []byte("exact"), Kind: Summary, Value: 42})
	a.Flush(context.Background())
	if p, _ := sink.Find("exact", map[string]string{}); p.Quantiles[0] != 42 || p.Count != 11 {
		t.Errorf("exact next interval = %v (count %v), want 42 (11)", p.Quantiles, p.Count)
	}
}
