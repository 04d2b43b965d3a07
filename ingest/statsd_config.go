package ingest

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Defaults applied by NewStatsdServer to zero fields of a StatsdConfig.
const (
	// DefaultStatsdReadBuffer is the UDP receive buffer asked of the kernel.
	DefaultStatsdReadBuffer = 8 << 20
	// DefaultStatsdQueueSize is the UDP queue length in chunks. A chunk holds
	// the datagrams of one batched read, up to 64 KiB, so the queue holds at
	// most 128 MiB. Chunks run about a third full at 1 432-byte datagrams:
	// 2048 of them hold about a second of 1 M lines/s, enough to ride out a
	// flush or a burst; with 512, a 5-minute soak at 1 M mixed lines/s lost
	// 0.014 % of its lines at the full queue.
	DefaultStatsdQueueSize = 2048
	// DefaultStatsdMaxLineLength is the longest statsd line accepted, in bytes.
	DefaultStatsdMaxLineLength = 64 << 10
	// DefaultStatsdMaxTCPConns is the number of TCP connections served at once.
	DefaultStatsdMaxTCPConns = 1024
	// DefaultStatsdTCPIdleTimeout closes a TCP connection that sent nothing
	// for this long.
	DefaultStatsdTCPIdleTimeout = 5 * time.Minute
)

// maxStatsdMaxLineLength caps MaxLineLength: every TCP connection holds a
// buffer of that size.
const maxStatsdMaxLineLength = 16 << 20

// StatsdConfig configures a StatsdServer. The zero value of every field but
// Addr means its default.
type StatsdConfig struct {
	// Addr is the host:port both the UDP and the TCP listener bind, for
	// example "127.0.0.1:8125". With port 0 both get the same free port.
	Addr string
	// UDPReaders is the number of goroutines reading the UDP socket;
	// 0 means GOMAXPROCS.
	UDPReaders int
	// Workers is the number of goroutines parsing UDP datagrams and feeding
	// the aggregator; 0 means GOMAXPROCS.
	Workers int
	// ReadBuffer is the UDP socket receive buffer (SO_RCVBUF) asked of the
	// kernel in bytes; 0 means DefaultStatsdReadBuffer. If the kernel caps it
	// (net.core.rmem_max) a warning is logged.
	ReadBuffer int
	// QueueSize is the capacity of the queue between UDP readers and workers,
	// in chunks of up to 64 KiB; 0 means DefaultStatsdQueueSize.
	QueueSize int
	// MaxLineLength is the longest line accepted over TCP or UDP, in bytes;
	// 0 means DefaultStatsdMaxLineLength.
	MaxLineLength int
	// MaxTCPConns is the number of TCP connections served at once; further
	// connections are closed and counted. 0 means DefaultStatsdMaxTCPConns.
	MaxTCPConns int
	// TCPIdleTimeout closes a TCP connection after this long without data;
	// 0 means DefaultStatsdTCPIdleTimeout and a negative value disables it.
	TCPIdleTimeout time.Duration
}

// Validate reports the first invalid field of c. Zero fields are valid: they
// take their defaults.
func (c StatsdConfig) Validate() error {
	if c.Addr == "" {
		return errors.New("ingest: statsd address is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("ingest: invalid statsd address %q: %w", c.Addr, err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"UDP readers", c.UDPReaders},
		{"workers", c.Workers},
		{"read buffer", c.ReadBuffer},
		{"queue size", c.QueueSize},
		{"max line length", c.MaxLineLength},
		{"max TCP connections", c.MaxTCPConns},
	} {
		if f.v < 0 {
			return fmt.Errorf("ingest: statsd %s is %d, must not be negative", f.name, f.v)
		}
	}
	if c.MaxLineLength > maxStatsdMaxLineLength {
		return fmt.Errorf("ingest: statsd max line length %d is over %d", c.MaxLineLength, maxStatsdMaxLineLength)
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c StatsdConfig) withDefaults(gomaxprocs int) StatsdConfig {
	if c.UDPReaders == 0 {
		c.UDPReaders = gomaxprocs
	}
	if c.Workers == 0 {
		c.Workers = gomaxprocs
	}
	if c.ReadBuffer == 0 {
		c.ReadBuffer = DefaultStatsdReadBuffer
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultStatsdQueueSize
	}
	if c.MaxLineLength == 0 {
		c.MaxLineLength = DefaultStatsdMaxLineLength
	}
	if c.MaxTCPConns == 0 {
		c.MaxTCPConns = DefaultStatsdMaxTCPConns
	}
	if c.TCPIdleTimeout == 0 {
		c.TCPIdleTimeout = DefaultStatsdTCPIdleTimeout
	}
	return c
}
