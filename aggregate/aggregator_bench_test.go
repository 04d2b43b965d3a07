package aggregate

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// BenchmarkAdd measures one sample into an existing series, per kind.
// Compare changes with:
//
//	go test -run='^$' -bench=BenchmarkAdd -benchmem -count=6 ./aggregate/ > new.txt && benchstat old.txt new.txt
func BenchmarkAdd(b *testing.B) {
	cases := []struct {
		name string
		s    Sample
	}{
		{"counter", Sample{Name: []byte("app.requests"), Kind: Counter, Value: 1}},
		{"counter_3tags", Sample{Name: []byte("app.requests"), Kind: Counter, Value: 1, Labels: labels("route", "/api/v1/users", "env", "prod", "host", "web-17")}},
		{"gauge_delta", Sample{Name: []byte("app.inflight"), Kind: Gauge, Value: 1, Relative: true}},
		{"timer_3tags", Sample{Name: []byte("app.latency"), Kind: Summary, Value: 0.0123, Labels: labels("route", "/api/v1/users", "env", "prod", "host", "web-17")}},
		{"set", Sample{Name: []byte("app.users"), Kind: Set, Member: []byte("user-12345")}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, _, _ := newTestAggregator(b, Config{})
			ap := a.NewAppender()
			ap.Add(&c.s)
			b.ReportAllocs()
			for b.Loop() {
				ap.Add(&c.s)
			}
		})
	}
}

// BenchmarkAddMixed spreads samples over 10 000 series of every kind from
// all cores, as the UDP workers do.
func BenchmarkAddMixed(b *testing.B) {
	a, _, _ := newTestAggregator(b, Config{})
	const names = 10000
	samples := make([]Sample, names)
	kinds := []Kind{Counter, Counter, Gauge, Summary, Summary, Set}
	for i := range samples {
		samples[i] = Sample{
			Name:   fmt.Appendf(nil, "app.metric_%d", i),
			Kind:   kinds[i%len(kinds)],
			Value:  float64(i%100) / 10,
			Labels: labels("env", "prod", "host", fmt.Sprintf("web-%d", i%20), "route", fmt.Sprintf("/r/%d", i%7)),
			Member: fmt.Appendf(nil, "m%d", i%50),
		}
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ap := a.NewAppender()
		i := 0
		for pb.Next() {
			ap.Add(&samples[i%names])
			i += 7
		}
	})
}

// BenchmarkExposition writes 1 000 000 counter series (10 labels' worth of
// text each) to io.Discard, the /metrics target of DESIGN §4. Run with
// -benchtime=3x; it reports the extra heap the scrape used.
func BenchmarkExposition(b *testing.B) {
	a, _, _ := newTestAggregator(b, Config{MaxSeries: 2_000_000, MaxSeriesPerMetric: 1_000_000})
	ap := a.NewAppender()
	for i := range 1_000_000 {
		s := Sample{
			Name:   fmt.Appendf(nil, "app.metric_%d", i%1000),
			Kind:   Counter,
			Value:  1,
			Labels: labels("instance", fmt.Sprintf("host-%d", i/1000), "env", "prod"),
		}
		ap.Add(&s)
	}
	a.Flush(context.Background())
	benchScrape(b, func() error { return a.WriteExposition(io.Discard, FormatText) })
}

// benchScrape runs scrape as the benchmark's loop and reports seconds and
// megabytes allocated per scrape.
func benchScrape(b *testing.B, scrape func() error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for b.Loop() {
		if err := scrape(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(n), "s/scrape")
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n)/1e6, "MB-alloc/scrape")
}

// BenchmarkFlush flushes 100 000 series to a discarding sink.
func BenchmarkFlush(b *testing.B) {
	a, err := New(Config{FlushInterval: time.Second, Percentiles: []float64{50, 90, 99}}, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	ap := a.NewAppender()
	for i := range 100_000 {
		s := Sample{Name: fmt.Appendf(nil, "m_%d", i%100), Kind: Counter, Value: 1, Labels: labels("i", fmt.Sprint(i))}
		if i%4 == 0 {
			s.Kind = Summary
			s.Name = fmt.Appendf(nil, "t_%d", i%100)
		}
		ap.Add(&s)
	}
	b.ReportAllocs()
	for b.Loop() {
		a.Flush(context.Background())
	}
}

// BenchmarkSeriesMemory reports the heap held per counter and per timer
// series with three labels (DESIGN §4: under 300 bytes and 2 KB), after a
// flush, with a timer's interval of 20 observations. Run with -benchtime=1x.
func BenchmarkSeriesMemory(b *testing.B) {
	for _, kind := range []Kind{Counter, Summary} {
		b.Run(kind.String(), func(b *testing.B) {
			const n = 100_000
			var perSeries float64
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				a, err := New(Config{FlushInterval: time.Second, Percentiles: []float64{50, 90, 95, 99}}, nil, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
				ap := a.NewAppender()
				for i := range n {
					s := Sample{Name: fmt.Appendf(nil, "app.metric_%d", i%1000), Kind: kind, Value: 1,
						Labels: labels("env", "prod", "host", fmt.Sprintf("web-%d", i/1000), "route", "/x")}
					for j := range 20 {
						s.Value = float64(j*j) / 100
						ap.Add(&s)
						if kind != Summary {
							break
						}
					}
				}
				a.Flush(context.Background())
				runtime.GC()
				runtime.ReadMemStats(&after)
				perSeries = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perSeries, "bytes/series")
		})
	}
}

// BenchmarkExpositionClientGolang is the peer of BenchmarkExposition: the
// same 1 000 000 counter series in a client_golang CounterVec, gathered and
// encoded as the text format, which is what an exporter built on
// client_golang (statsd_exporter) does on every scrape. Run both with
//
//	go test -run='^$' -bench='Exposition' -benchtime=3x -benchmem ./aggregate/
func BenchmarkExpositionClientGolang(b *testing.B) {
	reg := prometheus.NewRegistry()
	vecs := make([]*prometheus.CounterVec, 1000)
	for i := range vecs {
		vecs[i] = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: fmt.Sprintf("app_metric_%d", i), Help: "Metric autogenerated by statsd_exporter.",
		}, []string{"env", "instance"})
		reg.MustRegister(vecs[i])
	}
	for i := range 1_000_000 {
		vecs[i%1000].WithLabelValues("prod", fmt.Sprintf("host-%d", i/1000)).Inc()
	}
	benchScrape(b, func() error {
		fams, err := reg.Gather()
		if err != nil {
			return err
		}
		enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range fams {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	})
}
