package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	dogstatsd "github.com/DataDog/datadog-go/v5/statsd"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/telltale-dev/telltale/aggregate"
)

// startMain runs a whole Telltale on loopback ports chosen by the kernel,
// flushing into a memory sink.
func startMain(t *testing.T, flush time.Duration) (*Main, *aggregate.MemorySink) {
	t.Helper()
	sink := &aggregate.MemorySink{}
	m := runMain(t, t.TempDir(), sink, func(c *Config) {
		c.Statsd.FlushInterval = flush
		c.Statsd.SeriesIdleTimeout = 0
	})
	return m, sink
}

// runMain runs a whole Telltale on dir and loopback ports chosen by the
// kernel, with the default configuration changed by edit (after Validate,
// so a test may set what a config file could not, such as the 12-digit
// key of the SDK captures) and flushing into sink (nil: the history). It
// is closed when the test ends.
func runMain(t *testing.T, dir string, sink aggregate.Sink, edit func(*Config)) *Main {
	t.Helper()
	cfg := Defaults()
	cfg.DataDir = dir
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Statsd.Addr = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	m := NewMain(cfg, nil)
	m.Sink = sink
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	return m
}

func scrapeMetrics(t *testing.T, m *Main) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + m.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

// series finds the one series of name with exactly the labels kv.
func series(fams map[string]*dto.MetricFamily, name string, kv ...string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(kv)/2 {
			continue
		}
		want := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			want[kv[i]] = kv[i+1]
		}
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		return m
	}
	return nil
}

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(t *testing.T, network, addr, payload string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, payload); err != nil {
		t.Fatal(err)
	}
}

// TestStatsdEndToEnd sends with the real DataDog client and raw lines over
// UDP and TCP, then reads /metrics with the Prometheus parser and checks
// exact values.
func TestStatsdEndToEnd(t *testing.T) {
	m, sink := startMain(t, 200*time.Millisecond)
	addr := m.StatsdAddr()

	dd, err := dogstatsd.New(addr, dogstatsd.WithoutTelemetry(), dogstatsd.WithoutOriginDetection(),
		dogstatsd.WithoutClientSideAggregation(), dogstatsd.WithNamespace("shop."))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		dd.Incr("orders", []string{"region:eu"}, 1)
		dd.Timing("checkout", time.Duration(i+1)*time.Millisecond, []string{"region:eu"}, 1)
		dd.Distribution("basket.size", float64(i%10+1), nil, 1)
	}
	dd.Gauge("queue.depth", 42, nil, 1)
	if err := dd.Flush(); err != nil {
		t.Fatal(err)
	}
	defer dd.Close()

	// Raw lines: sample rates, gauge deltas, the three tag styles, and a
	// malformed line in the middle of a packet that must not spoil it.
	send(t, "udp", addr, strings.Join([]string{
		"sampled:1|c|@0.1",
		"sampled:2|c|@0.5",
		"pool:10|g",
		"this is not statsd",
		"pool:+5|g",
		"pool:-3|g",
		"styles.dog:1|c|#env:prod,app:web",
		"styles.influx,env=prod,app=web:2|c",
		"styles.graphite;env=prod;app=web:4|c",
		"nope:1|zz",
		"h.size:300|h|@0.5",
	}, "\n"))
	send(t, "tcp", addr, "over.tcp:7|c|#via:tcp\nover.tcp:3|c|#via:tcp\nbroken|c\n")

	eventually(t, "all values on /metrics", func() error {
		fams := scrapeMetrics(t, m)
		checks := []struct {
			name string
			kv   []string
			get  func(*dto.Metric) float64
			want float64
		}{
			{"shop_orders", []string{"region", "eu"}, counter, 100},
			{"sampled", nil, counter, 14}, // 1/0.1 + 2/0.5
			{"pool", nil, gauge, 12},
			{"shop_queue_depth", nil, gauge, 42},
			{"styles_dog", []string{"env", "prod", "app", "web"}, counter, 1},
			{"styles_influx", []string{"env", "prod", "app", "web"}, counter, 2},
			{"styles_graphite", []string{"env", "prod", "app", "web"}, counter, 4},
			{"over_tcp", []string{"via", "tcp"}, counter, 10},
			{"shop_checkout", []string{"region", "eu"}, summaryCount, 100},
			{"shop_checkout", []string{"region", "eu"}, summarySum, 5.05}, // 1..100 ms in seconds
			{"shop_basket_size", nil, summaryCount, 100},
			{"h_size", nil, summaryCount, 2}, // @0.5 stands for two
			{"h_size", nil, summarySum, 600},
			{"telltale_statsd_lines_rejected_total", []string{"reason", "malformed_line"}, counter, 2},
			{"telltale_statsd_lines_rejected_total", []string{"reason", "bad_type"}, counter, 1},
		}
		for _, c := range checks {
			s := series(fams, c.name, c.kv...)
			if s == nil {
				return fmt.Errorf("no %s%v", c.name, c.kv)
			}
			if got := c.get(s); math.Abs(got-c.want) > 1e-9 {
				return fmt.Errorf("%s%v = %v, want %v", c.name, c.kv, got, c.want)
			}
		}
		// Quantiles of 1..100 ms, within the sketch's 1 %.
		s := series(fams, "shop_checkout", "region", "eu")
		for _, q := range s.Summary.Quantile {
			want := math.Ceil(q.GetQuantile()*100) / 1000
			if got := q.GetValue(); math.IsNaN(got) || math.Abs(got-want)/want > 0.02 {
				return fmt.Errorf("checkout q%v = %v, want %v", q.GetQuantile(), got, want)
			}
		}
		return nil
	})
	// A set shows its unique members per interval: 25 in the interval that
	// received them (one datagram, so one interval).
	for i := range 100 {
		dd.Set("buyers", fmt.Sprint("u", i%25), nil, 1)
	}
	dd.Flush()
	eventually(t, "set flushed", func() error {
		if p, ok := sink.Find("shop_buyers", map[string]string{}); !ok || !p.Updated || p.Value != 25 {
			return fmt.Errorf("shop_buyers = %+v", p)
		}
		return nil
	})
	// The line with a bad type and "broken|c" count as rejects; everything
	// else arrived.
	fams := scrapeMetrics(t, m)
	var rejected float64
	for _, s := range fams["telltale_statsd_lines_rejected_total"].Metric {
		rejected += s.Counter.GetValue()
	}
	if rejected != 3 {
		t.Errorf("rejected lines = %v, want 3", rejected)
	}
}

func counter(m *dto.Metric) float64      { return m.Counter.GetValue() }
func gauge(m *dto.Metric) float64        { return m.Gauge.GetValue() }
func summaryCount(m *dto.Metric) float64 { return float64(m.Summary.GetSampleCount()) }
func summarySum(m *dto.Metric) float64   { return m.Summary.GetSampleSum() }

// TestShutdownFlushes checks that lines accepted before Close reach the
// final flush, with a flush interval far too long to have flushed them.
func TestShutdownFlushes(t *testing.T) {
	m, sink := startMain(t, time.Hour)
	addr := m.StatsdAddr()
	var b strings.Builder
	for range 1000 {
		b.WriteString("last.words:1|c\n")
		if b.Len() > 1200 {
			send(t, "udp", addr, b.String())
			b.Reset()
		}
	}
	send(t, "udp", addr, b.String())
	send(t, "tcp", addr, "last.tcp:5|c\nlast.timer:250|ms\n")
	eventually(t, "lines received", func() error {
		s := series(scrapeMetrics(t, m), "last_words")
		if s == nil || counter(s) != 1000 {
			return fmt.Errorf("last_words = %v", s)
		}
		return nil
	})
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sink.Flushes() != 1 {
		t.Fatalf("flushes = %d, want the final one", sink.Flushes())
	}
	for name, want := range map[string]float64{"last_words": 1000, "last_tcp": 5} {
		if p, ok := sink.Find(name, map[string]string{}); !ok || p.Value != want {
			t.Errorf("final flush %s = %+v, want %v", name, p, want)
		}
	}
	if p, ok := sink.Find("last_timer", map[string]string{}); !ok || p.Count != 1 || p.Sum != 0.25 {
		t.Errorf("final flush last_timer = %+v, want one 0.25 s observation", p)
	}
}
