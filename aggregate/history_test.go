package aggregate

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// TestHistorySink flushes every kind of series into a real storage and
// reads back the same names, labels and values /metrics shows.
func TestHistorySink(t *testing.T) {
	db := storagetest.OpenTemp(t)
	a, err := New(Config{FlushInterval: time.Second, Percentiles: []float64{50, 99}}, NewHistorySink(db, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	a.now = func() time.Time { return now }
	ap := a.NewAppender()
	flush := func() {
		t.Helper()
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(10 * time.Second)
	}
	for i := range 3 {
		add(t, ap, Sample{Name: []byte("app.requests"), Kind: Counter, Value: 2, Labels: labels("route", "/x", "Env", "prod", "zone", "")})
		add(t, ap, Sample{Name: []byte("temp"), Kind: Gauge, Value: float64(20 + i)})
		add(t, ap, Sample{Name: []byte("lat"), Kind: Summary, Value: float64(i + 1), Labels: labels("svc", "api")})
		add(t, ap, Sample{Name: []byte("users"), Kind: Set, Member: []byte{byte('a' + i)}})
		flush()
	}

	get := func(name string, extra ...string) []storage.Point {
		t.Helper()
		ms := []storage.Matcher{mustMatcher(t, storage.MetricName, name)}
		for i := 0; i+1 < len(extra); i += 2 {
			ms = append(ms, mustMatcher(t, extra[i], extra[i+1]))
		}
		got, err := db.SelectSamples(0, math.MaxInt64, ms...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%s%v: %d series, want 1", name, extra, len(got))
		}
		return got[0].Points
	}
	values := func(ps []storage.Point) []float64 {
		var vs []float64
		for _, p := range ps {
			vs = append(vs, p.V)
		}
		return vs
	}
	check := func(what string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
	}
	// Labels keep their order with an upper-case name before __name__; an
	// empty value is no label.
	check("app_requests", values(get("app_requests", "Env", "prod", "route", "/x")), []float64{2, 4, 6})
	check("temp", values(get("temp")), []float64{20, 21, 22})
	check("users", values(get("users")), []float64{1, 1, 1})
	check("lat q0.5", values(get("lat", "svc", "api", "quantile", "0.5")), []float64{1, 2, 3})
	check("lat_count", values(get("lat_count", "svc", "api")), []float64{1, 2, 3})
	check("lat_sum", values(get("lat_sum", "svc", "api")), []float64{1, 3, 6})
	if ps := get("temp"); ps[1].T-ps[0].T != 10_000 {
		t.Errorf("flush times %d, %d: want 10 s apart", ps[0].T, ps[1].T)
	}
	series, err := db.SelectSamples(0, math.MaxInt64, mustMatcher(t, storage.MetricName, "app_requests"))
	if err != nil || len(series) != 1 || series[0].Labels.Get("zone") != "" {
		t.Errorf("app_requests labels = %v (%v), want no zone label", series, err)
	}
}

func mustMatcher(t *testing.T, name, value string) storage.Matcher {
	t.Helper()
	m, err := storage.NewMatcher(storage.MatchEqual, name, value)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHistorySinkSelf records a registry's counter, gauge, histogram and
// summary with each flush, labelled like a scrape, and reads them back
// as /metrics would show them.
func TestHistorySinkSelf(t *testing.T) {
	db := storagetest.OpenTemp(t)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t_events_total", Help: "h"}, []string{"outcome"})
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "t_queue", Help: "h"})
	hg := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "t_seconds", Help: "h", Buckets: []float64{0.1, 1}})
	sm := prometheus.NewSummary(prometheus.SummaryOpts{Name: "t_size", Help: "h", Objectives: map[float64]float64{0.5: 0.01}})
	reg.MustRegister(c, g, hg, sm)
	sink := NewHistorySink(db, reg)
	sink.RecordSelf(reg, map[string]string{"job": "telltale", "instance": "127.0.0.1:8080"})
	a, err := New(Config{FlushInterval: time.Second}, sink, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.UnixMilli(1_700_000_000_000)
	a.now = func() time.Time { return now }
	for i := range 2 {
		c.WithLabelValues("ok").Add(3)
		g.Set(float64(7 + i))
		hg.Observe(0.5)
		sm.Observe(10)
		if err := a.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(10 * time.Second)
	}
	for _, c := range []struct {
		name  string
		extra []string
		want  []float64
	}{
		{"t_events_total", []string{"outcome", "ok"}, []float64{3, 6}},
		{"t_queue", nil, []float64{7, 8}},
		{"t_seconds_bucket", []string{"le", "0.1"}, []float64{0, 0}},
		{"t_seconds_bucket", []string{"le", "1"}, []float64{1, 2}},
		{"t_seconds_bucket", []string{"le", "+Inf"}, []float64{1, 2}},
		{"t_seconds_count", nil, []float64{1, 2}},
		{"t_size", []string{"quantile", "0.5"}, []float64{10, 10}},
		{"t_size_sum", nil, []float64{10, 20}},
		{"telltale_aggregate_history_out_of_order_total", nil, []float64{0, 0}},
	} {
		ms := []storage.Matcher{mustMatcher(t, storage.MetricName, c.name), mustMatcher(t, "job", "telltale"), mustMatcher(t, "instance", "127.0.0.1:8080")}
		for i := 0; i+1 < len(c.extra); i += 2 {
			ms = append(ms, mustMatcher(t, c.extra[i], c.extra[i+1]))
		}
		got, err := db.SelectSamples(0, math.MaxInt64, ms...)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 {
			t.Fatalf("%s%v: %d series, want 1", c.name, c.extra, len(got))
		}
		var vs []float64
		for _, p := range got[0].Points {
			vs = append(vs, p.V)
		}
		if !slices.Equal(vs, c.want) {
			t.Errorf("%s%v = %v, want %v", c.name, c.extra, vs, c.want)
		}
	}
}
