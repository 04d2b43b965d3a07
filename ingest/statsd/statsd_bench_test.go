package statsd_test

import (
	"testing"

	"github.com/telltale-dev/telltale/ingest/statsd"
)

// benchLines has one line per wire format.
var benchLines = []struct{ format, line string }{
	{"plain_counter", "page.views:1|c"},
	{"dogstatsd_tagged", "api.requests:1|c|#env:prod,service:checkout,region:eu-west-1,code:200"},
	{"influx_tagged", "api.requests,env=prod,service=checkout,region=eu-west-1,code=200:1|c"},
	{"graphite_tagged", "api.requests;env=prod;service=checkout;region=eu-west-1;code=200:1|c"},
	{"timer_rate", "api.latency:320.5|ms|@0.1"},
	{"multi_value", "api.latency:12:15.5:9:22|ms"},
	{"gauge_delta", "queue.depth:-3|g"},
	{"set", "users.unique:alice@example.com|s"},
	// The lines of bench/loadgen's counters workload, without and with 3 tags.
	{"loadgen_counter", "bench.counter.n123:5|c"},
	{"loadgen_3tags", "bench.counter.n123:5|c|#env:e1,region:r3,host:h12"},
}

// BenchmarkParse measures Parse on each wire format (impl=telltale) and, for
// the ratio, statsd_exporter v0.31's LineToEvents with every tag style enabled
// on the same lines (impl=statsd_exporter; it keeps ";k=v" in the name, does
// not parse the graphite line's tags and rejects the set). Compare with:
//
//	go test -run='^$' -bench=BenchmarkParse -benchmem -count=10 ./ingest/statsd/ > bench.txt
//	benchstat -col /impl bench.txt
func BenchmarkParse(b *testing.B) {
	b.Run("impl=telltale", func(b *testing.B) {
		for _, bl := range benchLines {
			b.Run("format="+bl.format, func(b *testing.B) {
				var p statsd.Parser
				dst := make([]statsd.Sample, 0, 8)
				line := []byte(bl.line)
				b.SetBytes(int64(len(line)))
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if dst, err = p.Parse(dst[:0], line); err != nil || len(dst) == 0 {
						b.Fatalf("Parse(%q): got %d samples, error %v", line, len(dst), err)
					}
				}
			})
		}
	})
	b.Run("impl=statsd_exporter", func(b *testing.B) {
		for _, bl := range benchLines {
			b.Run("format="+bl.format, func(b *testing.B) {
				e := newExporter()
				b.SetBytes(int64(len(bl.line)))
				b.ReportAllocs()
				for b.Loop() {
					e.parser.LineToEvents(bl.line, *e.sampleErrors, e.samplesReceived, e.tagErrors, e.tagsReceived, e.log)
				}
			})
		}
	})
}

// TestParseAllocs checks that every benchmark line parses without allocating
// once the Parser and dst have grown.
func TestParseAllocs(t *testing.T) {
	for _, bl := range benchLines {
		var p statsd.Parser
		dst := make([]statsd.Sample, 0, 8)
		line := []byte(bl.line)
		if got := testing.AllocsPerRun(100, func() { dst, _ = p.Parse(dst[:0], line) }); got != 0 {
			t.Errorf("Parse(%q): got %v allocs per line, want 0", bl.line, got)
		}
	}
}
