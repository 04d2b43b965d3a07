package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// bearer adds a Bearer token to every request.
type bearer struct {
	token string
	rt    http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}

// startWithHistory runs a whole Telltale on dir, keeping history.
func startWithHistory(t *testing.T, dir string) *Main {
	t.Helper()
	return runMain(t, dir, nil, func(c *Config) {
		c.Statsd.FlushInterval = 100 * time.Millisecond
		c.Statsd.History = true
	})
}

// queryClient is the real Prometheus API client, with the admin token made
// at first start.
func queryClient(t *testing.T, m *Main, dir string) v1.API {
	t.Helper()
	tok, err := os.ReadFile(filepath.Join(dir, adminTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	return promClient(t, m.HTTPAddr(), strings.TrimSpace(string(tok)))
}

// promClient is the real Prometheus API client for the query API at addr,
// with token.
func promClient(t *testing.T, addr, token string) v1.API {
	t.Helper()
	c, err := promapi.NewClient(promapi.Config{
		Address:      "http://" + addr,
		RoundTripper: bearer{token, promapi.DefaultRoundTripper},
	})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c)
}

func instant(t *testing.T, api v1.API, q string) model.Vector {
	t.Helper()
	return instantAt(t, api, q, time.Now())
}

func instantAt(t *testing.T, api v1.API, q string, at time.Time) model.Vector {
	t.Helper()
	v, _, _, err := api.Query(context.Background(), q, at)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		t.Fatalf("%s: got %s, want a vector", q, v.Type())
	}
	return vec
}

// TestHistoryEndToEnd sends counters and a timer over statsd, lets them
// flush into the history, and reads them back through the Prometheus API
// with the real client; then restarts and reads them again.
func TestHistoryEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m := startWithHistory(t, dir)
	start := time.Now()
	for i := range 20 {
		send(t, "udp", m.StatsdAddr(), fmt.Sprintf("hist.hits:1|c|#env:prod\nhist.hits:2|c|#env:dev\nhist.lat:%d|ms\n", 10*(i+1)))
		time.Sleep(30 * time.Millisecond)
	}
	api := queryClient(t, m, dir)
	eventually(t, "history of the last lines", func() error {
		vec := instant(t, api, `sum by (env) (hist_hits)`)
		got := map[string]float64{}
		for _, s := range vec {
			got[string(s.Metric["env"])] = float64(s.Value)
		}
		if got["prod"] != 20 || got["dev"] != 40 {
			return fmt.Errorf("sum by (env) (hist_hits) = %v", got)
		}
		return nil
	})
	if vec := instant(t, api, `hist_lat_count`); len(vec) != 1 || vec[0].Value != 20 {
		t.Errorf("hist_lat_count = %v, want 20", vec)
	}
	if vec := instant(t, api, `hist_lat_sum`); len(vec) != 1 || math.Abs(float64(vec[0].Value)-2.1) > 1e-9 {
		t.Errorf("hist_lat_sum = %v, want 2.1 (10..200 ms in seconds)", vec)
	}
	if vec := instant(t, api, `rate(hist_hits{env="prod"}[1m]) > 0`); len(vec) != 1 {
		t.Errorf("rate of a rising counter = %v, want one positive series", vec)
	}
	// increase() over the whole history: the raw samples' last minus
	// first, extrapolated by Prometheus' rule by at most one average
	// interval in all.
	at := time.Now()
	raw, _, _, err := api.Query(context.Background(), `hist_hits{env="prod"}[10m]`, at)
	if err != nil {
		t.Fatal(err)
	}
	if mx, ok := raw.(model.Matrix); !ok || len(mx) != 1 || len(mx[0].Values) < 3 {
		t.Errorf("raw samples = %v, want one series with several", raw)
	} else {
		vs := mx[0].Values
		delta := float64(vs[len(vs)-1].Value - vs[0].Value)
		most := delta * float64(len(vs)) / float64(len(vs)-1)
		last := vs[len(vs)-1].Timestamp.Time()
		inc := instantAt(t, api, `increase(hist_hits{env="prod"}[10m])`, last)
		if len(inc) != 1 || float64(inc[0].Value) < delta-1e-9 || float64(inc[0].Value) > most+1e-9 {
			t.Errorf("increase = %v, want within [%v, %v] (samples %v)", inc, delta, most, vs)
		}
	}
	r, _, _, err := api.QueryRange(context.Background(), `hist_hits{env="dev"}`, v1.Range{Start: start, End: time.Now(), Step: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if mx, ok := r.(model.Matrix); !ok || len(mx) != 1 || len(mx[0].Values) < 5 {
		t.Fatalf("query_range = %v, want one series with many points", r)
	}
	names, _, _, err := api.LabelValues(context.Background(), "__name__", nil, start.Add(-time.Minute), time.Now())
	if err != nil || !strings.Contains(fmt.Sprint(names), "hist_hits") {
		t.Errorf("label values of __name__ = %v, %v", names, err)
	}

	// A restart keeps the history.
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m2 := startWithHistory(t, dir)
	api2 := queryClient(t, m2, dir)
	if vec := instant(t, api2, `sum(max_over_time(hist_hits[1m]))`); len(vec) != 1 || vec[0].Value != 60 {
		t.Errorf("after restart, sum(max_over_time(hist_hits[1m])) = %v, want 60", vec)
	}
}

// TestHistoryQuantiles sends 1 000 timer values in one flush interval (the
// final flush of Close: the interval is an hour), restarts, and reads the
// summary's quantile series back through the real client: each within the
// sketch's 1 % relative accuracy of the exact quantile of what was sent.
func TestHistoryQuantiles(t *testing.T) {
	dir := t.TempDir()
	m := runMain(t, dir, nil, func(c *Config) { c.Statsd.FlushInterval = time.Hour })
	var b strings.Builder
	for v := 1; v <= 1000; v++ {
		fmt.Fprintf(&b, "q.lat:%d|ms\n", v)
	}
	send(t, "tcp", m.StatsdAddr(), b.String())
	eventually(t, "all lines received", func() error {
		n := 0.0
		if f := scrapeMetrics(t, m)["telltale_statsd_lines_received_total"]; f != nil {
			for _, s := range f.Metric {
				n += s.GetCounter().GetValue()
			}
		}
		if n < 1000 {
			return fmt.Errorf("%v lines received", n)
		}
		return nil
	})
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m2 := startWithHistory(t, dir)
	api := queryClient(t, m2, dir)
	for _, c := range []struct {
		q    string
		want float64 // seconds: the exact quantile of 1..1000 ms
	}{{"0.5", 0.5}, {"0.9", 0.9}, {"0.99", 0.99}} {
		vec := instant(t, api, `q_lat{quantile="`+c.q+`"}`)
		if len(vec) != 1 || math.Abs(float64(vec[0].Value)-c.want) > 0.011*c.want {
			t.Errorf("q_lat{quantile=%q} = %v, want %v ± 1.1%%", c.q, vec, c.want)
		}
	}
	if vec := instant(t, api, `q_lat_count`); len(vec) != 1 || vec[0].Value != 1000 {
		t.Errorf("q_lat_count = %v, want 1000", vec)
	}
}
