package ingest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/telltale-dev/telltale/aggregate"
)

// discard is an Appender that counts samples and keeps nothing.
type discard struct{ n int }

func (d *discard) Add(*aggregate.Sample) error {
	d.n++
	return nil
}

// benchLines returns the lines of one wire format, numbered so that names
// differ as they do in real traffic.
var benchFormats = []struct {
	name string
	line func(i int) string
}{
	{"counter", func(i int) string { return fmt.Sprintf("app.requests.%d:1|c", i%100) }},
	{"dogstatsd", func(i int) string {
		return fmt.Sprintf("app.requests.%d:1|c|@0.5|#env:prod,route:/api/v1/items,status:200", i%100)
	}},
	{"influx", func(i int) string { return fmt.Sprintf("app.requests.%d,env=prod,status=200:1|c", i%100) }},
	{"mixed", func(i int) string {
		switch i % 4 {
		case 0:
			return fmt.Sprintf("app.requests.%d:1|c|#env:prod", i%100)
		case 1:
			return fmt.Sprintf("app.queue.%d:%d|g", i%100, i)
		case 2:
			return fmt.Sprintf("app.latency.%d:%d.5|ms|#env:prod,route:/x", i%100, i%500)
		default:
			return fmt.Sprintf("app.users.%d:user%d|s", i%100, i%1000)
		}
	}},
}

// benchChunk returns lines of one format, '\n'-separated, filling up to
// size bytes, and how many lines it holds.
func benchChunk(line func(int) string, size int) ([]byte, int) {
	var b bytes.Buffer
	n := 0
	for {
		l := line(n)
		if b.Len()+len(l)+1 > size {
			return b.Bytes(), n
		}
		b.WriteString(l)
		b.WriteByte('\n')
		n++
	}
}

// BenchmarkStatsdWorker measures a UDP worker over one full chunk: split,
// parse, convert, Add (to an Appender that only counts) and the per-chunk
// metric update. It must report 0 allocs/op.
//
//	go test -run='^$' -bench=StatsdWorker -benchmem -count=6 ./ingest/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkStatsdWorker(b *testing.B) {
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, func() Appender { return &discard{} }, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			data, lines := benchChunk(f.line, chunkSize)
			app := &discard{}
			h := newLineHandler(app, s.m, DefaultStatsdMaxLineLength, transportUDP)
			h.handleChunk(data) // warm the scratch slices
			h.flush()
			app.n = 0
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h.handleChunk(data)
				h.flush()
			}
			if app.n == 0 || app.n%lines != 0 {
				b.Fatalf("got %d samples, want a multiple of %d", app.n, lines)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}

// BenchmarkStatsdUDP sends datagrams of about 1400 bytes (the DataDog
// client's default payload) through a real loopback socket to a running
// server and waits until every line is appended or counted as dropped.
// Sender and server share the machine, so ns/line includes the sending.
//
//	go test -run='^$' -bench=StatsdUDP -benchmem -count=6 ./ingest/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkStatsdUDP(b *testing.B) {
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			var mu sync.Mutex
			var apps []*discard
			s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, func() Appender {
				mu.Lock()
				defer mu.Unlock()
				d := &discard{}
				apps = append(apps, d)
				return d
			}, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(); err != nil {
				b.Fatal(err)
			}
			c, err := net.DialUDP("udp", nil, s.UDPAddr().(*net.UDPAddr))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			packet, lines := benchChunk(f.line, 1400)
			b.ReportAllocs()
			b.SetBytes(int64(len(packet)))
			sent := 0
			for b.Loop() {
				if _, err := c.Write(packet); err != nil {
					b.Fatal(err)
				}
				sent++
			}
			// Let the readers catch up with what the kernel holds, then
			// drain the queue through Close.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				read := int(testutil.ToFloat64(s.m.packetsUDP)) + int(s.kernelDrops())
				if read >= sent {
					break
				}
				time.Sleep(time.Millisecond)
			}
			if err := s.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			got := 0
			for _, a := range apps {
				got += a.n
			}
			want := sent * lines
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(want), "ns/line")
			b.ReportMetric(100*float64(want-got)/float64(want), "%lost")
			b.ReportMetric(100*testutil.ToFloat64(s.m.queueDropped)/float64(sent), "%queue_dropped")
			b.ReportMetric(100*s.kernelDrops()/float64(sent), "%kernel_dropped")
		})
	}
}

// BenchmarkStatsdPipeline is BenchmarkStatsdWorker with the real
// aggregator behind it: split, parse, convert, hash, look up and aggregate,
// the whole CPU cost of a line once it is off the socket.
//
//	go test -run='^$' -bench=StatsdPipeline -benchmem -count=6 ./ingest/ | tee new.txt
func BenchmarkStatsdPipeline(b *testing.B) {
	for _, f := range benchFormats {
		b.Run(f.name, func(b *testing.B) {
			agg, err := aggregate.New(aggregate.DefaultConfig(), nil, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, func() Appender { return agg.NewAppender() }, nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			data, lines := benchChunk(f.line, chunkSize)
			h := newLineHandler(agg.NewAppender(), s.m, DefaultStatsdMaxLineLength, transportUDP)
			h.handleChunk(data) // create the series
			h.flush()
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				h.handleChunk(data)
				h.flush()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*lines), "ns/line")
		})
	}
}
