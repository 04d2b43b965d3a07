package aggregate

import (
	"context"
	"math"
	"testing"
	"time"

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
