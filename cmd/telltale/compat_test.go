package main

import (
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/statsd_exporter/pkg/event"
	"github.com/prometheus/statsd_exporter/pkg/exporter"
	"github.com/prometheus/statsd_exporter/pkg/line"
	"github.com/prometheus/statsd_exporter/pkg/mapper"
)

// compatLines are statsd lines whose exposition must be the same in
// Telltale as in statsd_exporter without a mapping config: names escaped,
// tags in every style statsd_exporter reads, deltas, sample rates, timers
// in seconds. Sets are left out (statsd_exporter refuses them), and so are
// Graphite ";" tags (statsd_exporter does not parse them).
var compatLines = []string{
	"plain:1|c",
	"plain:2|c",
	"with.dots.and-dash:3|c",
	"a--b---c:1|c",
	"9starts.with.digit:4|c",
	"sampled:1|c|@0.25",
	"tagged:1|c|#env:prod,route:/api/v1",
	"tagged:2|c|#route:/api/v1,env:prod",
	"tagged:5|c|#env:dev,route:/",
	"influx,env=prod,host=a.b:7|c",
	"librato#env=prod:1|c",
	"signalfx[env=prod]:1|c",
	"odd.keys:1|c|#http.code:200,x-y:z,9k:v",
	"dupe.keys:1|c|#k:first,k:second",
	"héllo.wörld:1|c",
	"temp:20|g",
	"temp:+5|g",
	"temp:-7.5|g",
	"temp.tagged:3|g|#room:kitchen",
	"latency:120|ms|#svc:api",
	"latency:80|ms|#svc:api",
	"latency:250|ms|@0.5|#svc:api",
	"payload:512|h",
	"payload:1024|h",
	"duration:0.25|d|#kind:batch",
	"packed:1:2:3|ms",
}

// TestExpositionMatchesStatsdExporter sends compatLines to Telltale and to
// statsd_exporter's own exporter (in process, no mapping config) and checks
// that every family statsd_exporter exposes appears in Telltale's /metrics
// with the same name, type, label sets, and counter, gauge, _count and _sum
// values. This is what lets a user swap Telltale in for statsd_exporter
// without touching a dashboard. Quantile values are not compared: the two
// windows differ by design (statsd_exporter: a 10-minute sliding window;
// Telltale: the last flushed interval).
func TestExpositionMatchesStatsdExporter(t *testing.T) {
	want := statsdExporterFamilies(t, compatLines)

	m, _ := startMain(t, time.Hour)
	send(t, "tcp", m.StatsdAddr(), strings.Join(compatLines, "\n")+"\n")
	var got map[string]*dto.MetricFamily
	eventually(t, "lines applied", func() error {
		got = scrapeMetrics(t, m)
		if s := series(got, "packed"); s == nil || s.Summary.GetSampleCount() != 3 {
			return fmt.Errorf("packed not there yet")
		}
		return nil
	})

	if len(want) < 15 {
		t.Fatalf("statsd_exporter exposed only %d families; the corpus is not being read", len(want))
	}
	for name, wf := range want {
		gf := got[name]
		if gf == nil {
			t.Errorf("family %s: statsd_exporter has it, Telltale does not", name)
			continue
		}
		if gf.GetType() != wf.GetType() {
			t.Errorf("family %s: type %v, statsd_exporter %v", name, gf.GetType(), wf.GetType())
		}
		gm := byLabels(gf)
		for key, wm := range byLabels(wf) {
			g := gm[key]
			if g == nil {
				t.Errorf("%s{%s}: missing in Telltale (it has %v)", name, key, keys(gm))
				continue
			}
			for _, c := range []struct {
				what      string
				got, want float64
			}{
				{"counter", g.GetCounter().GetValue(), wm.GetCounter().GetValue()},
				{"gauge", g.GetGauge().GetValue(), wm.GetGauge().GetValue()},
				{"count", float64(g.GetSummary().GetSampleCount()), float64(wm.GetSummary().GetSampleCount())},
				{"sum", g.GetSummary().GetSampleSum(), wm.GetSummary().GetSampleSum()},
			} {
				if math.Abs(c.got-c.want) > 1e-9 {
					t.Errorf("%s{%s} %s = %v, statsd_exporter %v", name, key, c.what, c.got, c.want)
				}
			}
		}
		if len(gm) != len(byLabels(wf)) {
			t.Errorf("family %s: %d series, statsd_exporter %d", name, len(gm), len(byLabels(wf)))
		}
	}
}

// statsdExporterFamilies runs lines through statsd_exporter's parser and
// exporter and gathers what it would expose.
func statsdExporterFamilies(t *testing.T, lines []string) map[string]*dto.MetricFamily {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	c := func(name string) prometheus.Counter { return prometheus.NewCounter(prometheus.CounterOpts{Name: name}) }
	cv := func(name string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, labels)
	}
	p := line.NewParser()
	p.EnableDogstatsdParsing()
	p.EnableInfluxdbParsing()
	p.EnableLibratoParsing()
	p.EnableSignalFXParsing()
	var events event.Events
	for _, l := range lines {
		events = append(events, p.LineToEvents(l, *cv("sample_errors", "reason"), c("samples"), c("tag_errors"), c("tags"), log)...)
	}
	reg := prometheus.NewRegistry()
	exp := exporter.NewExporter(reg, &mapper.MetricMapper{Logger: log}, log,
		cv("actions", "action"), c("unmapped"), cv("errors", "reason"), cv("events", "type"),
		cv("conflicts", "type", "metric"), prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "metrics"}, []string{"type"}))
	ch := make(chan event.Events, 1)
	ch <- events
	close(ch)
	exp.Listen(ch) // returns once the channel is drained
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func byLabels(f *dto.MetricFamily) map[string]*dto.Metric {
	out := map[string]*dto.Metric{}
	for _, m := range f.Metric {
		var kv []string
		for _, l := range m.Label {
			kv = append(kv, l.GetName()+"="+l.GetValue())
		}
		sort.Strings(kv)
		out[strings.Join(kv, ",")] = m
	}
	return out
}

func keys(m map[string]*dto.Metric) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
