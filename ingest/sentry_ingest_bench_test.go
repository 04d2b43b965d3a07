package ingest

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"runtime/debug"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/storage"
)

// BenchmarkSentryIngest measures one event's whole way through the server
// but the network: the envelope request handled on parallel goroutines as
// fasthttp hands it over, decoded, grouped and compressed, then
// committed durably (SyncWrites on, as the server runs) by the tracker's
// group commit into Badger. It is the CPU and the allocations per event
// that a flood costs, without the load generator and loopback TCP that
// share the machine in make bench-sentry.
func BenchmarkSentryIngest(b *testing.B) {
	raw := readFlood(b)
	const fixtureID = "0123456789abcdef0123456789abcdef" // the flood fixture's event_id
	idAt := bytes.Index(raw, []byte(fixtureID))
	if idAt < 0 {
		b.Fatal("the fixture has no event_id to vary")
	}

	s, _ := newTestSentry(b)

	// The server's collector settings (cmd/telltale): GOGC 30 under a
	// 192 MiB limit, which make the collector's share of a flood.
	defer debug.SetGCPercent(debug.SetGCPercent(30))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(192 << 20))

	var seq atomic.Uint64
	b.SetParallelism(64) // many requests wait on each commit, as in a flood
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		body := append([]byte(nil), raw...)
		var req fasthttp.Request
		var ctx fasthttp.RequestCtx
		addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
		for pb.Next() {
			var id [16]byte
			n := seq.Add(1)
			for i := range 8 {
				id[8+i] = byte(n >> (56 - 8*i))
			}
			hex.Encode(body[idAt:], id[:])
			req.Reset()
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI("/api/1/envelope/")
			req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+testKey+", sentry_version=7")
			req.SetBody(body)
			ctx.Init(&req, addr, nil)
			if !s.Handle(&ctx) {
				b.Fatal("not handled")
			}
			if c := ctx.Response.StatusCode(); c != fasthttp.StatusOK {
				b.Fatalf("status %d: %s", c, ctx.Response.Body())
			}
		}
	})
	b.StopTimer()
	// CPU per event, over every goroutine of the process: the committer's,
	// Badger's and the collector's too. ns/op is wall time, which on this
	// shared machine says less.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// testKey is the ingest key of project 1 in newTestSentry.
const testKey = "0123456789abcdef0123456789abcdef"

// newTestSentry returns a Sentry handler over a real tracker and store in
// a temporary directory, as the server wires them (SyncWrites on, events
// stored as payloads and decoded back by DecodeStoredEvent), with project
// 1 keyed testKey.
func newTestSentry(tb testing.TB) (*Sentry, *issues.Tracker) {
	tb.Helper()
	scfg := storage.DefaultConfig(tb.TempDir())
	scfg.SyncWrites = true
	db, err := storage.Open(scfg, prometheus.NewRegistry(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := issues.New(issues.Config{DecodePayload: DecodeStoredEvent}, db, prometheus.NewRegistry(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := tr.EnsureProjects([]issues.Project{{ID: 1, Slug: "test", Platform: "go", Keys: []string{testKey}}}); err != nil {
		tb.Fatal(err)
	}
	go tr.Run()
	tb.Cleanup(func() {
		if err := tr.Close(context.Background()); err != nil {
			tb.Error(err)
		}
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	s, err := NewSentry(SentryConfig{}, tr, prometheus.NewRegistry(), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s, tr
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
