package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/ipv4"
)

// Errors returned by StatsdServer.
var (
	// ErrServerClosed is returned by StatsdServer.Start after Close.
	ErrServerClosed = errors.New("ingest: statsd server closed")
	// ErrServerStarted is returned by a second StatsdServer.Start.
	ErrServerStarted = errors.New("ingest: statsd server already started")
)

// bindAttempts is how often Start tries to bind TCP on the port the kernel
// gave UDP when the configured port is 0 and another socket holds it for TCP.
const bindAttempts = 5

// StatsdServer receives statsd and DogStatsD lines over UDP and TCP on one
// address and feeds them to Appenders. See the package documentation for how
// the work is split between goroutines.
//
// Create it with NewStatsdServer, bind with Start and stop with Close. Its
// methods are safe for concurrent use.
type StatsdServer struct {
	cfg         StatsdConfig
	newAppender func() Appender
	log         *slog.Logger
	m           *statsdMetrics

	// queue carries chunks from UDP readers to workers. Readers send
	// without blocking; it is closed once every reader has returned.
	queue  chan *chunk
	chunks sync.Pool // of *chunk

	// inode is the UDP socket's inode, for the kernel drop count; 0 before
	// Start. lastDrops keeps the count monotonic after the socket is gone.
	inode     atomic.Uint64
	lastDrops atomic.Uint64

	// closing is set by Close before it touches any socket; TCP readers check
	// it after arming their idle deadline (see tcpConnReader.Read).
	closing atomic.Bool

	mu      sync.Mutex // guards the fields below
	started bool
	udp     *net.UDPConn
	tcp     net.Listener
	conns   map[net.Conn]struct{}

	readers sync.WaitGroup
	workers sync.WaitGroup
	accept  sync.WaitGroup
	tcpWG   sync.WaitGroup

	closeOnce sync.Once
	done      chan struct{} // closed when every goroutine has returned

	readErrs throttle
}

// NewStatsdServer returns a server for cfg that is not yet listening.
// newAppender is called once per UDP worker and once per TCP connection; each
// Appender is used by one goroutine only. The server's self-metrics are
// registered on reg (nil: not registered). A nil log discards.
func NewStatsdServer(cfg StatsdConfig, newAppender func() Appender, reg prometheus.Registerer, log *slog.Logger) (*StatsdServer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if newAppender == nil {
		return nil, errors.New("ingest: statsd server needs an Appender factory")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults(runtime.GOMAXPROCS(0))
	s := &StatsdServer{
		cfg:         cfg,
		newAppender: newAppender,
		log:         log,
		queue:       make(chan *chunk, cfg.QueueSize),
		conns:       make(map[net.Conn]struct{}),
		done:        make(chan struct{}),
		readErrs:    throttle{every: 10 * time.Second},
	}
	s.chunks.New = func() any { return &chunk{buf: make([]byte, 0, chunkSize)} }
	m, err := newStatsdMetrics(s, reg)
	if err != nil {
		return nil, fmt.Errorf("ingest: cannot register statsd metrics: %w", err)
	}
	s.m = m
	return s, nil
}

// Start binds the UDP socket and the TCP listener on cfg.Addr and starts
// serving. With port 0, UDP is bound first and TCP on the port UDP got.
// Start returns ErrServerStarted if called twice and ErrServerClosed after
// Close.
func (s *StatsdServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return ErrServerClosed
	}
	if s.started {
		return ErrServerStarted
	}
	udp, tcp, err := listenStatsd(s.cfg.Addr)
	if err != nil {
		return err
	}
	got, err := setReadBuffer(udp, s.cfg.ReadBuffer)
	switch {
	case err != nil:
		s.log.Warn("cannot set statsd UDP receive buffer", "asked", s.cfg.ReadBuffer, "err", err)
	case got > 0 && got < s.cfg.ReadBuffer:
		s.log.Warn("kernel capped the statsd UDP receive buffer; raise net.core.rmem_max or run with CAP_NET_ADMIN",
			"asked", s.cfg.ReadBuffer, "got", got)
	default:
		s.log.Debug("statsd UDP receive buffer", "asked", s.cfg.ReadBuffer, "got", got)
	}
	if ino, err := socketInode(udp); err == nil {
		s.inode.Store(ino)
	} else {
		s.log.Debug("no kernel drop count for statsd UDP socket", "err", err)
	}
	s.udp, s.tcp, s.started = udp, tcp, true

	for range s.cfg.Workers {
		h := newLineHandler(s.newAppender(), s.m, s.cfg.MaxLineLength, transportUDP)
		s.workers.Go(func() { s.work(h) })
	}
	for range s.cfg.UDPReaders {
		pc := ipv4.NewPacketConn(udp)
		s.readers.Go(func() { s.readUDP(pc) })
	}
	s.accept.Go(s.acceptTCP)
	s.log.Info("statsd listening", "udp", udp.LocalAddr().String(), "tcp", tcp.Addr().String(),
		"udp_readers", s.cfg.UDPReaders, "workers", s.cfg.Workers)
	return nil
}

// listenStatsd binds UDP and TCP on addr, on the same port.
func listenStatsd(addr string) (*net.UDPConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: invalid statsd address %q: %w", addr, err)
	}
	for attempt := 1; ; attempt++ {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("ingest: cannot listen for statsd on UDP %s: %w", addr, err)
		}
		udp := pc.(*net.UDPConn)
		udpPort := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(udpPort)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		// With port 0 the kernel picked a UDP port whose TCP twin may be
		// taken; try another one.
		if port != "0" || attempt == bindAttempts || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, fmt.Errorf("ingest: cannot listen for statsd on TCP %s: %w", addr, err)
		}
	}
}

// UDPAddr returns the bound UDP address, or nil before Start.
func (s *StatsdServer) UDPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// TCPAddr returns the bound TCP address, or nil before Start.
func (s *StatsdServer) TCPAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// Close stops the server in data-flow order: it closes the UDP socket and the
// TCP listener, lets every TCP connection finish the lines it has already
// read, drains the UDP queue into the Appenders and waits for every goroutine
// to return. Nothing read from a socket before Close is lost, except UDP
// datagrams a full queue dropped (those are counted) and a TCP line Close cut
// short (no '\n' yet). Bytes still in the kernel's buffers are not read.
//
// If ctx ends first, Close closes the remaining TCP connections and returns
// ctx.Err(); the workers still drain the queue in the background and may
// still call their Appenders until a later Close returns nil. Close is
// idempotent: later calls wait for the same shutdown and return nil once it
// is complete. After Close, Start returns ErrServerClosed; the metrics stay
// registered and keep their last values.
func (s *StatsdServer) Close(ctx context.Context) error {
	s.closeOnce.Do(s.shutdown)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}

// shutdown starts the shutdown without waiting for it.
func (s *StatsdServer) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing.Store(true)
	if !s.started {
		close(s.done)
		return
	}
	s.tcp.Close()
	s.udp.Close()
	// Wake the connections blocked in Read; they handle what they have
	// buffered and return. Connections accepted later see s.closing.
	now := time.Now()
	for c := range s.conns {
		c.SetReadDeadline(now)
	}
	go func() {
		s.readers.Wait()
		close(s.queue) // no reader sends any more
		s.workers.Wait()
		s.accept.Wait() // no more tcpWG.Add
		s.tcpWG.Wait()
		close(s.done)
	}()
}

// kernelDrops returns the kernel's drop count for the UDP socket, read from
// /proc at scrape time. It never goes down: after the socket is closed the
// last value read is kept.
func (s *StatsdServer) kernelDrops() float64 {
	last := s.lastDrops.Load()
	ino := s.inode.Load()
	if ino == 0 {
		return float64(last)
	}
	d, err := udpDrops(ino)
	if err != nil {
		return float64(last)
	}
	// Concurrent scrapes: keep the largest value seen.
	for d > last && !s.lastDrops.CompareAndSwap(last, d) {
		last = s.lastDrops.Load()
	}
	return float64(max(d, last))
}

// throttle lets at most one event through per interval every. It is safe for
// concurrent use.
type throttle struct {
	every time.Duration
	last  atomic.Int64 // unix nanoseconds of the last event let through
}

// allow reports whether an event may happen now.
func (t *throttle) allow() bool {
	now := time.Now().UnixNano()
	last := t.last.Load()
	return now-last >= int64(t.every) && t.last.CompareAndSwap(last, now)
}
