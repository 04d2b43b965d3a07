package grouping

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// benchGoEvent is a realistic sentry-go panic: 20 frames, 6 of them runtime
// or net/http, the rest in-app.
func benchGoEvent() *Event {
	frames := make([]Frame, 0, 20)
	for i := 0; i < 6; i++ {
		frames = append(frames, goFrame("net/http", fmt.Sprintf("(*conn).serve%d", i), "/usr/local/go/src/net/http/server.go", 2000+i, false))
	}
	for i := 0; i < 14; i++ {
		frames = append(frames, goFrame(fmt.Sprintf("github.com/acme/shop/internal/svc%d", i%4), fmt.Sprintf("(*Service).step%d", i), fmt.Sprintf("/src/shop/internal/svc%d/step.go", i%4), 40+i, true))
	}
	return &Event{Platform: "go", Level: "error", Transaction: "POST /checkout",
		Exceptions: []Exception{{Type: "*errors.errorString", Value: "order 1234 failed for user 77", Frames: frames}}}
}

// benchNodeEvent is a realistic @sentry/node error: 20 frames with context
// lines, node_modules and node: internals not in-app.
func benchNodeEvent() *Event {
	frames := make([]Frame, 0, 20)
	for i := 0; i < 8; i++ {
		frames = append(frames, Frame{Filename: "/app/node_modules/express/lib/router/layer.js", Module: "express.lib.router:layer",
			Function: "Layer.handle [as handle_request]", ContextLine: "    fn(req, res, next);", Lineno: 95 + i, Colno: 5, InApp: boolp(false)})
	}
	for i := 0; i < 12; i++ {
		frames = append(frames, Frame{Filename: "/app/src/routes/orders.js", Module: "routes:orders",
			Function: fmt.Sprintf("Object.handler%d", i), ContextLine: fmt.Sprintf("  const total = await computeTotal(order, items[%d]);", i), Lineno: 10 + i, Colno: 17, InApp: boolp(true)})
	}
	return &Event{Platform: "node", Level: "error",
		Exceptions: []Exception{{Type: "TypeError", Value: "Cannot read properties of undefined (reading 'price')", Frames: frames}}}
}

// groupBenchCases are the events BenchmarkGroup and BenchmarkGrouper group.
func groupBenchCases() []struct {
	name string
	ev   *Event
} {
	return []struct {
		name string
		ev   *Event
	}{
		{"go-20-frames", benchGoEvent()},
		{"node-20-frames", benchNodeEvent()},
		{"message", msgEvent("cache miss for key user:4000 after 12ms on cache-1.example.com")},
		{"go-chain-fingerprint", goChainFingerprintEvent()},
	}
}

// goChainFingerprintEvent is a wrapped sentry-go error (root cause without
// frames, the wrapper with them) with a hybrid fingerprint.
func goChainFingerprintEvent() *Event {
	e := benchGoEvent()
	e.Exceptions = append([]Exception{{Type: "*pq.Error", Value: "deadlock detected (code 1205)"}}, e.Exceptions...)
	e.Fingerprint = []string{"{{ default }}", "{{ tags.region }}"}
	e.Tags = []Tag{{"region", "eu"}}
	return e
}

// BenchmarkGroup measures Group on 20-frame events. Compare runs with
//
//	go test -run='^$' -bench=Group -benchmem -count=6 ./aggregate/grouping/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkGroup(b *testing.B) {
	for _, bc := range groupBenchCases() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Group(bc.ev)
			}
		})
	}
}

// BenchmarkGrouper measures Grouper.Group on the events of BenchmarkGroup,
// with one Grouper per case as ingest keeps one per request scratch
// (-bench=Group runs both).
func BenchmarkGrouper(b *testing.B) {
	for _, bc := range groupBenchCases() {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var g Grouper
			for b.Loop() {
				_ = g.Group(bc.ev)
			}
		})
		// With a memo, as ingest groups: an event whose exceptions repeat
		// (an error flood) takes its grouping from their memo. The cases
		// with a fingerprint never use it.
		b.Run(bc.name+"-cached", func(b *testing.B) {
			b.ReportAllocs()
			var g Grouper
			ev := *bc.ev
			ev.ExceptionsMemo = new(atomic.Value)
			for b.Loop() {
				_ = g.Group(&ev)
			}
		})
	}
}

// normalizeBenchCases are typical messages for the parameterizer.
var normalizeBenchCases = []struct{ name, msg string }{
	{"no-candidates", "connection refused by upstream"},
	{"typical", "order 1234 for bob@example.com failed at 2026-11-26T00:22:00Z (request 3f2a1b4c-1111-2222-3333-444455556666)"},
}

// BenchmarkNormalize measures the parameterizer on a typical message.
func BenchmarkNormalize(b *testing.B) {
	benchmarkNormalize(b, Normalize)
}

// BenchmarkNormalizeRegexp measures the regexp that Normalize replaced
// (normalize_ref_test.go), for comparison.
func BenchmarkNormalizeRegexp(b *testing.B) {
	benchmarkNormalize(b, normalizeRef)
}

func benchmarkNormalize(b *testing.B, normalize func(string) string) {
	for _, bc := range normalizeBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.msg)))
			for b.Loop() {
				_ = normalize(bc.msg)
			}
		})
	}
}
