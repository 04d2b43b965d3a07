package aggregate

import (
	"cmp"
	"math"
	"slices"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
	"github.com/axiomhq/hyperloglog"
	"github.com/cespare/xxhash/v2"
)

// series is the state of one metric name plus label set. All fields but key,
// hash, fam and kind (immutable after creation) are guarded by the mutex of
// the shard that holds the series.
type series struct {
	// key is the canonical series key: the escaped name, then for each
	// label in name order 0xff, escaped label name, 0xfe, raw value. Label
	// values are valid UTF-8 and so never hold 0xfe or 0xff.
	key    []byte
	hash   uint64 // xxhash of key: picks the shard; stable across restarts
	fam    *family
	famIdx int32 // index in fam.series; guarded by fam.mu
	kind   Kind

	// seen is the flush epoch in which the series last got a sample.
	seen uint32
	// value is the cumulative counter, the gauge value or, for sets, the
	// unique count of the last flushed interval.
	value float64
	sum   *summaryState // Summary only
	set   *setState     // Set only
}

// summaryState holds a Summary series. The current interval is kept
// exactly while it is small (the values themselves, sorted at flush) and in a
// DDSketch (1 % relative accuracy) once it outgrows maxExactSummary; at flush
// its quantiles move into last, so /metrics shows the quantiles of the last
// interval that had observations while _sum and _count stay cumulative, as a
// Prometheus summary does.
//
// Most timers get a handful of observations per interval: for them the exact
// buffer is both exact and cheaper than the sketch (one append instead of a
// logarithm and a store update across three allocations).
type summaryState struct {
	vals    []float64          // the interval's values while exact
	weights []float64          // their weights; nil while every weight is 1
	sketch  *ddsketch.DDSketch // the interval once it outgrew vals

	// The current interval, exact.
	n, total, min, max float64

	// Cumulative over the life of the series.
	count, sum float64

	// The last interval that had observations.
	last                      []float64 // one per configured quantile
	lastMin, lastMax, lastAvg float64
}

// maxExactSummary is how many observations an interval keeps exactly
// before it moves them into a sketch: 128 values take 1 KiB, about what a
// sketch of a wide distribution takes.
const maxExactSummary = 128

// setState counts the unique members of the current interval: exactly, by
// 64-bit hash, while there are few; through a HyperLogLog sketch beyond.
type setState struct {
	small []uint64
	hll   *hyperloglog.Sketch
}

// maxExactSet is how many distinct members a set counts exactly before it
// switches to HyperLogLog (about 1.6 % error at precision 14, in 12 KiB).
const maxExactSet = 128

// sketchMapping is shared by every sketch: it is immutable. The logarithmic
// mapping gives the 1 % relative accuracy the statsd timers need.
var sketchMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(0.01)
	if err != nil {
		panic(err) // a constant argument: cannot fail
	}
	return m
}()

func newSketch() *ddsketch.DDSketch {
	// The buffered paginated store keeps a short buffer of raw indexes before
	// it allocates pages, so a series with few observations per interval
	// stays small.
	return ddsketch.NewDDSketch(sketchMapping, store.NewBufferedPaginatedStore(), store.NewBufferedPaginatedStore())
}

func (s *summaryState) observe(v, weight float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	switch {
	case s.sketch != nil:
		if s.sketch.AddWithCount(v, weight) != nil {
			return // beyond what the sketch can index (|v| > ~1e307)
		}
	case len(s.vals) < maxExactSummary:
		if weight != 1 && s.weights == nil {
			s.weights = make([]float64, len(s.vals), cap(s.vals))
			for i := range s.weights {
				s.weights[i] = 1
			}
		}
		s.vals = append(s.vals, v)
		if s.weights != nil {
			s.weights = append(s.weights, weight)
		}
	default:
		s.sketch = newSketch()
		for i, x := range s.vals {
			s.sketch.AddWithCount(x, s.weight(i))
		}
		s.vals, s.weights = s.vals[:0], nil
		if s.sketch.AddWithCount(v, weight) != nil {
			return
		}
	}
	if s.n == 0 || v < s.min {
		s.min = v
	}
	if s.n == 0 || v > s.max {
		s.max = v
	}
	s.n += weight
	s.total += v * weight
	s.count += weight
	s.sum += v * weight
}

func (s *summaryState) weight(i int) float64 {
	if s.weights == nil {
		return 1
	}
	return s.weights[i]
}

// rotate closes the current interval: its quantiles become last. An
// interval without observations releases the buffers, so that idle timers
// cost neither a buffer nor a sketch; a busy series keeps its sketch, cleared,
// for the next interval.
func (s *summaryState) rotate(quantiles []float64) {
	if s.n == 0 {
		s.vals, s.weights, s.sketch = nil, nil, nil
		return
	}
	if len(s.last) != len(quantiles) {
		s.last = make([]float64, len(quantiles))
	}
	if s.sketch != nil {
		for i, q := range quantiles {
			v, err := s.sketch.GetValueAtQuantile(q)
			if err != nil {
				v = math.NaN()
			}
			// The sketch is 1 % accurate; never report outside what was seen.
			s.last[i] = min(max(v, s.min), s.max)
		}
		s.sketch.Clear()
	} else {
		s.exactQuantiles(quantiles)
		s.vals, s.weights = s.vals[:0], nil
	}
	s.lastMin, s.lastMax, s.lastAvg = s.min, s.max, s.total/s.n
	s.n, s.total, s.min, s.max = 0, 0, 0, 0
}

// exactQuantiles sets last from the buffered values: the quantile q is the
// lowest value whose cumulative weight exceeds q × (total weight − 1), the
// rank DDSketch uses, so that a series reads the same on either side of
// maxExactSummary.
func (s *summaryState) exactQuantiles(quantiles []float64) {
	if s.weights == nil {
		slices.Sort(s.vals)
	} else {
		idx := make([]int, len(s.vals))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(s.vals[a], s.vals[b]) })
		vals := make([]float64, len(idx))
		ws := make([]float64, len(idx))
		for i, j := range idx {
			vals[i], ws[i] = s.vals[j], s.weights[j]
		}
		copy(s.vals, vals)
		s.weights = ws
	}
	var total float64
	for i := range s.vals {
		total += s.weight(i)
	}
	for qi, q := range quantiles {
		rank := q * (total - 1)
		var cum float64
		v := s.vals[len(s.vals)-1]
		for i, x := range s.vals {
			cum += s.weight(i)
			if cum > rank {
				v = x
				break
			}
		}
		s.last[qi] = v
	}
}

func (s *setState) add(member []byte) {
	h := xxhash.Sum64(member)
	if s.hll != nil {
		s.hll.InsertHash(h)
		return
	}
	if slices.Contains(s.small, h) {
		return
	}
	if len(s.small) < maxExactSet {
		s.small = append(s.small, h)
		return
	}
	s.hll = hyperloglog.New14()
	for _, x := range s.small {
		s.hll.InsertHash(x)
	}
	s.hll.InsertHash(h)
	s.small = s.small[:0]
}

// rotate returns the unique count of the interval and starts a new one.
func (s *setState) rotate() float64 {
	var n float64
	if s.hll != nil {
		n = float64(s.hll.Estimate())
		s.hll = nil
	} else {
		n = float64(len(s.small))
	}
	s.small = s.small[:0]
	return n
}
