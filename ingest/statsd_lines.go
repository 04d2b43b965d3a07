package ingest

import (
	"bytes"
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/aggregate"
	"github.com/telltale-dev/telltale/ingest/statsd"
)

// Appender receives parsed samples; one per worker goroutine or TCP
// connection, so an Appender need not be goroutine-safe. Add reads the
// sample's byte slices only during the call. *aggregate.Appender satisfies it.
type Appender interface {
	Add(s *aggregate.Sample) error
}

// lineHandler parses statsd lines and feeds their samples to one Appender.
// It belongs to one goroutine (a UDP worker or a TCP connection) and keeps
// every buffer it needs, so a line costs no allocation in steady state.
//
// Counts are kept in plain fields and added to the Prometheus counters by
// flush, once per chunk or TCP read, because an atomic add per line is
// measurable at millions of lines per second.
type lineHandler struct {
	app     Appender
	m       *statsdMetrics
	maxLine int

	parser  statsd.Parser
	samples []statsd.Sample
	labels  []aggregate.Label
	out     aggregate.Sample

	linesCounter prometheus.Counter
	bytesCounter prometheus.Counter

	lines         uint64
	bytes         uint64
	events        uint64
	serviceChecks uint64
	badTagsSeen   uint64
	rejects       []rejectCount
}

// rejectCount is a local count of rejected lines for one reason.
type rejectCount struct {
	reason  string
	counter prometheus.Counter
	n       uint64
}

func newLineHandler(app Appender, m *statsdMetrics, maxLine int, transport string) *lineHandler {
	h := &lineHandler{
		app:     app,
		m:       m,
		maxLine: maxLine,
		samples: make([]statsd.Sample, 0, 4),
		labels:  make([]aggregate.Label, 0, 16),
	}
	if transport == transportTCP {
		h.linesCounter, h.bytesCounter = m.linesTCP, m.bytesTCP
	} else {
		h.linesCounter, h.bytesCounter = m.linesUDP, m.bytesUDP
	}
	return h
}

// handleChunk handles every '\n'-separated line of data.
func (h *lineHandler) handleChunk(data []byte) {
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		h.handleLine(line)
	}
}

// handleLine parses one line (without its '\n') and appends its samples. An
// empty line is skipped without counting; a trailing '\r' is ignored.
func (h *lineHandler) handleLine(line []byte) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return
	}
	h.lines++
	if len(line) > h.maxLine {
		h.reject(reasonLineTooLong)
		return
	}
	var err error
	h.samples, err = h.parser.Parse(h.samples[:0], line)
	for i := range h.samples {
		h.add(&h.samples[i])
	}
	if err != nil {
		h.rejectErr(err)
	}
}

// add converts s and hands it to the Appender. Errors from Add are ignored:
// the aggregator counts its own drops.
func (h *lineHandler) add(s *statsd.Sample) {
	labels := h.labels[:0]
	for _, t := range s.Tags {
		labels = append(labels, aggregate.Label{Name: t.Key, Value: t.Value})
	}
	h.labels = labels

	// A missing or nonsensical rate counts as 1 rather than dividing by zero;
	// the parser rejects rates outside (0, 1].
	rate := s.Rate
	if !(rate > 0) {
		rate = 1
	}
	out := &h.out
	*out = aggregate.Sample{Name: s.Name, Labels: labels}
	switch s.Type {
	case statsd.Counter:
		out.Kind = aggregate.Counter
		out.Value = s.Value / rate
	case statsd.Gauge:
		out.Kind = aggregate.Gauge
		out.Value = s.Value
		out.Relative = s.Relative
	case statsd.Timer:
		// Timers arrive in milliseconds and are exposed in seconds, as
		// statsd_exporter does.
		out.Kind = aggregate.Summary
		out.Value = s.Value / 1000
		out.Weight = 1 / rate
	case statsd.Histogram, statsd.Distribution:
		out.Kind = aggregate.Summary
		out.Value = s.Value
		out.Weight = 1 / rate
	case statsd.Set:
		out.Kind = aggregate.Set
		out.Member = s.Raw
	default:
		return
	}
	_ = h.app.Add(out)
}

// rejectErr counts a line the parser refused: events and service checks by
// kind, everything else by statsd.Reason.
func (h *lineHandler) rejectErr(err error) {
	switch {
	case errors.Is(err, statsd.ErrEvent):
		h.events++
	case errors.Is(err, statsd.ErrServiceCheck):
		h.serviceChecks++
	default:
		h.reject(statsd.Reason(err))
	}
}

// reject counts one rejected line. The reasons are a handful of constant
// strings, so a linear scan beats a map.
func (h *lineHandler) reject(reason string) {
	for i := range h.rejects {
		if h.rejects[i].reason == reason {
			h.rejects[i].n++
			return
		}
	}
	h.rejects = append(h.rejects, rejectCount{
		reason:  reason,
		counter: h.m.linesRejected.WithLabelValues(reason),
		n:       1,
	})
}

// flush adds the local counts to the Prometheus counters and resets them.
func (h *lineHandler) flush() {
	if h.lines > 0 {
		h.linesCounter.Add(float64(h.lines))
		h.lines = 0
	}
	if h.bytes > 0 {
		h.bytesCounter.Add(float64(h.bytes))
		h.bytes = 0
	}
	if h.events > 0 {
		h.m.events.Add(float64(h.events))
		h.events = 0
	}
	if h.serviceChecks > 0 {
		h.m.serviceChecks.Add(float64(h.serviceChecks))
		h.serviceChecks = 0
	}
	if bad := h.parser.BadTags; bad != h.badTagsSeen {
		h.m.tagsDropped.Add(float64(bad - h.badTagsSeen))
		h.badTagsSeen = bad
	}
	for i := range h.rejects {
		if r := &h.rejects[i]; r.n > 0 {
			r.counter.Add(float64(r.n))
			r.n = 0
		}
	}
}
