package ingest

import (
	"bytes"
	"errors"
	"net"
	"time"

	"golang.org/x/net/ipv4"
)

const (
	// udpBatchSize is the number of datagrams one ReadBatch (recvmmsg) call
	// can return. Each slot owns a maxDatagramSize buffer, so a reader holds
	// udpBatchSize * 64 KiB = 1 MiB. Beyond 16 the syscall saving per
	// datagram is small next to the copy and the parse.
	udpBatchSize = 16
	// maxDatagramSize holds the largest UDP payload (65507 bytes over IPv4,
	// 65527 over IPv6), so no datagram is ever truncated.
	maxDatagramSize = 64 << 10
	// chunkSize is the capacity of a chunk: at least one largest datagram.
	chunkSize = maxDatagramSize
	// udpErrorBackoff keeps a reader from spinning on a persistent error.
	udpErrorBackoff = 10 * time.Millisecond
)

// chunk carries datagrams from a UDP reader to a worker, copied back to back
// and separated by '\n'. As no statsd line spans datagrams, the separator
// keeps them apart exactly as separate packets would be.
type chunk struct {
	buf     []byte
	packets int
}

func (c *chunk) reset() {
	c.buf = c.buf[:0]
	c.packets = 0
}

// tryAppend appends datagram d and reports whether it fitted.
func (c *chunk) tryAppend(d []byte) bool {
	sep := 0
	if len(c.buf) > 0 {
		sep = 1
	}
	if len(c.buf)+sep+len(d) > cap(c.buf) {
		return false
	}
	if sep == 1 {
		c.buf = append(c.buf, '\n')
	}
	c.buf = append(c.buf, d...)
	c.packets++
	return true
}

// getChunk returns an empty chunk from the pool. Every chunk has the same
// capacity, so recycling one never pins more than chunkSize bytes.
func (s *StatsdServer) getChunk() *chunk { return s.chunks.Get().(*chunk) }

// putChunk resets c and returns it to the pool.
func (s *StatsdServer) putChunk(c *chunk) {
	c.reset()
	s.chunks.Put(c)
}

// readUDP reads batches of datagrams until the socket is closed. Each reader
// owns its message slots; the socket is shared.
func (s *StatsdServer) readUDP(pc *ipv4.PacketConn) {
	ms := make([]ipv4.Message, udpBatchSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, maxDatagramSize)}
	}
	for {
		n, err := pc.ReadBatch(ms, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.closing.Load() {
				return
			}
			if s.readErrs.allow() {
				s.log.Warn("cannot read statsd UDP socket", "err", err)
			}
			time.Sleep(udpErrorBackoff)
			continue
		}
		if n > 0 {
			s.enqueue(ms[:n])
		}
	}
}

// enqueue copies the datagrams of one batch into chunks and queues them
// without blocking.
func (s *StatsdServer) enqueue(ms []ipv4.Message) {
	c := s.getChunk()
	bytes := 0
	for i := range ms {
		d := ms[i].Buffers[0][:ms[i].N]
		bytes += len(d)
		if !c.tryAppend(d) {
			s.send(c)
			c = s.getChunk()
			c.tryAppend(d)
		}
	}
	s.send(c)
	s.m.packetsUDP.Add(float64(len(ms)))
	s.m.bytesUDP.Add(float64(bytes))
}

// send queues c, or drops and counts its datagrams if the queue is full.
func (s *StatsdServer) send(c *chunk) {
	select {
	case s.queue <- c:
	default:
		s.m.queueDropped.Add(float64(c.packets))
		// A dropped line must still be counted, so that loss shows in lines
		// and not only in datagrams; counting lines costs one scan of a
		// chunk that would otherwise have been parsed.
		s.m.queueDroppedLines.Add(float64(countLines(c.buf)))
		s.putChunk(c)
	}
}

// work handles chunks until the queue is closed and drained.
func (s *StatsdServer) work(h *lineHandler) {
	for c := range s.queue {
		h.handleChunk(c.buf)
		h.flush()
		s.putChunk(c)
	}
}

// countLines returns the number of non-empty '\n'-separated lines in b.
func countLines(b []byte) int {
	n := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return n + 1
		}
		if i > 0 {
			n++
		}
		b = b[i+1:]
	}
	return n
}
