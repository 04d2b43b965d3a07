package aggregate

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// MemorySink keeps a copy of the last flush in memory. It stands in for
// storage in tests and when history is off. All methods are goroutine-safe.
type MemorySink struct {
	mu      sync.Mutex
	flushes int
	time    time.Time
	points  []FlushedPoint
	pending []FlushedPoint // chunks of the flush under way
}

// FlushedPoint is a copy of a Point that outlives its flush.
type FlushedPoint struct {
	Name           string
	Labels         map[string]string
	Kind           Kind
	Value          float64
	Count, Sum     float64
	Quantiles      []float64
	Min, Max, Mean float64
	Updated        bool
}

// WriteFlush copies f; the copy becomes visible with the final chunk.
func (m *MemorySink) WriteFlush(_ context.Context, f *Flush) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	pts := m.pending
	var ls []Label
	for i := range f.Points {
		p := &f.Points[i]
		fp := FlushedPoint{
			Name: string(p.Name()), Labels: map[string]string{}, Kind: p.Kind, Value: p.Value,
			Count: p.Count, Sum: p.Sum, Quantiles: slices.Clone(p.Quantiles),
			Min: p.Min, Max: p.Max, Mean: p.Mean, Updated: p.Updated,
		}
		ls = p.Labels(ls[:0])
		for _, l := range ls {
			fp.Labels[string(l.Name)] = string(l.Value)
		}
		pts = append(pts, fp)
	}
	if !f.Final {
		m.pending = pts
		return nil
	}
	m.pending = nil
	m.flushes++
	m.time = f.Time
	m.points = pts
	return nil
}

// Flushes returns how many flushes the sink has received.
func (m *MemorySink) Flushes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flushes
}

// Last returns the time and points of the last flush.
func (m *MemorySink) Last() (time.Time, []FlushedPoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.flushes == 0 {
		return time.Time{}, nil, ErrNotFlushed
	}
	return m.time, m.points, nil
}

// Find returns the point of the last flush with the given name and labels.
func (m *MemorySink) Find(name string, labels map[string]string) (FlushedPoint, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.points {
		if p.Name == name && maps.Equal(p.Labels, labels) {
			return p, true
		}
	}
	return FlushedPoint{}, false
}
