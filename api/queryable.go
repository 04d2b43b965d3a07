package api

// This file holds the version-sensitive adapter from our storage to
// github.com/prometheus/prometheus/storage (v0.316.0): Queryable, Querier,
// SeriesSet, Series and a float-sample chunkenc.Iterator. An upgrade of the
// prometheus module that changes those interfaces is fixed here only.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/telltale-dev/telltale/storage"
)

// Querier is what the Prometheus query API reads from storage; it is
// satisfied by *storage.DB.
type Querier interface {
	// SelectSamples returns the series that satisfy every matcher and
	// have samples with mint ≤ T ≤ maxt, with those samples.
	SelectSamples(mint, maxt int64, matchers ...storage.Matcher) ([]storage.SeriesPoints, error)
	// LabelNames returns every label name, sorted.
	LabelNames() ([]string, error)
	// LabelValues returns every value of a label name, sorted.
	LabelValues(name string) ([]string, error)
}

// errTooManySeries is returned when one query selects more series than
// QueryConfig.MaxSeries; it answers as an execution error.
var errTooManySeries = errors.New("api: query selects too many series")

// queryable adapts a Querier to promstorage.Queryable.
type queryable struct {
	store     Querier
	maxSeries int
}

// NewQueryable returns a promstorage.Queryable over q, for a promql.Engine:
// the adapter the query API uses. A query that selects more than maxSeries
// series in all fails with an execution error; maxSeries ≤ 0 means no limit.
func NewQueryable(q Querier, maxSeries int) promstorage.Queryable {
	return &queryable{store: q, maxSeries: maxSeries}
}

// Querier returns a querier for one query; its series limit counts every
// Select of that query.
func (q *queryable) Querier(mint, maxt int64) (promstorage.Querier, error) {
	return &querier{store: q.store, maxSeries: q.maxSeries, mint: mint, maxt: maxt}, nil
}

// querier is a promstorage.Querier over a Querier. It is goroutine-safe.
type querier struct {
	store      Querier
	maxSeries  int
	mint, maxt int64
	selected   atomic.Int64
}

// convertMatchers converts Prometheus matchers to ours; the types map 1:1.
func convertMatchers(ms []*labels.Matcher) ([]storage.Matcher, error) {
	out := make([]storage.Matcher, 0, len(ms))
	for _, m := range ms {
		var t storage.MatchType
		switch m.Type {
		case labels.MatchEqual:
			t = storage.MatchEqual
		case labels.MatchNotEqual:
			t = storage.MatchNotEqual
		case labels.MatchRegexp:
			t = storage.MatchRegexp
		case labels.MatchNotRegexp:
			t = storage.MatchNotRegexp
		default:
			return nil, fmt.Errorf("%w: type %v", storage.ErrBadMatcher, m.Type)
		}
		sm, err := storage.NewMatcher(t, m.Name, m.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, sm)
	}
	return out, nil
}

// selectPoints selects the series of ms with samples in [mint, maxt] and
// counts them against the series limit.
func (q *querier) selectPoints(mint, maxt int64, ms []*labels.Matcher) ([]storage.SeriesPoints, error) {
	sms, err := convertMatchers(ms)
	if err != nil {
		return nil, err
	}
	sps, err := q.store.SelectSamples(mint, maxt, sms...)
	if err != nil {
		if errors.Is(err, storage.ErrEmptyMatchers) || errors.Is(err, storage.ErrBadMatcher) {
			return nil, err
		}
		return nil, promql.ErrStorage{Err: err}
	}
	if q.maxSeries > 0 && q.selected.Add(int64(len(sps))) > int64(q.maxSeries) {
		return nil, fmt.Errorf("%w: more than %d", errTooManySeries, q.maxSeries)
	}
	return sps, nil
}

// Select returns the series of matchers with samples in the hinted range,
// or the querier's.
func (q *querier) Select(_ context.Context, sortSeries bool, hints *promstorage.SelectHints, ms ...*labels.Matcher) promstorage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	sps, err := q.selectPoints(mint, maxt, ms)
	if err != nil {
		return promstorage.ErrSeriesSet(err)
	}
	set := &seriesSet{series: make([]series, len(sps)), i: -1}
	for i, sp := range sps {
		set.series[i] = series{lset: toLabels(sp.Labels), points: sp.Points}
	}
	if sortSeries {
		slices.SortFunc(set.series, func(a, b series) int { return labels.Compare(a.lset, b.lset) })
	}
	return set
}

// toLabels converts our sorted labels to Prometheus'.
func toLabels(ls storage.Labels) labels.Labels {
	b := labels.NewScratchBuilder(len(ls))
	for _, l := range ls {
		b.Add(l.Name, l.Value)
	}
	b.Sort()
	return b.Labels()
}

// LabelValues returns the values of name, of the series of matchers in the
// querier's range if any are given.
func (q *querier) LabelValues(_ context.Context, name string, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if len(ms) == 0 {
		vs, err := q.store.LabelValues(name)
		if err != nil {
			return nil, nil, promql.ErrStorage{Err: err}
		}
		return limit(vs, hints), nil, nil
	}
	return q.fromSeries(ms, hints, func(ls storage.Labels, set map[string]struct{}) {
		if v := ls.Get(name); v != "" {
			set[v] = struct{}{}
		}
	})
}

// LabelNames returns every label name, of the series of matchers in the
// querier's range if any are given.
func (q *querier) LabelNames(_ context.Context, hints *promstorage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if len(ms) == 0 {
		ns, err := q.store.LabelNames()
		if err != nil {
			return nil, nil, promql.ErrStorage{Err: err}
		}
		return limit(ns, hints), nil, nil
	}
	return q.fromSeries(ms, hints, func(ls storage.Labels, set map[string]struct{}) {
		for _, l := range ls {
			set[l.Name] = struct{}{}
		}
	})
}

// fromSeries collects, with add, strings from the labels of the series of
// ms in the querier's range, and returns them sorted and limited.
func (q *querier) fromSeries(ms []*labels.Matcher, hints *promstorage.LabelHints, add func(storage.Labels, map[string]struct{})) ([]string, annotations.Annotations, error) {
	sps, err := q.selectPoints(q.mint, q.maxt, ms)
	if err != nil {
		return nil, nil, err
	}
	set := map[string]struct{}{}
	for _, sp := range sps {
		add(sp.Labels, set)
	}
	return limit(sortedKeys(set), hints), nil, nil
}

// Close does nothing: the querier holds no resources.
func (q *querier) Close() error { return nil }

func sortedKeys(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func limit(vs []string, hints *promstorage.LabelHints) []string {
	if hints != nil && hints.Limit > 0 && len(vs) > hints.Limit {
		return vs[:hints.Limit]
	}
	return vs
}

// seriesSet is a promstorage.SeriesSet over selected series.
type seriesSet struct {
	series []series
	i      int
}

func (s *seriesSet) Next() bool {
	s.i++
	return s.i < len(s.series)
}

func (s *seriesSet) At() promstorage.Series            { return &s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// series is a promstorage.Series of float samples.
type series struct {
	lset   labels.Labels
	points []storage.Point
}

func (s *series) Labels() labels.Labels { return s.lset }

// Iterator returns an iterator over the samples. (An iterator of our own
// would need a method Seek(int64) ValueType, which go vet rejects.)
func (s *series) Iterator(chunkenc.Iterator) chunkenc.Iterator {
	return promstorage.NewListSeriesIterator(pointSamples(s.points))
}

// pointSamples is a promstorage.Samples over stored points; Get returns a
// pointer into the slice, so reading a sample does not allocate.
type pointSamples []storage.Point

func (ps pointSamples) Get(i int) chunks.Sample { return point{&ps[i]} }
func (ps pointSamples) Len() int                { return len(ps) }

// point is a float chunks.Sample; a one-pointer struct, so boxing it in
// an interface does not allocate.
type point struct{ p *storage.Point }

func (p point) T() int64                      { return p.p.T }
func (p point) ST() int64                     { return 0 }
func (p point) F() float64                    { return p.p.V }
func (p point) H() *histogram.Histogram       { return nil }
func (p point) FH() *histogram.FloatHistogram { return nil }
func (p point) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (p point) Copy() chunks.Sample           { c := *p.p; return point{&c} }
