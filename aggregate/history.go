package aggregate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/storage"
)

// HistoryWriter is what HistorySink needs of the metric history; satisfied
// by *storage.DB.
type HistoryWriter interface {
	AppendSamples(t int64, samples []storage.Sample) error
	Commit() error
}

// HistorySink is the Sink that keeps history: it writes every flush as the
// Prometheus samples /metrics showed at that moment (the same names, labels
// and values: counters, gauges, set counts, and for summaries one series per
// quantile plus _sum and _count) and commits them with the final chunk, so
// that a flush that returned survives a crash. It belongs to one Aggregator,
// whose flushes are never concurrent.
type HistorySink struct {
	w          HistoryWriter
	samples    []storage.Sample
	labels     []storage.Label // backing array of the samples' label sets
	names      []byte          // backing array of suffixed names
	ls         []Label
	qs         []float64
	qlabels    []string
	outOfOrder prometheus.Counter
	// self and selfLabels are set by RecordSelf.
	self       prometheus.Gatherer
	selfLabels []storage.Label
}

// NewHistorySink returns a sink writing to w. Samples the history refuses
// as out of order (a second flush in the same millisecond) are counted in
// telltale_aggregate_history_out_of_order_total on reg, not failed.
func NewHistorySink(w HistoryWriter, reg prometheus.Registerer) *HistorySink {
	h := &HistorySink{w: w, outOfOrder: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_aggregate_history_out_of_order_total",
		Help: "Flushes whose samples the history refused as out of order.",
	})}
	if reg != nil {
		reg.MustRegister(h.outOfOrder)
	}
	return h
}

// WriteFlush implements Sink.
func (h *HistorySink) WriteFlush(_ context.Context, f *Flush) error {
	h.setQuantiles(f.Quantiles)
	h.samples, h.labels, h.names = h.samples[:0], h.labels[:0], h.names[:0]
	// Every label set is sliced out of h.labels, and every suffixed name out
	// of h.names: grow both first, so that neither moves under the slices.
	need, nameBytes := 0, 0
	for i := range f.Points {
		p := &f.Points[i]
		n := 1 + countLabels(p.Key)
		if p.Kind == Summary {
			need += (len(h.qlabels) + 2) * (n + 1)
			nameBytes += 2*len(keyName(p.Key)) + len("_count_sum")
		} else {
			need += n
		}
	}
	if cap(h.labels) < need {
		h.labels = make([]storage.Label, 0, need)
	}
	if cap(h.names) < nameBytes {
		h.names = make([]byte, 0, nameBytes)
	}
	for i := range f.Points {
		p := &f.Points[i]
		h.ls = p.Labels(h.ls[:0])
		name := p.Name()
		switch p.Kind {
		case Summary:
			for qi, ql := range h.qlabels {
				h.add(name, "quantile", ql, p.Quantiles[qi])
			}
			h.add(h.suffixed(name, "_sum"), "", "", p.Sum)
			h.add(h.suffixed(name, "_count"), "", "", p.Count)
		default:
			h.add(name, "", "", p.Value)
		}
	}
	// The self-metrics go with the last chunk of a flush only: every chunk
	// has the same time, and a second copy would be refused as out of
	// order.
	if h.self != nil && f.Final {
		if err := h.appendSelf(); err != nil {
			return fmt.Errorf("cannot gather self-metrics: %w", err)
		}
	}
	err := h.w.AppendSamples(f.Time.UnixMilli(), h.samples)
	if errors.Is(err, storage.ErrOutOfOrder) {
		h.outOfOrder.Inc()
		err = nil
	}
	if err != nil {
		return fmt.Errorf("cannot write history: %w", err)
	}
	if f.Final {
		return h.w.Commit()
	}
	return nil
}

// add appends one sample named name with the labels in h.ls, plus the label
// extra=extraValue when extra is set, in name order as storage wants them.
func (h *HistorySink) add(name []byte, extra, extraValue string, v float64) {
	start := len(h.labels)
	pending := []storage.Label{{Name: storage.MetricName, Value: str(name)}}
	if extra != "" {
		pending = append(pending, storage.Label{Name: extra, Value: extraValue})
	}
	for _, l := range h.ls {
		if len(l.Value) == 0 {
			continue // an empty value means no label, as in Prometheus
		}
		for len(pending) > 0 && pending[0].Name < str(l.Name) {
			h.labels = append(h.labels, pending[0])
			pending = pending[1:]
		}
		h.labels = append(h.labels, storage.Label{Name: str(l.Name), Value: str(l.Value)})
	}
	h.labels = append(h.labels, pending...)
	h.samples = append(h.samples, storage.Sample{Labels: h.labels[start:len(h.labels):len(h.labels)], Value: v})
}

// suffixed returns name+suffix, backed by h.names.
func (h *HistorySink) suffixed(name []byte, suffix string) []byte {
	start := len(h.names)
	h.names = append(append(h.names, name...), suffix...)
	return h.names[start:len(h.names):len(h.names)]
}

func (h *HistorySink) setQuantiles(qs []float64) {
	if slices.Equal(h.qs, qs) && len(h.qlabels) == len(qs) {
		return
	}
	h.qs = append(h.qs[:0], qs...)
	h.qlabels = h.qlabels[:0]
	for _, q := range qs {
		h.qlabels = append(h.qlabels, formatFloat(q))
	}
}

func countLabels(key []byte) int {
	n := 0
	for _, c := range key {
		if c == 0xff {
			n++
		}
	}
	return n
}

// str views b as a string without copying. b is a series key (immutable for
// the life of the series) or h.names (not reused until the writer has
// returned); storage copies the labels it keeps.
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
