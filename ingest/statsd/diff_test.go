package statsd_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/statsd_exporter/pkg/event"
	"github.com/prometheus/statsd_exporter/pkg/line"
	"github.com/prometheus/statsd_exporter/pkg/mapper"

	"github.com/telltale-dev/telltale/ingest/statsd"
)

// exporter wraps statsd_exporter's line parser with every tag style enabled,
// throwaway counters and a discarding logger.
type exporter struct {
	parser                                   *line.Parser
	sampleErrors                             *prometheus.CounterVec
	samplesReceived, tagErrors, tagsReceived prometheus.Counter
	log                                      *slog.Logger
}

func newExporter() *exporter {
	p := line.NewParser()
	p.EnableDogstatsdParsing()
	p.EnableInfluxdbParsing()
	p.EnableLibratoParsing()
	p.EnableSignalFXParsing()
	return &exporter{
		parser:          p,
		sampleErrors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sample_errors"}, []string{"reason"}),
		samplesReceived: prometheus.NewCounter(prometheus.CounterOpts{Name: "samples_received"}),
		tagErrors:       prometheus.NewCounter(prometheus.CounterOpts{Name: "tag_errors"}),
		tagsReceived:    prometheus.NewCounter(prometheus.CounterOpts{Name: "tags_received"}),
		log:             slog.New(slog.DiscardHandler),
	}
}

// parse runs LineToEvents, turning a panic into panicked.
func (e *exporter) parse(l string) (evs event.Events, panicked bool) {
	defer func() {
		if recover() != nil {
			evs, panicked = nil, true
		}
	}()
	return e.parser.LineToEvents(l, *e.sampleErrors, e.samplesReceived, e.tagErrors, e.tagsReceived, e.log), false
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// exporterEvent is one statsd_exporter event in comparable form.
type exporterEvent struct {
	name     string
	labels   string // sorted k="v" pairs
	kind     string // counter, gauge, observer
	value    float64
	relative bool
}

func (e exporterEvent) String() string {
	rel := ""
	if e.relative {
		rel = " relative"
	}
	return fmt.Sprintf("%q{%s} %s %v%s", e.name, e.labels, e.kind, e.value, rel)
}

func labelString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

// fromExporter converts statsd_exporter's events. Its container_id label is
// dropped (exception: Telltale skips "|c:").
func fromExporter(evs event.Events, dropContainerID bool) []exporterEvent {
	var out []exporterEvent
	for _, ev := range evs {
		labels := ev.Labels()
		if dropContainerID {
			labels = maps(labels)
			delete(labels, "container_id")
		}
		e := exporterEvent{name: ev.MetricName(), labels: labelString(labels), value: ev.Value()}
		switch ev := ev.(type) {
		case *event.CounterEvent:
			e.kind = "counter"
		case *event.GaugeEvent:
			e.kind, e.relative = "gauge", ev.GRelative
		case *event.ObserverEvent:
			e.kind = "observer"
		}
		out = append(out, e)
	}
	return out
}

func maps(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// toExporter says what statsd_exporter should produce for our samples: label
// keys escaped with mapper.EscapeMetricName (the last of equal keys wins, as
// in its label map), counters divided by their rate, timers converted to
// seconds, observations repeated int(1/rate) times. Sets are left out
// (exception: statsd_exporter rejects them).
func toExporter(ss []statsd.Sample) []exporterEvent {
	var out []exporterEvent
	for _, s := range ss {
		labels := map[string]string{}
		for _, t := range s.Tags {
			labels[mapper.EscapeMetricName(string(t.Key))] = string(t.Value)
		}
		e := exporterEvent{name: string(s.Name), labels: labelString(labels), value: s.Value}
		n := 1
		switch s.Type {
		case statsd.Set:
			continue
		case statsd.Counter:
			e.kind, e.value = "counter", s.Value/s.Rate
		case statsd.Gauge:
			e.kind, e.relative = "gauge", s.Relative
		case statsd.Timer:
			e.kind, e.value, n = "observer", s.Value/1000, int(1/s.Rate)
		case statsd.Histogram, statsd.Distribution:
			e.kind, n = "observer", int(1/s.Rate)
		}
		for range n {
			out = append(out, e)
		}
	}
	return out
}

// diffCase is what an exception may look at.
type diffCase struct {
	line     string
	reason   string // statsd.Reason of our error
	panicked bool   // statsd_exporter panicked
}

func (c diffCase) namePart() string {
	name, _, _ := strings.Cut(c.line, ":")
	return name
}

// exceptions lists every known way in which the two parsers disagree on a
// line. A line on which the results differ must match one of them. Two more
// are handled in the comparison itself and need no entry: sets (statsd_exporter
// rejects them, so our Set samples are left out) and the container id
// (statsd_exporter turns "|c:<id>" into a container_id label, which is removed).
var exceptions = []struct {
	why     string
	applies func(c diffCase) bool
}{
	{"graphite tags: statsd_exporter keeps \";k=v\" in the name", func(c diffCase) bool {
		return strings.Contains(c.namePart(), ";")
	}},
	{"trailing \\r: statsd_exporter reads the type as \"c\\r\" and rejects the line", func(c diffCase) bool {
		return strings.HasSuffix(c.line, "\r")
	}},
	{"DogStatsD origin fields |c: |e: |card: are skipped, and a line with one is not split at ':'; statsd_exporter splits it, or rejects |e: and |card:", func(c diffCase) bool {
		return strings.Contains(c.line, "|c:") || strings.Contains(c.line, "|e:") || strings.Contains(c.line, "|card:")
	}},
	{"more than four '|' fields after the type: statsd_exporter rejects them", func(c diffCase) bool {
		return strings.Count(c.line, "|") > 5
	}},
	{"NaN and ±Inf values are rejected", func(c diffCase) bool {
		l := strings.ToLower(c.line)
		return c.reason == "bad_value" && (strings.Contains(l, "nan") || strings.Contains(l, "inf"))
	}},
	{"negative counters are rejected by the parser (statsd_exporter's exporter drops them later)", func(c diffCase) bool {
		return c.reason == "negative_counter"
	}},
	{"a rate that is not a number in [0, 1], or a second rate, is rejected (statsd_exporter counts an error and goes on with rate 1, divides twice, or drops observations)", func(c diffCase) bool {
		return c.reason == "bad_rate"
	}},
	{"a name left empty by its tags is rejected", func(c diffCase) bool { return c.reason == "empty_name" }},
	{"more than MaxTags tags are rejected", func(c diffCase) bool { return c.reason == "too_many_tags" }},
	{"DogStatsD events and service checks are not parsed as metrics", func(c diffCase) bool {
		return c.reason == "event" || c.reason == "service_check"
	}},
	{"statsd_exporter panics on ']' before '[' in the name", func(c diffCase) bool { return c.panicked }},
}

// diffCorpus returns the lines of the table tests, some more edge cases, and
// generated lines.
func diffCorpus() []string {
	var lines []string
	for _, tc := range acceptedCases {
		lines = append(lines, tc.line)
	}
	for _, tc := range rejectedCases {
		lines = append(lines, tc.line)
	}
	lines = append(lines,
		"a:1|c|@0.3", "t:7|ms|@0.3", "h:7|h|@0.1", "d:1:2|d|@0.5|#k:v", "t:1:2|ms|@0",
		"a-b.c:1|c|#a-b:1,a_b:2", "a:1|c|#1x:y", "a:1|c|#k:v,k:w", "a,k=v,k=w:1|c",
		"a:1|c:2|c|#k:v", "a:1|c|@0.5:2|c", "a:1|c|T1:2|g", "a[]:1|c", "a[k=v]b,c=d:1|c",
		"a#k=v,x=y:1|g:+1|g", "a:0x10|c", "a:1e-3|ms", "a:-0.0|g", "a:+0|g", "a:00012|c",
		"a:1|c|#,k:v", "a:1|c|#k:v,", "a:1|c|#:", "a:1|c|#k", "a:1|c|#=", "a:1|c|#k=v",
		"a:1|ms|@0.5|@0.5", "a:1|c|@0.5|@0.5", "a:2|c|@1e-3", "a:1|g|@abc", "a:1|s|@0.1",
		"a::1|c", "a:1|c::", "a:|", "a:1||c", "a:1:|ms", "a:1|ms:2|ms", "a:1:2:3|ms:4",
		"_e{1,1}:1|c", "_sc|x:1|c", "a:1|c|c:", "a:1|c|#k:v|c:", "a:1|c|#k:v|c:id|e:x",
	)
	return append(lines, generateLines(rand.New(rand.NewPCG(20260101, 1)), 500)...)
}

// generateLines makes n lines from fragments of every shape, mostly valid.
func generateLines(rng *rand.Rand, n int) []string {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	chance := func(p float64) bool { return rng.Float64() < p }
	tagList := func(sep, kv string) string {
		var parts []string
		for range 1 + rng.IntN(4) {
			switch {
			case chance(0.85):
				parts = append(parts, pick("env", "host", "k", "region", "a-b", "a.b", "1x", "ü")+kv+pick("prod", "h1", "v", "x:y", "a=b", "ümlaut", "1"))
			default:
				parts = append(parts, pick("", "k", kv+"v", "k"+kv, "#k"+kv+"v"))
			}
		}
		return strings.Join(parts, sep)
	}
	value := func() string {
		switch {
		case chance(0.4):
			return strconv.Itoa(rng.IntN(2000) - 200)
		case chance(0.4):
			return strconv.FormatFloat(rng.NormFloat64()*1e3, pick("f", "g", "e")[0], -1, 64)
		case chance(0.6):
			return pick("0", "1", "+2", "-3", "3.14", "1e3", ".5", "5.", "0x1p-2", "1_000", "007", "-0")
		}
		return pick("NaN", "Inf", "-Inf", "1e400", "", "x", " 1", "1 ", "12345678901234567890123")
	}
	var lines []string
	for range n {
		var b strings.Builder
		b.WriteString(pick("page.views", "a", "my_metric", "foo-bar", "1st", "a.b.c", "ünï", "sp ace", "x|y", "A.B"))
		nameTags := chance(0.3)
		if nameTags {
			switch rng.IntN(10) {
			case 0, 1, 2:
				b.WriteString("," + tagList(",", "="))
			case 3, 4:
				b.WriteString("#" + tagList(",", "="))
			case 5, 6:
				b.WriteString("[" + tagList(",", "=") + "]" + pick("", "", ".suffix"))
			case 7:
				b.WriteString(";" + tagList(";", "="))
			default:
				b.WriteString(pick(",", ",,", "[k=v", "k=v]", ",k", ",=v"))
			}
		}
		b.WriteByte(':')
		typ := pick("c", "c", "g", "ms", "h", "d", "s")
		if chance(0.05) {
			typ = pick("x", "", "C", "c ", "gauge")
		}
		switch {
		case chance(0.1) && (typ == "ms" || typ == "h" || typ == "d" || chance(0.3)): // value packing
			for i := range 2 + rng.IntN(3) {
				if i > 0 {
					b.WriteByte(':')
				}
				b.WriteString(value())
			}
			b.WriteString("|" + typ)
		case chance(0.1): // statsd multi-metric
			for i := range 2 + rng.IntN(2) {
				if i > 0 {
					b.WriteByte(':')
				}
				b.WriteString(value() + "|" + pick("c", "g", "ms", "h", "d", "s"))
				if chance(0.3) {
					b.WriteString("|@" + pick("0.5", "0.1", "1"))
				}
			}
		default:
			b.WriteString(value() + "|" + typ)
		}
		var fields []string
		if chance(0.3) {
			fields = append(fields, "@"+pick("0.5", "0.1", "0.25", "1", "0", "0.3", "2", "abc", "", "-1"))
		}
		if chance(0.4) && (!nameTags || chance(0.3)) {
			fields = append(fields, "#"+tagList(",", ":"))
		}
		if chance(0.1) {
			fields = append(fields, pick("T1656581400", "c:abc123", "e:it-false", "card:high", "", "zz", "c:"))
		}
		rng.Shuffle(len(fields), func(i, j int) { fields[i], fields[j] = fields[j], fields[i] })
		for _, f := range fields {
			b.WriteString("|" + f)
		}
		if chance(0.03) {
			b.WriteByte('\r')
		}
		lines = append(lines, b.String())
	}
	return lines
}

// TestDifferentialStatsdExporter compares Parse with statsd_exporter's
// LineToEvents (all tag styles enabled) on every line of the corpus.
func TestDifferentialStatsdExporter(t *testing.T) {
	theirs := newExporter()
	var p statsd.Parser
	hits := map[string]int{}
	var both, compared int
	for _, l := range diffCorpus() {
		badTags := p.BadTags
		tagErrors, samples := counterValue(theirs.tagErrors), counterValue(theirs.samplesReceived)
		ours, err := p.Parse(nil, []byte(l))
		want := toExporter(ours)
		evs, panicked := theirs.parse(l)
		got := fromExporter(evs, strings.Contains(l, "|c:"))
		if slices.Equal(got, want) {
			compared++
			if len(want) == 0 {
				continue
			}
			both++
			// With one value on the line, both count the same malformed tags.
			if len(ours) == 1 && counterValue(theirs.samplesReceived)-samples == 1 {
				if g, w := counterValue(theirs.tagErrors)-tagErrors, float64(p.BadTags-badTags); g != w {
					t.Errorf("%q: statsd_exporter counted %v tag errors, want %v", l, g, w)
				}
			}
			continue
		}
		c := diffCase{line: l, reason: statsd.Reason(err), panicked: panicked}
		matched := ""
		for _, e := range exceptions {
			if e.applies(c) {
				matched = e.why
				break
			}
		}
		if matched == "" {
			t.Errorf("%q: statsd_exporter got %v, want %v (our error: %v)", l, got, want, err)
			continue
		}
		hits[matched]++
	}
	t.Logf("%d lines give the same result, %d of them accepted by both", compared, both)
	for _, e := range exceptions {
		t.Logf("%4d differ: %s", hits[e.why], e.why)
	}
	if both < 250 {
		t.Errorf("got %v lines accepted by both parsers, want at least 250", both)
	}
}
