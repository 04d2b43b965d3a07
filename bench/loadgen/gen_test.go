package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/ingest/statsd"
)

// smallConfigs are the workloads at sizes that keep the test fast.
func smallConfigs() map[string]genConfig {
	return map[string]genConfig{
		"counters":      {Workload: workloadCounters, Tags: -1, Seed: 1},
		"mixed":         {Workload: workloadMixed, Tags: -1, Seed: 1},
		"mixed-tcp":     {Workload: workloadMixed, Tags: -1, Seed: 7, TCP: true},
		"cardinality":   {Workload: workloadCardinality, Tags: -1, Series: 50000, Names: 100, Seed: 1},
		"small-packets": {Workload: workloadMixed, Tags: 8, Names: 300, Seed: 3, Packet: 200},
	}
}

func TestPoolDeterministic(t *testing.T) {
	for name, cfg := range smallConfigs() {
		t.Run(name, func(t *testing.T) {
			a, err := newPool(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, err := newPool(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.data, b.data) || a.len() != b.len() {
				t.Fatalf("two pools with seed %d differ", cfg.Seed)
			}
			cfg.Seed++
			c, err := newPool(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a.data, c.data) {
				t.Fatalf("pools with seeds %d and %d are equal", cfg.Seed-1, cfg.Seed)
			}
		})
	}
}

// TestPoolLinesParse checks every packet against the size limit and every
// line against the project's statsd parser: one sample per line, the
// workload's type and tags, and the packet's counter total.
func TestPoolLinesParse(t *testing.T) {
	for name, cfg := range smallConfigs() {
		t.Run(name, func(t *testing.T) {
			p, err := newPool(cfg)
			if err != nil {
				t.Fatal(err)
			}
			full := cfg.withDefaults()
			var parser statsd.Parser
			var dst []statsd.Sample
			series := make(map[string]struct{})
			types := make(map[statsd.Type]int)
			lines := 0
			for k := range p.len() {
				pkt := p.packet(k)
				if len(pkt) > full.Packet {
					t.Fatalf("packet %d: got %d bytes, want at most %d", k, len(pkt), full.Packet)
				}
				if cfg.TCP != bytes.HasSuffix(pkt, []byte("\n")) {
					t.Fatalf("packet %d: trailing newline is %v, want %v", k, !cfg.TCP, cfg.TCP)
				}
				body := pkt
				if cfg.TCP {
					body = pkt[:len(pkt)-1]
				}
				split := bytes.Split(body, []byte("\n"))
				if len(split) != int(p.lines[k]) {
					t.Fatalf("packet %d: got %d lines, want %d", k, len(split), p.lines[k])
				}
				var sum float64
				counters := 0
				for _, line := range split {
					lines++
					dst, err = parser.Parse(dst[:0], line)
					if err != nil {
						t.Fatalf("line %q: %v", line, err)
					}
					if len(dst) != 1 {
						t.Fatalf("line %q: got %d samples, want 1", line, len(dst))
					}
					s := dst[0]
					types[s.Type]++
					wantTags := full.Tags
					if full.Workload == workloadCardinality {
						wantTags++
					}
					if len(s.Tags) != wantTags {
						t.Fatalf("line %q: got %d tags, want %d", line, len(s.Tags), wantTags)
					}
					key := string(s.Name)
					for _, tag := range s.Tags {
						key += "," + string(tag.Key) + "=" + string(tag.Value)
					}
					series[key] = struct{}{}
					if s.Type == statsd.Counter {
						sum += s.Value / s.Rate
						counters++
					}
					inc, ok := counterIncrement(line)
					if ok != (s.Type == statsd.Counter) || (ok && inc != s.Value/s.Rate) {
						t.Fatalf("line %q: counterIncrement = %v, %v; parser says %v %v/%v", line, inc, ok, s.Type, s.Value, s.Rate)
					}
				}
				if sum != p.counter[k] || counters != int(p.counters[k]) {
					t.Fatalf("packet %d: got counter total %v over %d lines, want %v over %d", k, p.counter[k], p.counters[k], sum, counters)
				}
			}
			if lines != p.total {
				t.Fatalf("got %d lines, pool says %d", lines, p.total)
			}
			if len(series) != p.series {
				t.Fatalf("got %d distinct series, want %d", len(series), p.series)
			}
			if full.Workload == workloadMixed {
				for _, typ := range []statsd.Type{statsd.Counter, statsd.Gauge, statsd.Timer, statsd.Histogram, statsd.Distribution, statsd.Set} {
					if types[typ] == 0 {
						t.Fatalf("mixed workload has no %v lines", typ)
					}
				}
			}
		})
	}
}

// TestPoolCoversSeriesFirst checks that the first series() lines of a pool
// name every series once, which the driver's priming step relies on.
func TestPoolCoversSeriesFirst(t *testing.T) {
	p, err := newPool(genConfig{Workload: workloadCardinality, Tags: -1, Series: 20000, Names: 10, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]bool)
	for k := 0; len(seen) < p.series; k++ {
		for line := range bytes.SplitSeq(p.packet(k), []byte("\n")) {
			if len(seen) == p.series {
				break
			}
			key := string(line[:bytes.IndexByte(line, ':')]) + string(line[bytes.LastIndexByte(line, '#'):])
			if seen[key] {
				t.Fatalf("series %q repeated before all %d were sent", key, p.series)
			}
			seen[key] = true
		}
	}
}

func TestPrefix(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		p, err := newPool(genConfig{Workload: workloadMixed, Tags: -1, Seed: 5, TCP: tcp})
		if err != nil {
			t.Fatal(err)
		}
		pkt := p.packet(3)
		n := int(p.lines[3])
		got, sum, counters := prefix(pkt, n, tcp)
		if !bytes.Equal(got, pkt) || sum != p.counter[3] || counters != int(p.counters[3]) {
			t.Fatalf("tcp=%v: whole prefix differs from the packet", tcp)
		}
		got, _, _ = prefix(pkt, 2, tcp)
		wantLines := 2
		body := got
		if tcp {
			if !bytes.HasSuffix(got, []byte("\n")) {
				t.Fatalf("tcp prefix %q lacks its trailing newline", got)
			}
			body = got[:len(got)-1]
		} else if bytes.HasSuffix(got, []byte("\n")) {
			t.Fatalf("udp prefix %q ends with a newline", got)
		}
		if c := bytes.Count(body, []byte("\n")) + 1; c != wantLines {
			t.Fatalf("tcp=%v: got %d lines, want %d", tcp, c, wantLines)
		}
	}
}

// TestSendLines runs the command against a local UDP socket and checks that
// -lines sends exactly that many lines with the expected counter total.
func TestSendLines(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	// A receive buffer that holds the whole run (about 1 800 datagrams of
	// about 2.3 KB in kernel memory each), so that a CI machine too busy to
	// schedule the reader still loses nothing.
	if err := pc.(*net.UDPConn).SetReadBuffer(8 << 20); err != nil {
		t.Fatal(err)
	}
	type result struct {
		lines int
		sum   float64
	}
	got := make(chan result, 1)
	const want = 50001 // not a multiple of the packet size
	go func() {
		var r result
		var parser statsd.Parser
		var dst []statsd.Sample
		buf := make([]byte, 65536)
		for r.lines < want {
			pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			for line := range bytes.SplitSeq(buf[:n], []byte("\n")) {
				r.lines++
				dst, _ = parser.Parse(dst[:0], line)
				for _, s := range dst {
					if s.Type == statsd.Counter {
						r.sum += s.Value / s.Rate
					}
				}
			}
		}
		got <- r
	}()
	var out strings.Builder
	// Paced well below loopback's limits so that no datagram is dropped.
	args := []string{"-addr", pc.LocalAddr().String(), "-workload", "mixed", "-lines", "50001", "-rate", "100000", "-senders", "2", "-duration", "0"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var sum summary
	if err := json.Unmarshal([]byte(out.String()), &sum); err != nil {
		t.Fatalf("summary %q: %v", out.String(), err)
	}
	if sum.Lines != want {
		t.Fatalf("summary: got %d lines, want %d", sum.Lines, want)
	}
	if sum.Seconds < 0.4 {
		t.Fatalf("50001 lines at 100000 lines/s took %.3fs, want about 0.5s", sum.Seconds)
	}
	r := <-got
	if r.lines != want || r.sum != sum.CounterSum {
		t.Fatalf("received %d lines, counter total %v; want %d, %v", r.lines, r.sum, want, sum.CounterSum)
	}
}

// TestSendTCP checks that -proto tcp sends exactly -lines newline-ended
// lines over one stream per sender.
func TestSendTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan int, 2)
	go func() {
		for range 2 {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				if len(b) > 0 && b[len(b)-1] != '\n' {
					got <- -1
					return
				}
				got <- bytes.Count(b, []byte("\n"))
			}()
		}
	}()
	var out strings.Builder
	args := []string{"-addr", l.Addr().String(), "-proto", "tcp", "-workload", "cardinality", "-series", "5000", "-names", "50", "-lines", "12345", "-senders", "2", "-duration", "0"}
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	total := <-got + <-got
	if total != 12345 {
		t.Fatalf("received %d lines over TCP, want 12345", total)
	}
}
