package api

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/telltale-dev/telltale/aggregate"
)

func startServer(t *testing.T) (*Server, *aggregate.Aggregator, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	agg, err := aggregate.New(aggregate.Config{FlushInterval: time.Second, Percentiles: []float64{50, 99}}, nil, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, base := startTestServer(t, Config{Addr: "127.0.0.1:0"}, agg, reg, nil)
	return s, agg, base
}

// startTestServer starts a Server for cfg on reg, calls setup (if any)
// before it listens, and shuts it down when the test ends. It returns the
// server and its base URL.
func startTestServer(t *testing.T, cfg Config, series Exposer, reg *prometheus.Registry, setup func(*Server) error) (*Server, string) {
	t.Helper()
	s, err := New(cfg, reg, series, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		if err := setup(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, "http://" + s.Addr().String()
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	// A transport of its own, so that Go does not undo the gzip for us.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestMetricsEndpoint(t *testing.T) {
	_, agg, base := startServer(t)
	ap := agg.NewAppender()
	ap.Add(&aggregate.Sample{Name: []byte("deploys"), Kind: aggregate.Counter, Value: 2,
		Labels: []aggregate.Label{{Name: []byte("env"), Value: []byte("prod")}}})
	ap.Add(&aggregate.Sample{Name: []byte("rt"), Kind: aggregate.Summary, Value: 0.2})

	parse := func(body io.Reader) map[string]int {
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(body)
		if err != nil {
			t.Fatalf("/metrics does not parse: %v", err)
		}
		got := map[string]int{}
		for name, f := range fams {
			got[name] = len(f.Metric)
		}
		return got
	}

	resp, body := get(t, base+"/metrics")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text format", ct)
	}
	fams := parse(strings.NewReader(string(body)))
	for _, name := range []string{"deploys", "rt", "telltale_aggregate_series"} {
		if fams[name] == 0 {
			t.Errorf("/metrics lacks %s:\n%s", name, body)
		}
	}
	if !strings.Contains(string(body), `deploys{env="prod"} 2`) {
		t.Errorf("deploys counter missing:\n%s", body)
	}

	resp, body = get(t, base+"/metrics", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if fams := parse(zr); fams["deploys"] != 1 {
		t.Errorf("gzip body lacks deploys: %v", fams)
	}

	// Prometheus with native histograms asks for protobuf first.
	resp, _ = get(t, base+"/metrics", "Accept", "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,text/plain;version=0.0.4;q=0.3")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type for a protobuf-first scraper = %q, want the text format", ct)
	}

	resp, body = get(t, base+"/metrics", "Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Errorf("Content-Type = %q, want OpenMetrics", ct)
	}
	text := string(body)
	if !strings.HasSuffix(text, "# EOF\n") || strings.Count(text, "# EOF") != 1 {
		t.Errorf("OpenMetrics body must end with one # EOF:\n%s", text)
	}
	if !strings.Contains(text, `deploys_total{env="prod"} 2`) {
		t.Errorf("OpenMetrics counter lacks _total:\n%s", text)
	}
}

func TestHealthAndErrors(t *testing.T) {
	s, _, base := startServer(t)
	if resp, _ := get(t, base+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("/healthz = %d, want 200", resp.StatusCode)
	}
	resp, body := get(t, base+"/readyz")
	if resp.StatusCode != 503 {
		t.Errorf("/readyz before ready = %d, want 503", resp.StatusCode)
	}
	var e struct{ Detail string }
	if err := json.Unmarshal(body, &e); err != nil || e.Detail != "not ready" {
		t.Errorf("/readyz body = %s (%v), want detail", body, err)
	}
	s.SetReady(true)
	if resp, _ := get(t, base+"/readyz"); resp.StatusCode != 200 {
		t.Errorf("/readyz when ready = %d, want 200", resp.StatusCode)
	}
	resp, body = get(t, base+"/nope")
	if resp.StatusCode != 404 || !strings.Contains(string(body), `"detail":"not found"`) {
		t.Errorf("/nope = %d %s, want 404 JSON", resp.StatusCode, body)
	}
}
