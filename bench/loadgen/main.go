// Command loadgen sends a deterministic statsd load to a UDP or TCP address,
// for benchmarks (bench/statsdbench runs it) and for soak tests.
//
// The load is one of three workloads:
//
//   - counters: counter lines over -names names (default 1 000), no tags;
//   - mixed: DogStatsD lines over -names names (default 10 000) with -tags
//     tags each (default 3), types c, g, ms, h, d and s in a fixed mix, one
//     type per name, one counter line in ten sampled at @0.5;
//   - cardinality: counter lines over -series distinct series (default
//     1 000 000), -names names times an "id" tag.
//
// Everything is drawn from one PRNG seeded by -seed, so a seed always gives
// the same lines in the same packets. The packets are generated before the
// clock starts (a pool of seeded permutations of all series, at least 65 536
// lines), each filled with whole lines up to -packet bytes, and then sent in
// a loop, so that generating costs almost no CPU while sending. Each of
// -senders goroutines owns a socket and the packets whose stream index is its
// number modulo -senders, and paces itself with a token bucket of -rate /
// -senders lines/s (0: flat out) that holds at most 20 ms of tokens, so a
// stalled sender does not catch up with a long burst.
//
// Counter values are integers, so the total the server should count is exact
// and printed as counter_sum. At the end loadgen prints one JSON object:
// lines, packets and bytes sent, seconds, achieved lines/s and packets/s,
// counter lines and their total, and its own CPU time.
//
// Usage:
//
//	loadgen -addr 127.0.0.1:8125 -workload mixed -rate 500000 -duration 30s
//	loadgen -addr 127.0.0.1:8125 -workload cardinality -lines 1000000 -rate 200000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/telltale-dev/telltale/bench/benchproc"
)

func main() { benchproc.Main("loadgen", run) }

// options are the command-line flags.
type options struct {
	addr     string
	proto    string
	gen      genConfig
	rate     float64
	duration time.Duration
	lines    int64
	senders  int
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8125", "statsd `host:port` to send to")
	fs.StringVar(&o.proto, "proto", "udp", "transport: udp or tcp")
	fs.StringVar(&o.gen.Workload, "workload", workloadCounters, "counters, mixed or cardinality")
	fs.IntVar(&o.gen.Names, "names", 0, "distinct metric names (0: workload default: counters 1000, mixed 10000, cardinality 1000)")
	fs.IntVar(&o.gen.Tags, "tags", -1, "DogStatsD tags per line (-1: workload default: mixed 3, else 0)")
	fs.IntVar(&o.gen.Series, "series", 0, "distinct series of the cardinality workload (0: 1000000)")
	fs.Uint64Var(&o.gen.Seed, "seed", 1, "PRNG seed; the same seed sends the same lines")
	fs.IntVar(&o.gen.Packet, "packet", 1432, "maximum packet payload in `bytes`")
	fs.Float64Var(&o.rate, "rate", 0, "target lines/s over all senders (0: flat out)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "stop after this long (0: no limit; then -lines must be set)")
	fs.Int64Var(&o.lines, "lines", 0, "stop after this many lines (0: no limit)")
	fs.IntVar(&o.senders, "senders", 1, "sending goroutines, each with its own socket")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments %q", errConfig, fs.Args())
	}
	switch o.proto {
	case "udp":
	case "tcp":
		o.gen.TCP = true
	default:
		return o, fmt.Errorf("%w: unknown -proto %q", errConfig, o.proto)
	}
	if o.senders < 1 {
		return o, fmt.Errorf("%w: -senders must be at least 1", errConfig)
	}
	if o.rate < 0 || o.lines < 0 || o.duration < 0 {
		return o, fmt.Errorf("%w: -rate, -lines and -duration must not be negative", errConfig)
	}
	if o.duration == 0 && o.lines == 0 {
		return o, fmt.Errorf("%w: set -duration or -lines", errConfig)
	}
	o.gen = o.gen.withDefaults()
	return o, o.gen.validate()
}

// summary is the JSON object printed at the end of a run.
type summary struct {
	Workload       string  `json:"workload"`
	Proto          string  `json:"proto"`
	Addr           string  `json:"addr"`
	Seed           uint64  `json:"seed"`
	Senders        int     `json:"senders"`
	TargetRate     float64 `json:"target_rate"`
	Lines          int64   `json:"lines"`
	Packets        int64   `json:"packets"`
	Bytes          int64   `json:"bytes"`
	CounterLines   int64   `json:"counter_lines"`
	CounterSum     float64 `json:"counter_sum"`
	WriteErrors    int64   `json:"write_errors"`
	Seconds        float64 `json:"seconds"`
	LinesPerSec    float64 `json:"lines_per_sec"`
	PacketsPerSec  float64 `json:"packets_per_sec"`
	Series         int     `json:"series"`
	SeriesSent     int     `json:"series_sent"`
	PoolLines      int     `json:"pool_lines"`
	PoolPackets    int     `json:"pool_packets"`
	GenSeconds     float64 `json:"gen_seconds"`
	CPUSeconds     float64 `json:"cpu_seconds"`      // whole process, generation included
	SendCPUSeconds float64 `json:"send_cpu_seconds"` // while sending
	Error          string  `json:"error,omitempty"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	genStart := time.Now()
	p, err := newPool(o.gen)
	if err != nil {
		return err
	}
	genSeconds := time.Since(genStart).Seconds()
	// statsdbench waits for this line to start its CPU window.
	fmt.Fprintf(stderr, "loadgen: sending %d-line pool of %d packets (%d series), generated in %.3fs\n", p.total, p.len(), p.series, genSeconds)

	cpuStart := cpuSeconds()
	sum, sendErr := send(ctx, o, p)
	sum.GenSeconds = genSeconds
	sum.CPUSeconds = cpuSeconds()
	sum.SendCPUSeconds = sum.CPUSeconds - cpuStart
	if sendErr != nil {
		sum.Error = sendErr.Error()
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(sum); err != nil {
		return err
	}
	return sendErr
}

// plan says which stream packets a run sends when -lines is set: packets
// [0, full) whole, then packet full cut to partial lines.
type plan struct {
	limited bool
	full    int64
	partial int
}

func newPlan(p *pool, lines int64) plan {
	if lines <= 0 {
		return plan{}
	}
	cycles := lines / int64(p.total)
	rest := int(lines % int64(p.total))
	k := 0
	for k < p.len() && int(p.lines[k]) <= rest {
		rest -= int(p.lines[k])
		k++
	}
	return plan{limited: true, full: cycles*int64(p.len()) + int64(k), partial: rest}
}

// sender state, one per goroutine.
type senderStats struct {
	lines, packets, bytes, counters, errs int64
	counterSum                            float64
	last                                  time.Time
	err                                   error
}

func send(ctx context.Context, o options, p *pool) (summary, error) {
	sum := summary{
		Workload:    o.gen.Workload,
		Proto:       o.proto,
		Addr:        o.addr,
		Seed:        o.gen.Seed,
		Senders:     o.senders,
		TargetRate:  o.rate,
		Series:      p.series,
		PoolLines:   p.total,
		PoolPackets: p.len(),
	}
	conns := make([]net.Conn, o.senders)
	for i := range conns {
		c, err := net.Dial(o.proto, o.addr)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return sum, fmt.Errorf("dial %s %s: %w", o.proto, o.addr, err)
		}
		conns[i] = c
	}
	pl := newPlan(p, o.lines)
	stats := make([]senderStats, o.senders)
	start := time.Now()
	var deadline time.Time
	if o.duration > 0 {
		deadline = start.Add(o.duration)
	}
	var wg sync.WaitGroup
	for i := range o.senders {
		wg.Go(func() {
			stats[i] = sendLoop(ctx, conns[i], i, o, p, pl, start, deadline)
			conns[i].Close()
		})
	}
	wg.Wait()

	var last time.Time
	var firstErr error
	for _, s := range stats {
		sum.Lines += s.lines
		sum.Packets += s.packets
		sum.Bytes += s.bytes
		sum.CounterLines += s.counters
		sum.CounterSum += s.counterSum
		sum.WriteErrors += s.errs
		if s.last.After(last) {
			last = s.last
		}
		if firstErr == nil && s.err != nil {
			firstErr = s.err
		}
	}
	if last.Before(start) {
		last = time.Now()
	}
	sum.Seconds = last.Sub(start).Seconds()
	if sum.Seconds > 0 {
		sum.LinesPerSec = float64(sum.Lines) / sum.Seconds
		sum.PacketsPerSec = float64(sum.Packets) / sum.Seconds
	}
	sum.SeriesSent = int(min(sum.Lines, int64(p.series)))
	return sum, firstErr
}

// maxConsecutiveErrors stops a UDP sender whose writes keep failing (no
// listener: the kernel reports connection refused on a connected socket).
const maxConsecutiveErrors = 1000

func sendLoop(ctx context.Context, conn net.Conn, id int, o options, p *pool, pl plan, start, deadline time.Time) senderStats {
	var st senderStats
	var w io.Writer = conn
	var bw *bufio.Writer
	if o.gen.TCP {
		bw = bufio.NewWriterSize(conn, 64<<10)
		w = bw
	}
	n := int64(o.senders)
	b := newBucket(o.rate/float64(o.senders), maxLines(p), start)
	consecutive := 0
	write := func(pkt []byte, lines int, counters int, csum float64) bool {
		b.take(lines)
		if _, err := w.Write(pkt); err != nil {
			st.errs++
			consecutive++
			if o.gen.TCP || consecutive >= maxConsecutiveErrors {
				st.err = fmt.Errorf("sender %d: %w", id, err)
				return false
			}
			return true
		}
		consecutive = 0
		st.lines += int64(lines)
		st.packets++
		st.bytes += int64(len(pkt))
		st.counters += int64(counters)
		st.counterSum += csum
		return true
	}
	done := ctx.Done()
	check := 0
	i := int64(id)
	for ; !pl.limited || i < pl.full; i += n {
		if check++; check&63 == 0 {
			select {
			case <-done:
				return finish(&st, bw)
			default:
			}
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return finish(&st, bw)
		}
		k := int(i % int64(p.len()))
		if !write(p.packet(k), int(p.lines[k]), int(p.counters[k]), p.counter[k]) {
			return finish(&st, bw)
		}
	}
	if pl.partial > 0 && i == pl.full && (deadline.IsZero() || time.Now().Before(deadline)) {
		k := int(i % int64(p.len()))
		pkt, csum, counters := prefix(p.packet(k), pl.partial, p.tcp)
		write(pkt, pl.partial, counters, csum)
	}
	return finish(&st, bw)
}

func finish(st *senderStats, bw *bufio.Writer) senderStats {
	if bw != nil {
		if err := bw.Flush(); err != nil && st.err == nil {
			st.err = err
		}
	}
	st.last = time.Now()
	return *st
}

func maxLines(p *pool) int {
	m := 1
	for _, l := range p.lines {
		m = max(m, int(l))
	}
	return m
}

// bucket is a token bucket of lines. It holds at most 20 ms of tokens (and
// never less than four packets' worth): enough to ride over a sleep that
// overshoots or a short preemption, but a sender that fell further behind
// does not send a long burst to catch up: the achieved rate falls instead, and
// the driver sees that the sender, not the server, was the limit.
type bucket struct {
	rate   float64 // lines/s; 0 means no limit
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, packetLines int, now time.Time) *bucket {
	burst := max(rate*0.020, 4*float64(packetLines))
	return &bucket{rate: rate, burst: burst, tokens: float64(packetLines), last: now}
}

// take waits until n tokens are available and takes them.
func (b *bucket) take(n int) {
	if b.rate == 0 {
		return
	}
	need := float64(n)
	for b.tokens < need {
		now := time.Now()
		b.tokens = min(b.burst, b.tokens+b.rate*now.Sub(b.last).Seconds())
		b.last = now
		if b.tokens < need {
			time.Sleep(time.Duration((need - b.tokens) / b.rate * float64(time.Second)))
		}
	}
	b.tokens -= need
}

// cpuSeconds returns the user and system CPU time of this process.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
