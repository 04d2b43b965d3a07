package load

import (
	"math"
	"math/bits"
	"time"
)

// histSub is the number of linear sub-buckets per power of two: values are
// kept within 1/histSub (about 1.6 %) of their true value.
const (
	histSubBits = 6
	histSub     = 1 << histSubBits
	histPowers  = 40 // 1 µs to 2^40 µs, far beyond any timeout
)

// Histogram is a log-linear histogram of durations in microseconds, like a
// small HDR histogram: exact below histSub µs, then histSub buckets per
// power of two. The zero value is ready; it is not safe for concurrent use
// (each connection keeps its own and Merge joins them).
type Histogram struct {
	counts [histPowers * histSub]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

func histIndex(us uint64) int {
	if us < histSub {
		return int(us)
	}
	p := bits.Len64(us) - histSubBits // ≥ 1
	idx := p*histSub + int(us>>(p-1)) - histSub
	return min(idx, histPowers*histSub-1)
}

// histValue returns the upper bound in µs of bucket idx.
func histValue(idx int) uint64 {
	if idx < histSub {
		return uint64(idx)
	}
	p := idx / histSub
	sub := uint64(idx%histSub + histSub)
	return (sub+1)<<(p-1) - 1
}

// Record adds one duration.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[histIndex(uint64(d/time.Microsecond))]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max returns the largest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean returns the mean duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the duration under which a fraction q of the recorded
// ones fall (the upper bound of that bucket, never above Max).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(histValue(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}
