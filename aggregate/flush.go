package aggregate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"time"
)

// Sink receives every series once per flush. storage implements it for
// history. A flush arrives as one or more calls, each with the next chunk
// of points and the same Time; the last call has Final set. Chunks keep the
// memory a flush needs small however many series there are. A Sink must not
// keep f, or anything it points to, after WriteFlush returns.
type Sink interface {
	WriteFlush(ctx context.Context, f *Flush) error
}

type discardSink struct{}

func (discardSink) WriteFlush(context.Context, *Flush) error { return nil }

// Flush is one flush: the values every live series had at Time, the same
// values /metrics showed at that moment. It is reused between flushes.
type Flush struct {
	Time time.Time
	// Quantiles are the summary quantiles (0.5 for the 50th percentile), in
	// the order of Point.Quantiles.
	Quantiles []float64
	Points    []Point
	// Final marks the last chunk of a flush.
	Final bool

	qbuf []float64
}

// flushChunk is how many points a flush gathers before it hands them to
// the sink; a chunk may exceed it by one shard's worth.
const flushChunk = 8192

// Point is one series in a Flush.
type Point struct {
	// Key is the canonical series key; read it with Name and Labels.
	Key  []byte
	Hash uint64
	Kind Kind
	// Value is the cumulative counter, the gauge, or the set's unique count
	// in the interval just closed.
	Value float64
	// Summary only: cumulative count and sum, then the last interval that
	// had observations: quantiles (NaN before the first), min, max and mean.
	Count, Sum     float64
	Quantiles      []float64
	Min, Max, Mean float64
	// Updated is whether the series got a sample in the interval just closed.
	Updated bool
}

// Name returns the series' metric name, escaped for Prometheus.
func (p *Point) Name() []byte { return keyName(p.Key) }

// Labels appends the series' labels, sorted by name, to dst.
func (p *Point) Labels(dst []Label) []Label { return keyLabels(dst, p.Key) }

func keyName(key []byte) []byte {
	if i := bytes.IndexByte(key, 0xff); i >= 0 {
		return key[:i]
	}
	return key
}

func keyLabels(dst []Label, key []byte) []Label {
	i := bytes.IndexByte(key, 0xff)
	for i >= 0 {
		rest := key[i+1:]
		j := bytes.IndexByte(rest, 0xfe)
		next := bytes.IndexByte(rest, 0xff)
		end := len(rest)
		if next >= 0 {
			end = next
		}
		dst = append(dst, Label{Name: rest[:j], Value: rest[j+1 : end]})
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return dst
}

// Run flushes every FlushInterval until ctx is done. It does not make the
// final flush: Close does.
func (a *Aggregator) Run(ctx context.Context) error {
	t := time.NewTicker(a.cfg.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := a.Flush(ctx); err != nil {
				a.log.Error("flush failed", "err", err)
			}
		}
	}
}

// Close makes a final flush so that every sample added before it reaches
// the sink. Add after Close still aggregates but is never flushed; Close is
// idempotent and only the first call flushes.
func (a *Aggregator) Close(ctx context.Context) error {
	if a.closed.Swap(true) {
		return nil
	}
	return a.Flush(ctx)
}

// Flush closes the current interval: it rotates every series' per-interval
// state, expires idle series and hands every live series to the sink.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	start := time.Now()
	epoch := a.epoch.Add(1) - 1 // samples from now on belong to the next interval
	f := &a.flushBuf
	f.Time = a.now()
	f.Quantiles = a.quantiles
	expired := 0
	var err error
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		for _, s := range sh.m {
			if a.rotate(sh, s, epoch, f) {
				expired++
			}
		}
		for _, cs := range sh.conflicts {
			for _, s := range cs {
				if a.rotate(sh, s, epoch, f) {
					expired++
				}
			}
		}
		sh.mu.Unlock()
		if last := i == len(a.shards)-1; last || len(f.Points) >= flushChunk {
			if e := a.writeChunk(ctx, f, last); e != nil && err == nil {
				err = e
			}
		}
	}
	if expired > 0 {
		a.sweepFamilies()
	}
	if err != nil {
		a.m.flushErrors.Inc()
	}
	a.m.flushDuration.Observe(time.Since(start).Seconds())
	return err
}

// writeChunk hands the points gathered so far to the sink and empties f.
func (a *Aggregator) writeChunk(ctx context.Context, f *Flush, final bool) error {
	// Quantile slices point into qbuf, which may have moved while growing.
	off := 0
	for i := range f.Points {
		if f.Points[i].Kind == Summary {
			n := len(a.quantiles)
			f.Points[i].Quantiles = f.qbuf[off : off+n : off+n]
			off += n
		}
	}
	f.Final = final
	err := a.sink.WriteFlush(ctx, f)
	// Drop references to series keys so that expired series can be freed.
	clear(f.Points)
	f.Points = f.Points[:0]
	f.qbuf = f.qbuf[:0]
	return err
}

// rotate closes the interval of s under sh.mu and appends its point to f,
// or expires s. It reports whether s expired.
func (a *Aggregator) rotate(sh *shard, s *series, epoch uint32, f *Flush) bool {
	// An Appender that read the epoch after Flush advanced it stamps its
	// sample epoch+1, and the sample is already in the state rotated now:
	// the age is signed so that such a series counts as updated, not as
	// four billion intervals old.
	age := int32(epoch - s.seen)
	updated := age <= 0
	if !updated && a.idleEps > 0 && age >= int32(a.idleEps) {
		a.remove(sh, s)
		return true
	}
	p := Point{Key: s.key, Hash: s.hash, Kind: s.kind, Value: s.value, Updated: updated}
	switch s.kind {
	case Summary:
		st := s.sum
		st.rotate(a.quantiles)
		p.Count, p.Sum = st.count, st.sum
		if st.last == nil {
			for range a.quantiles {
				f.qbuf = append(f.qbuf, math.NaN())
			}
			p.Min, p.Max, p.Mean = math.NaN(), math.NaN(), math.NaN()
		} else {
			f.qbuf = append(f.qbuf, st.last...)
			p.Min, p.Max, p.Mean = st.lastMin, st.lastMax, st.lastAvg
		}
	case Set:
		s.value = s.set.rotate()
		p.Value = s.value
	}
	f.Points = append(f.Points, p)
	return false
}

// sweepFamilies forgets metric names that have no series left, so that a
// name can come back with another type.
func (a *Aggregator) sweepFamilies() {
	a.famMu.Lock()
	defer a.famMu.Unlock()
	kept := a.famList[:0]
	for _, f := range a.famList {
		f.mu.Lock()
		empty := len(f.series) == 0
		f.mu.Unlock()
		if empty {
			delete(a.families, f.name)
			continue
		}
		kept = append(kept, f)
	}
	clear(a.famList[len(kept):])
	a.famList = kept
}

// ErrNotFlushed is returned by MemorySink.Last before the first flush.
var ErrNotFlushed = errors.New("aggregate: nothing flushed yet")
