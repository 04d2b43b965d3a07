package envelope

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// BenchmarkParse measures the framing of envelopes into a reused Envelope.
// "flood" is the load generator's envelope (one 8 KB event with a length),
// "flood-new-id" changes the event id on every iteration as real traffic
// does (one 32-byte string allocated per envelope), "node" is @sentry/node's
// framing without lengths and "go-2items" a transaction plus a client
// report. Compare runs with
//
//	go test -run='^$' -bench=BenchmarkParse -benchmem -count=6 ./ingest/envelope/ > bench.txt
//	benchstat bench.txt
func BenchmarkParse(b *testing.B) {
	flood := readFixture(b, "flood/flood-event-envelope.body")
	for _, bc := range []struct {
		name   string
		body   []byte
		change bool
	}{
		{"flood", flood, false},
		{"flood-new-id", append([]byte(nil), flood...), true},
		{"node", readFixture(b, "node/0009-node-rich-context.body"), false},
		{"go-2items", readFixture(b, "go/0049-transaction+client_report.body"), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var e Envelope
			if err := e.Parse(bc.body, Limits{}); err != nil {
				b.Fatal(err)
			}
			const idAt = len(`{"event_id":"`)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.body)))
			n := 0
			for b.Loop() {
				if bc.change {
					n++
					bc.body[idAt] = "0123456789abcdef"[n%16]
					bc.body[idAt+1] = "0123456789abcdef"[(n/16)%16]
				}
				if err := e.Parse(bc.body, Limits{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// decodeBenchCases are the event payloads BenchmarkDecodeEvent and
// BenchmarkDecoder decode: the flood envelope's (python-shaped, 8 KB, 30
// breadcrumbs), a sentry-go event with request, user and breadcrumbs, and
// an @sentry/node event with source context.
var decodeBenchCases = []struct{ name, file string }{
	{"flood", "flood/flood-event-envelope.body"},
	{"go-rich", "go/0047-rich-context.body"},
	{"node", "node/0003-node-range-error-numbers.body"},
}

// benchDecode measures decode on the first item of the envelope in file.
func benchDecode(b *testing.B, file string, decode func([]byte, int) (*Event, error)) {
	var e Envelope
	if err := e.Parse(readFixture(b, file), Limits{}); err != nil {
		b.Fatal(err)
	}
	payload := e.Items[0].Payload
	b.ReportAllocs()
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, err := decode(payload, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeEvent measures decoding one event payload of each of
// decodeBenchCases. Compare runs with
//
//	go test -run='^$' -bench=BenchmarkDecodeEvent -benchmem -count=6 ./ingest/envelope/ > bench.txt
//	benchstat bench.txt
func BenchmarkDecodeEvent(b *testing.B) {
	for _, bc := range decodeBenchCases {
		// Beside DecodeEvent, in the same run, the encoding/json decoder it
		// replaced.
		for _, dc := range []struct {
			suffix string
			decode func([]byte, int) (*Event, error)
		}{{"", DecodeEvent}, {"-reference", decodeEventReference}} {
			b.Run(bc.name+dc.suffix, func(b *testing.B) { benchDecode(b, bc.file, dc.decode) })
		}
	}
}

// BenchmarkDecoder measures a Decoder's DecodeLeanInPlace on the payloads
// of BenchmarkDecodeEvent, under the same sub-benchmark names, so that
// benchstat compares it with DecodeEvent:
//
//	go test -run='^$' -bench='Benchmark(DecodeEvent|Decoder)/(flood|go-rich|node)$' -benchmem -count=6 ./ingest/envelope/ > bench.txt
//	benchstat -col .name -row /name bench.txt
//
// The "-cached" ones decode with an ExceptionCache, as the server does: the
// same payload again and again is the case of an error flood, where each
// exception value after the second comes from the cache.
func BenchmarkDecoder(b *testing.B) {
	for _, bc := range decodeBenchCases {
		b.Run(bc.name, func(b *testing.B) {
			var d Decoder
			benchDecode(b, bc.file, d.DecodeLeanInPlace)
		})
		b.Run(bc.name+"-cached", func(b *testing.B) {
			d := Decoder{Exceptions: NewExceptionCache(16)}
			benchDecode(b, bc.file, d.DecodeLeanInPlace)
		})
		// Each exception value new (a number in it changes), so that every
		// lookup misses: the cache's cost when exceptions never repeat.
		b.Run(bc.name+"-cached-misses", func(b *testing.B) {
			d := Decoder{Exceptions: NewExceptionCache(16)}
			n := 0
			benchDecode(b, bc.file, func(payload []byte, depth int) (*Event, error) {
				i := bytes.Index(payload, []byte(`"value":"`))
				if i < 0 {
					b.Fatal("no exception value")
				}
				n++
				copy(payload[i+len(`"value":"`):], fmt.Sprintf("%08d", n))
				return d.DecodeLeanInPlace(payload, depth)
			})
		})
		// Four exception values in turn that differ only in their last
		// frame's line (the same error thrown from four places; the
		// payloads have no frames after the exception's): they share
		// their first bytes, each repeats.
		b.Run(bc.name+"-cached-alternating", func(b *testing.B) {
			d := Decoder{Exceptions: NewExceptionCache(16)}
			n := 0
			benchDecode(b, bc.file, func(payload []byte, depth int) (*Event, error) {
				i := bytes.LastIndex(payload, []byte(`"lineno":`))
				if i < bytes.Index(payload, []byte(`"exception"`)) {
					b.Fatal("no frame line in the exception")
				}
				n++
				payload[i+len(`"lineno":`)] = byte('1' + n%4)
				return d.DecodeLeanInPlace(payload, depth)
			})
		})
	}
}
