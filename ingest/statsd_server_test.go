package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/telltale-dev/telltale/aggregate"
	"github.com/telltale-dev/telltale/ingest/statsd"
)

// got is one sample as a recorder saw it, with its bytes copied.
type got struct {
	Name     string
	Labels   string // "k=v,k2=v2" in the order received
	Kind     aggregate.Kind
	Value    float64
	Weight   float64
	Relative bool
	Member   string
}

func (g got) String() string {
	return fmt.Sprintf("%s{%s} kind=%v value=%g weight=%g relative=%v member=%q",
		g.Name, g.Labels, g.Kind, g.Value, g.Weight, g.Relative, g.Member)
}

// recorder is an Appender that copies every sample it gets. It is
// goroutine-safe, so one recorder serves every worker and connection. If
// gate is non-nil, Add signals entered and then waits until gate is closed.
type recorder struct {
	mu      sync.Mutex
	samples []got

	gate    chan struct{}
	entered chan struct{}
}

func newRecorder() *recorder { return &recorder{} }

// newGatedRecorder returns a recorder whose Add blocks until release.
func newGatedRecorder() (r *recorder, release func()) {
	r = &recorder{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	var once sync.Once
	return r, func() { once.Do(func() { close(r.gate) }) }
}

func (r *recorder) factory() Appender { return r }

func (r *recorder) Add(s *aggregate.Sample) error {
	if r.gate != nil {
		select {
		case r.entered <- struct{}{}:
		default:
		}
		<-r.gate
	}
	var labels []string
	for _, l := range s.Labels {
		labels = append(labels, string(l.Name)+"="+string(l.Value))
	}
	g := got{
		Name:     string(s.Name),
		Labels:   strings.Join(labels, ","),
		Kind:     s.Kind,
		Value:    s.Value,
		Weight:   s.Weight,
		Relative: s.Relative,
		Member:   string(s.Member),
	}
	r.mu.Lock()
	r.samples = append(r.samples, g)
	r.mu.Unlock()
	return nil
}

func (r *recorder) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.samples)
}

// names returns the recorded sample names, sorted.
func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []string
	for _, s := range r.samples {
		n = append(n, s.Name)
	}
	slices.Sort(n)
	return n
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startServer starts a server on 127.0.0.1:0 with a fresh registry and
// closes it when the test ends.
func startServer(t *testing.T, cfg StatsdConfig, app func() Appender) (*StatsdServer, *prometheus.Registry) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	reg := prometheus.NewRegistry()
	s, err := NewStatsdServer(cfg, app, reg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("NewStatsdServer: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, reg
}

func dialUDP(t *testing.T, s *StatsdServer) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, s.UDPAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialTCP(t *testing.T, s *StatsdServer) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, s.TCPAddr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, data string) {
	t.Helper()
	if _, err := c.Write([]byte(data)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// reasonOf returns the rejection reason the parser gives line.
func reasonOf(t *testing.T, line string) string {
	t.Helper()
	var p statsd.Parser
	_, err := p.Parse(nil, []byte(line))
	if err == nil {
		t.Fatalf("parser accepts %q; the test needs a malformed line", line)
	}
	return statsd.Reason(err)
}

func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			}
		}
	}
	return 0
}

func TestStatsdConvert(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []got
	}{
		{"a:1|c", []got{{Name: "a", Kind: aggregate.Counter, Value: 1}}},
		{"a:3|c|@0.5", []got{{Name: "a", Kind: aggregate.Counter, Value: 6}}},
		{"g:4.5|g", []got{{Name: "g", Kind: aggregate.Gauge, Value: 4.5}}},
		{"g:+2|g", []got{{Name: "g", Kind: aggregate.Gauge, Value: 2, Relative: true}}},
		{"g:-2|g", []got{{Name: "g", Kind: aggregate.Gauge, Value: -2, Relative: true}}},
		{"t:250|ms", []got{{Name: "t", Kind: aggregate.Summary, Value: 0.25, Weight: 1}}},
		{"t:250|ms|@0.25", []got{{Name: "t", Kind: aggregate.Summary, Value: 0.25, Weight: 4}}},
		{"h:7|h", []got{{Name: "h", Kind: aggregate.Summary, Value: 7, Weight: 1}}},
		{"d:7|d|@0.5", []got{{Name: "d", Kind: aggregate.Summary, Value: 7, Weight: 2}}},
		{"s:alice|s", []got{{Name: "s", Kind: aggregate.Set, Member: "alice"}}},
		{"a:1|c|#env:prod,region:eu", []got{{Name: "a", Labels: "env=prod,region=eu", Kind: aggregate.Counter, Value: 1}}},
		{"a:1|c\r", []got{{Name: "a", Kind: aggregate.Counter, Value: 1}}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, newRecorder().factory, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			r := newRecorder()
			h := newLineHandler(r, s.m, DefaultStatsdMaxLineLength, transportUDP)
			h.handleLine([]byte(tc.line))
			if !slices.EqualFunc(r.samples, tc.want, func(a, b got) bool {
				return a.Name == b.Name && a.Labels == b.Labels && a.Kind == b.Kind &&
					math.Abs(a.Value-b.Value) < 1e-12 && a.Weight == b.Weight &&
					a.Relative == b.Relative && a.Member == b.Member
			}) {
				t.Errorf("got %v, want %v", r.samples, tc.want)
			}
		})
	}
}

func TestStatsdUDPManyLinesPerPacket(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{}, r.factory)
	c := dialUDP(t, s)
	packet := "a:1|c\nb:2|g\nc:3|ms|@0.5\nd:4|h|#k:v\ne:x|s\n"
	write(t, c, packet)
	waitFor(t, "5 samples", func() bool { return r.len() == 5 })
	if got, want := r.names(), []string{"a", "b", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("got names %v, want %v", got, want)
	}
	waitFor(t, "lines counted", func() bool {
		return counterValue(t, reg, "telltale_statsd_lines_received_total", "transport", "udp") == 5
	})
	if got := counterValue(t, reg, "telltale_statsd_packets_received_total", "transport", "udp"); got != 1 {
		t.Errorf("got %v packets, want 1", got)
	}
	if got, want := counterValue(t, reg, "telltale_statsd_bytes_received_total", "transport", "udp"), float64(len(packet)); got != want {
		t.Errorf("got %v bytes, want %v", got, want)
	}
}

func TestStatsdUDPMalformedLineInMiddle(t *testing.T) {
	const bad = "this line is not statsd"
	reason := reasonOf(t, bad)
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{}, r.factory)
	c := dialUDP(t, s)
	write(t, c, "before:1|c\n"+bad+"\n\nafter:1|c")
	waitFor(t, "2 samples", func() bool { return r.len() == 2 })
	if got, want := r.names(), []string{"after", "before"}; !slices.Equal(got, want) {
		t.Errorf("got names %v, want %v", got, want)
	}
	waitFor(t, "reject counted", func() bool {
		return counterValue(t, reg, "telltale_statsd_lines_rejected_total", "reason", reason) == 1
	})
	// The empty line is not a line.
	if got := counterValue(t, reg, "telltale_statsd_lines_received_total", "transport", "udp"); got != 3 {
		t.Errorf("got %v lines received, want 3", got)
	}
}

func TestStatsdUDPOverlongLine(t *testing.T) {
	const maxLine = 64
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{MaxLineLength: maxLine}, r.factory)
	exact := strings.Repeat("x", maxLine-len(":1|c")) + ":1|c" // exactly the limit: accepted
	c := dialUDP(t, s)
	write(t, c, "first:1|c\nlong"+strings.Repeat("y", maxLine)+":1|c\n"+exact+"\r\nnext:1|c")
	waitFor(t, "3 samples", func() bool { return r.len() == 3 })
	if got, want := r.names(), []string{"first", "next", exact[:len(exact)-4]}; !slices.Equal(got, want) {
		t.Errorf("got names %v, want %v", got, want)
	}
	waitFor(t, "reject counted", func() bool {
		return counterValue(t, reg, "telltale_statsd_lines_rejected_total", "reason", reasonLineTooLong) == 1
	})
}

func TestStatsdEventsAndServiceChecksDropped(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{}, r.factory)
	c := dialUDP(t, s)
	write(t, c, "_e{5,4}:title|text|#k:v\n_sc|check|0\nok:1|c")
	waitFor(t, "1 sample", func() bool { return r.len() == 1 })
	waitFor(t, "event counted", func() bool {
		return counterValue(t, reg, "telltale_statsd_events_dropped_total", "kind", "event") == 1 &&
			counterValue(t, reg, "telltale_statsd_events_dropped_total", "kind", "service_check") == 1
	})
}

func TestStatsdSamePort(t *testing.T) {
	s, _ := startServer(t, StatsdConfig{}, newRecorder().factory)
	u, tc := s.UDPAddr().(*net.UDPAddr), s.TCPAddr().(*net.TCPAddr)
	if u.Port == 0 || u.Port != tc.Port {
		t.Errorf("got UDP port %d and TCP port %d, want the same non-zero port", u.Port, tc.Port)
	}
}

func TestStatsdTCP(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{}, r.factory)
	c := dialTCP(t, s)
	write(t, c, "a:1|c\nb:2|g\r\n")
	write(t, c, "c:3|ms\nlast:1|c") // the last line ends at EOF
	c.CloseWrite()
	waitFor(t, "4 samples", func() bool { return r.len() == 4 })
	if got, want := r.names(), []string{"a", "b", "c", "last"}; !slices.Equal(got, want) {
		t.Errorf("got names %v, want %v", got, want)
	}
	waitFor(t, "connection closed", func() bool { return counterValue(t, reg, "telltale_statsd_tcp_connections") == 0 })
	if got := counterValue(t, reg, "telltale_statsd_lines_received_total", "transport", "tcp"); got != 4 {
		t.Errorf("got %v lines, want 4", got)
	}
	if got, want := counterValue(t, reg, "telltale_statsd_bytes_received_total", "transport", "tcp"), float64(len("a:1|c\nb:2|g\r\nc:3|ms\nlast:1|c")); got != want {
		t.Errorf("got %v bytes, want %v", got, want)
	}
}

func TestStatsdTCPOverlongLine(t *testing.T) {
	const maxLine = 64
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{MaxLineLength: maxLine}, r.factory)
	exact := strings.Repeat("x", maxLine-len(":1|c")) + ":1|c" // exactly the limit: accepted
	c := dialTCP(t, s)
	write(t, c, "first:1|c\n")
	write(t, c, "long"+strings.Repeat("y", 10*maxLine)+":1|c\n")
	write(t, c, "next:1|c\n"+exact+"\n")
	c.CloseWrite()
	waitFor(t, "3 samples", func() bool { return r.len() == 3 })
	if got, want := r.names(), []string{"first", "next", exact[:len(exact)-4]}; !slices.Equal(got, want) {
		t.Errorf("got names %v, want %v", got, want)
	}
	waitFor(t, "lines counted", func() bool {
		return counterValue(t, reg, "telltale_statsd_lines_received_total", "transport", "tcp") == 4
	})
	if got := testutil.ToFloat64(s.m.linesRejected.WithLabelValues(reasonLineTooLong)); got != 1 {
		t.Errorf("got %v line_too_long, want 1", got)
	}
}

func TestStatsdTCPIdleTimeout(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{TCPIdleTimeout: 50 * time.Millisecond}, r.factory)
	c := dialTCP(t, s)
	write(t, c, "a:1|c\n")
	waitFor(t, "1 sample", func() bool { return r.len() == 1 })
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("idle connection: got %v, want EOF", err)
	}
	waitFor(t, "connection gone", func() bool { return counterValue(t, reg, "telltale_statsd_tcp_connections") == 0 })
}

func TestStatsdTCPConnectionLimit(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{MaxTCPConns: 2}, r.factory)
	c1, c2 := dialTCP(t, s), dialTCP(t, s)
	write(t, c1, "one:1|c\n")
	write(t, c2, "two:1|c\n")
	waitFor(t, "2 samples", func() bool { return r.len() == 2 })

	c3 := dialTCP(t, s)
	c3.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c3.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection: got read error %v, want EOF or reset", err)
	}
	if got := testutil.ToFloat64(s.m.tcpRejected); got != 1 {
		t.Errorf("got %v rejected connections, want 1", got)
	}
	if got := counterValue(t, reg, "telltale_statsd_tcp_connections"); got != 2 {
		t.Errorf("got %v open connections, want 2", got)
	}

	c1.Close()
	waitFor(t, "a free slot", func() bool { return counterValue(t, reg, "telltale_statsd_tcp_connections") == 1 })
	c4 := dialTCP(t, s)
	write(t, c4, "four:1|c\n")
	waitFor(t, "3 samples", func() bool { return r.len() == 3 })
}

func TestStatsdUDPQueueFull(t *testing.T) {
	r, release := newGatedRecorder()
	defer release()
	s, reg := startServer(t, StatsdConfig{Workers: 1, UDPReaders: 1, QueueSize: 1}, r.factory)
	c := dialUDP(t, s)

	write(t, c, "blocker:1|c")
	<-r.entered // the only worker is stuck in Add
	const n = 50
	for i := range n {
		write(t, c, fmt.Sprintf("m%d:1|c", i))
	}
	waitFor(t, "all packets read", func() bool {
		return counterValue(t, reg, "telltale_statsd_packets_received_total", "transport", "udp") == n+1
	})
	dropped := testutil.ToFloat64(s.m.queueDropped)
	if dropped == 0 {
		t.Fatalf("got no queue drops with a blocked worker and a queue of 1")
	}
	// One line per datagram here, so dropped lines equal dropped datagrams.
	if got := testutil.ToFloat64(s.m.queueDroppedLines); got != dropped {
		t.Errorf("dropped lines = %v, want %v (one per dropped datagram)", got, dropped)
	}
	if got := counterValue(t, reg, "telltale_statsd_udp_queue_length"); got != 1 {
		t.Errorf("got queue length %v, want 1", got)
	}

	release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// Every datagram read was either appended or counted as dropped.
	if got, want := float64(r.len())+dropped, float64(n+1); got != want {
		t.Errorf("got %v samples + %v dropped = %v, want %v", r.len(), dropped, got, want)
	}
}

func TestStatsdCloseDrainsQueue(t *testing.T) {
	r, release := newGatedRecorder()
	defer release()
	s, reg := startServer(t, StatsdConfig{Workers: 1, UDPReaders: 2, QueueSize: 1000}, r.factory)
	c := dialUDP(t, s)
	const n = 200
	for i := range n {
		write(t, c, fmt.Sprintf("m%d:1|c\nm%d.b:1|c", i, i))
	}
	waitFor(t, "all packets read", func() bool {
		return counterValue(t, reg, "telltale_statsd_packets_received_total", "transport", "udp") == n
	})

	closed := make(chan error, 1)
	go func() { closed <- s.Close(context.Background()) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a worker was still busy", err)
	case <-time.After(20 * time.Millisecond):
	}
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := r.len(); got != 2*n {
		t.Errorf("got %d samples after Close, want %d", got, 2*n)
	}
	if got := testutil.ToFloat64(s.m.queueDropped); got != 0 {
		t.Errorf("got %v queue drops, want 0", got)
	}

	// Idempotent, and final.
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	if err := s.Start(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Close: got %v, want %v", err, ErrServerClosed)
	}
}

func TestStatsdCloseWithIdleTCPConnection(t *testing.T) {
	r := newRecorder()
	reg := prometheus.NewRegistry()
	s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0", TCPIdleTimeout: time.Hour}, r.factory, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c := dialTCP(t, s)
	// A complete line and a partial one, then silence.
	write(t, c, "done:1|c\nparti")
	waitFor(t, "1 sample", func() bool { return r.len() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with an idle connection", d)
	}
	if got := counterValue(t, reg, "telltale_statsd_tcp_connections"); got != 0 {
		t.Errorf("got %v open connections after Close, want 0", got)
	}
	// The server closed its end.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Close: got %v, want EOF", err)
	}
}

func TestStatsdCloseBeforeStart(t *testing.T) {
	s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, newRecorder().factory, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Start(); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Close: got %v, want %v", err, ErrServerClosed)
	}
	if s.UDPAddr() != nil || s.TCPAddr() != nil {
		t.Errorf("got addresses %v %v, want nil", s.UDPAddr(), s.TCPAddr())
	}
}

func TestStatsdStartTwice(t *testing.T) {
	s, _ := startServer(t, StatsdConfig{}, newRecorder().factory)
	if err := s.Start(); !errors.Is(err, ErrServerStarted) {
		t.Errorf("second Start: got %v, want %v", err, ErrServerStarted)
	}
}

func TestStatsdPortTaken(t *testing.T) {
	s, _ := startServer(t, StatsdConfig{}, newRecorder().factory)
	s2, err := NewStatsdServer(StatsdConfig{Addr: s.UDPAddr().String()}, newRecorder().factory, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(); err == nil {
		t.Error("Start on a taken port: got nil error")
		s2.Close(context.Background())
	}
}

func TestStatsdMetricNames(t *testing.T) {
	r := newRecorder()
	s, reg := startServer(t, StatsdConfig{}, r.factory)
	c := dialUDP(t, s)
	write(t, c, "not statsd")
	waitFor(t, "reject", func() bool {
		return counterValue(t, reg, "telltale_statsd_lines_received_total", "transport", "udp") == 1
	})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	for _, want := range []string{
		"telltale_statsd_packets_received_total",
		"telltale_statsd_bytes_received_total",
		"telltale_statsd_lines_received_total",
		"telltale_statsd_lines_rejected_total",
		"telltale_statsd_events_dropped_total",
		"telltale_statsd_tags_dropped_total",
		"telltale_statsd_udp_queue_dropped_total",
		"telltale_statsd_udp_queue_dropped_lines_total",
		"telltale_statsd_udp_kernel_drops_total",
		"telltale_statsd_udp_queue_length",
		"telltale_statsd_tcp_connections",
		"telltale_statsd_tcp_connections_rejected_total",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("metric %s not registered; got %v", want, names)
		}
	}
}

func TestStatsdDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := StatsdConfig{Addr: "127.0.0.1:0"}
	if _, err := NewStatsdServer(cfg, newRecorder().factory, reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewStatsdServer(cfg, newRecorder().factory, reg, nil); err == nil {
		t.Error("second server on the same registry: got nil error")
	}
}

func TestStatsdConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  StatsdConfig
		ok   bool
	}{
		{"defaults", StatsdConfig{Addr: "127.0.0.1:8125"}, true},
		{"all set", StatsdConfig{Addr: ":8125", UDPReaders: 2, Workers: 2, ReadBuffer: 1 << 20, QueueSize: 10, MaxLineLength: 1024, MaxTCPConns: 5}, true},
		{"no addr", StatsdConfig{}, false},
		{"no port", StatsdConfig{Addr: "127.0.0.1"}, false},
		{"negative readers", StatsdConfig{Addr: ":0", UDPReaders: -1}, false},
		{"negative workers", StatsdConfig{Addr: ":0", Workers: -1}, false},
		{"negative buffer", StatsdConfig{Addr: ":0", ReadBuffer: -1}, false},
		{"negative queue", StatsdConfig{Addr: ":0", QueueSize: -1}, false},
		{"negative line", StatsdConfig{Addr: ":0", MaxLineLength: -1}, false},
		{"huge line", StatsdConfig{Addr: ":0", MaxLineLength: 1 << 30}, false},
		{"negative conns", StatsdConfig{Addr: ":0", MaxTCPConns: -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); (err == nil) != tc.ok {
				t.Errorf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestParseProcNetUDPDrops(t *testing.T) {
	const text = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 0
  456: 00000000:14E9 00000000:0000 07 00000000:00000A00 00:00000000 00000000   100        0 987654 2 ffff888003a1c000 17
`
	for _, tc := range []struct {
		inode uint64
		drops uint64
		ok    bool
	}{
		{4242, 0, true},
		{987654, 17, true},
		{98765, 0, false},
		{2, 0, false}, // the ref column must not match
	} {
		d, ok := parseProcNetUDPDrops([]byte(text), tc.inode)
		if d != tc.drops || ok != tc.ok {
			t.Errorf("inode %d: got %d, %v, want %d, %v", tc.inode, d, ok, tc.drops, tc.ok)
		}
	}
}

func TestKernelDropsOfRealSocket(t *testing.T) {
	if _, err := os.Stat("/proc/net/udp"); err != nil {
		t.Skip("no /proc/net/udp")
	}
	// A socket nobody reads, with the smallest buffer: the kernel drops.
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	pc.SetReadBuffer(1)
	ino, err := socketInode(pc)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := udpDrops(ino); err != nil || d != 0 {
		t.Fatalf("fresh socket: got %d, %v, want 0 drops", d, err)
	}
	c, err := net.DialUDP("udp", nil, pc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	payload := bytes.Repeat([]byte("x"), 1000)
	for range 200 {
		c.Write(payload)
	}
	if d, err := udpDrops(ino); err != nil || d == 0 {
		t.Errorf("after overflowing the socket: got %d, %v, want drops > 0", d, err)
	}

	// And the server finds its own socket.
	s, reg := startServer(t, StatsdConfig{}, newRecorder().factory)
	if _, err := udpDrops(s.inode.Load()); err != nil {
		t.Errorf("server socket: %v", err)
	}
	if got := counterValue(t, reg, "telltale_statsd_udp_kernel_drops_total"); got != 0 {
		t.Errorf("got %v kernel drops, want 0", got)
	}
}

func TestSetReadBuffer(t *testing.T) {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	const want = 1 << 20
	got, err := setReadBuffer(pc, want)
	if err != nil {
		t.Fatal(err)
	}
	if got < want && os.Geteuid() == 0 {
		t.Errorf("got %d as root, want at least %d", got, want)
	}
	t.Logf("asked %d, got %d", want, got)
}

func TestStatsdNilRegistry(t *testing.T) {
	s, err := NewStatsdServer(StatsdConfig{Addr: "127.0.0.1:0"}, newRecorder().factory, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestCountLines(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "\n\na\n\nb\n": 2, "a:1|c\nb:2|c\nc:3|c": 3} {
		if got := countLines([]byte(in)); got != want {
			t.Errorf("countLines(%q) = %d, want %d", in, got, want)
		}
	}
}
