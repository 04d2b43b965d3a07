package ingest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
)

// errClosing stops a TCP connection's reads once Close has begun.
var errClosing = errors.New("ingest: statsd server closing")

// acceptTCP accepts connections until the listener is closed.
func (s *StatsdServer) acceptTCP() {
	var backoff time.Duration
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closing.Load() {
				return
			}
			// Out of file descriptors and the like: back off as net/http
			// does, and try again.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			if s.readErrs.allow() {
				s.log.Warn("cannot accept statsd TCP connection", "err", err, "retry_in", backoff)
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.mu.Lock()
		if s.closing.Load() || len(s.conns) >= s.cfg.MaxTCPConns {
			s.mu.Unlock()
			s.m.tcpRejected.Inc()
			c.Close()
			continue
		}
		s.conns[c] = struct{}{}
		s.tcpWG.Add(1)
		s.mu.Unlock()
		s.m.tcpConns.Inc()
		go s.serveTCP(c)
	}
}

// serveTCP reads lines from c until EOF, an error, the idle timeout or Close,
// and appends their samples with an Appender of its own. The connection is
// parsed in its own goroutine: TCP flow control slows a sender down when
// Telltale cannot keep up, so no queue and no drop is needed.
func (s *StatsdServer) serveTCP(c net.Conn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.m.tcpConns.Dec()
		s.tcpWG.Done()
	}()
	h := newLineHandler(s.newAppender(), s.m, s.cfg.MaxLineLength, transportTCP)
	defer h.flush()
	cr := &tcpConnReader{c: c, s: s, h: h, idle: s.cfg.TCPIdleTimeout}
	// Room for the longest line and its "\r\n". A line that does not fit is
	// skipped here; handleLine rejects any other line over the limit, so TCP
	// and UDP accept the same lines.
	r := bufio.NewReaderSize(cr, s.cfg.MaxLineLength+2)
	for {
		line, err := r.ReadSlice('\n')
		switch {
		case err == nil:
			h.handleLine(line[:len(line)-1])
		case errors.Is(err, bufio.ErrBufferFull):
			// Too long: count it and skip to the next '\n' without
			// buffering the rest.
			h.lines++
			h.reject(reasonLineTooLong)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if err != nil {
				return
			}
		default:
			// A last line without '\n' is complete at EOF; after any other
			// error (timeout, reset, Close) it may be cut short, so drop it.
			if err == io.EOF {
				h.handleLine(line)
			}
			return
		}
		if r.Buffered() == 0 {
			h.flush() // before a Read that may block
		}
	}
}

// tcpConnReader reads a connection, arming the idle deadline before each
// Read (once per buffer fill, not per line) and counting bytes.
type tcpConnReader struct {
	c    net.Conn
	s    *StatsdServer
	h    *lineHandler
	idle time.Duration
}

func (r *tcpConnReader) Read(p []byte) (int, error) {
	if r.idle > 0 {
		r.c.SetReadDeadline(time.Now().Add(r.idle))
	}
	// Checked after arming the deadline: Close sets closing before it sets
	// the deadline to now, so either we see closing here or Close's
	// deadline overrides ours and wakes the Read below.
	if r.s.closing.Load() {
		return 0, errClosing
	}
	n, err := r.c.Read(p)
	r.h.bytes += uint64(n)
	return n, err
}
