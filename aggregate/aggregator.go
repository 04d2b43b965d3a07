package aggregate

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Sentinel errors returned by Appender.Add. Each is also counted in
// telltale_aggregate_samples_dropped_total with a reason.
var (
	// ErrInvalidSample means the sample has no name, an unknown kind, or a
	// value that is NaN or infinite (1e300 at a rate of 1e-10, say).
	ErrInvalidSample = errors.New("aggregate: invalid sample")
	// ErrTypeConflict means the metric name already exists with another kind.
	ErrTypeConflict = errors.New("aggregate: metric exists with another type")
	// ErrNegativeCounter means a counter sample would decrease the counter.
	ErrNegativeCounter = errors.New("aggregate: counter increment is negative")
	// ErrSeriesLimit means a new series would exceed Config.MaxSeries.
	ErrSeriesLimit = errors.New("aggregate: series limit reached")
	// ErrMetricSeriesLimit means a new series would exceed
	// Config.MaxSeriesPerMetric for its metric name.
	ErrMetricSeriesLimit = errors.New("aggregate: series limit for metric name reached")
)

// Config tunes an Aggregator.
type Config struct {
	// FlushInterval is how often Run hands every series to the Sink.
	FlushInterval time.Duration
	// Percentiles are the quantiles, in percent, that summaries expose.
	Percentiles []float64
	// IdleTimeout drops a series that got no sample for this long; 0 keeps
	// series forever.
	IdleTimeout time.Duration
	// MaxSeries caps the number of series; 0 means no cap.
	MaxSeries int
	// MaxSeriesPerMetric caps the series of one metric name; 0 means no cap.
	MaxSeriesPerMetric int
	// Shards is the number of lock shards, a power of two; 0 picks one from
	// GOMAXPROCS.
	Shards int
}

// DefaultConfig returns the configuration Telltale runs with when nothing is
// set.
func DefaultConfig() Config {
	return Config{
		FlushInterval:      10 * time.Second,
		Percentiles:        []float64{50, 90, 95, 99},
		IdleTimeout:        10 * time.Minute,
		MaxSeries:          2_000_000,
		MaxSeriesPerMetric: 100_000,
	}
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if c.FlushInterval <= 0 {
		return fmt.Errorf("aggregate: flush interval %v must be positive", c.FlushInterval)
	}
	for _, p := range c.Percentiles {
		if !(p > 0 && p <= 100) {
			return fmt.Errorf("aggregate: percentile %v is not in (0, 100]", p)
		}
	}
	if c.IdleTimeout < 0 || c.MaxSeries < 0 || c.MaxSeriesPerMetric < 0 {
		return errors.New("aggregate: limits must not be negative")
	}
	if c.Shards < 0 || c.Shards&(c.Shards-1) != 0 {
		return fmt.Errorf("aggregate: shards %d is not a power of two", c.Shards)
	}
	return nil
}

// Aggregator holds every series. All methods are goroutine-safe; samples come
// in through Appenders, one per goroutine.
type Aggregator struct {
	cfg       Config
	quantiles []float64 // Percentiles / 100
	qlabels   []string  // the quantile label values, as client_golang writes them
	sink      Sink
	log       *slog.Logger
	now       func() time.Time

	shards []shard
	mask   uint64

	// epoch counts flushes; a series remembers the epoch of its last sample,
	// which is cheaper than reading the clock per sample.
	epoch    atomic.Uint32
	idleEps  uint32 // IdleTimeout in flush intervals; 0 = never expire
	nseries  atomic.Int64
	flushMu  sync.Mutex // one flush at a time
	flushBuf Flush
	closed   atomic.Bool

	famMu    sync.RWMutex
	families map[string]*family
	famList  []*family // creation order, for a stable exposition

	m metrics
}

type shard struct {
	mu sync.Mutex
	m  map[uint64]*series
	// conflicts holds the series whose 64-bit hash collides with the one in
	// m; almost always empty.
	conflicts map[uint64][]*series
	_         [40]byte // keep neighbouring shard locks off one cache line
}

// family is one metric name: its kind and its series, in the order the
// exposition writes them.
type family struct {
	name   string
	kind   Kind
	mu     sync.Mutex
	series []*series
}

type metrics struct {
	created, expired prometheus.Counter
	dropped          *prometheus.CounterVec
	dropInvalid      prometheus.Counter
	dropConflict     prometheus.Counter
	dropNegative     prometheus.Counter
	dropLimit        prometheus.Counter
	dropMetricLimit  prometheus.Counter
	flushDuration    prometheus.Histogram
	flushErrors      prometheus.Counter
}

// New returns an Aggregator that flushes into sink (nil discards flushes).
// It registers its self-metrics on reg (nil registers nowhere); log nil
// discards logs.
func New(cfg Config, sink Sink, reg prometheus.Registerer, log *slog.Logger) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if sink == nil {
		sink = discardSink{}
	}
	n := cfg.Shards
	if n == 0 {
		n = 64
		for n < 16*runtime.GOMAXPROCS(0) {
			n *= 2
		}
	}
	a := &Aggregator{
		cfg:      cfg,
		sink:     sink,
		log:      log,
		now:      time.Now,
		shards:   make([]shard, n),
		mask:     uint64(n - 1),
		families: make(map[string]*family),
	}
	for i := range a.shards {
		a.shards[i].m = make(map[uint64]*series)
	}
	for _, p := range cfg.Percentiles {
		a.quantiles = append(a.quantiles, p/100)
		a.qlabels = append(a.qlabels, formatFloat(p/100))
	}
	if cfg.IdleTimeout > 0 {
		eps := (cfg.IdleTimeout + cfg.FlushInterval - 1) / cfg.FlushInterval
		a.idleEps = uint32(min(int64(eps), math.MaxUint32/2))
	}
	a.registerMetrics(reg)
	return a, nil
}

func (a *Aggregator) registerMetrics(reg prometheus.Registerer) {
	m := &a.m
	m.created = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_aggregate_series_created_total", Help: "Series created.",
	})
	m.expired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_aggregate_series_expired_total", Help: "Series dropped after the idle timeout.",
	})
	m.dropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_aggregate_samples_dropped_total", Help: "Samples the aggregator refused, by reason.",
	}, []string{"reason"})
	m.dropInvalid = m.dropped.WithLabelValues("invalid")
	m.dropConflict = m.dropped.WithLabelValues("type_conflict")
	m.dropNegative = m.dropped.WithLabelValues("negative_counter")
	m.dropLimit = m.dropped.WithLabelValues("series_limit")
	m.dropMetricLimit = m.dropped.WithLabelValues("metric_series_limit")
	m.flushDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "telltale_aggregate_flush_duration_seconds",
		Help:    "Time to flush every series to the sink.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
	})
	m.flushErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_aggregate_flush_errors_total", Help: "Flushes the sink failed.",
	})
	if reg == nil {
		return
	}
	reg.MustRegister(m.created, m.expired, m.dropped, m.flushDuration, m.flushErrors,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "telltale_aggregate_series", Help: "Series held in memory.",
		}, func() float64 { return float64(a.nseries.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "telltale_aggregate_metric_names", Help: "Distinct metric names held in memory.",
		}, func() float64 {
			a.famMu.RLock()
			defer a.famMu.RUnlock()
			return float64(len(a.families))
		}),
	)
}

// Series returns the number of series held.
func (a *Aggregator) Series() int { return int(a.nseries.Load()) }

// Appender adds samples. It owns scratch buffers, so that Add allocates
// nothing for a series that exists; it is not goroutine-safe: give each
// goroutine its own.
type Appender struct {
	a      *Aggregator
	key    []byte
	names  []byte // escaped label names
	labels []keyLabel
}

type keyLabel struct {
	name, value []byte
}

// NewAppender returns an Appender for one goroutine.
func (a *Aggregator) NewAppender() *Appender {
	return &Appender{a: a, key: make([]byte, 0, 256), names: make([]byte, 0, 256)}
}

// Add aggregates one sample. It returns a sentinel error, already counted,
// when the sample is dropped.
func (ap *Appender) Add(s *Sample) error {
	a := ap.a
	if len(s.Name) == 0 || s.Kind < Counter || s.Kind > Set || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
		a.m.dropInvalid.Inc()
		return ErrInvalidSample
	}
	if s.Kind == Counter && s.Value < 0 {
		a.m.dropNegative.Inc()
		return ErrNegativeCounter
	}
	key := ap.buildKey(s)
	h := xxhash.Sum64(key)
	sh := &a.shards[h&a.mask]
	sh.mu.Lock()
	sr := sh.get(h, key)
	if sr == nil {
		var err error
		sr, err = a.create(sh, h, key, s.Kind)
		if err != nil {
			sh.mu.Unlock()
			return err
		}
	} else if sr.kind != s.Kind {
		sh.mu.Unlock()
		a.m.dropConflict.Inc()
		return ErrTypeConflict
	}
	sr.seen = a.epoch.Load()
	switch s.Kind {
	case Counter:
		sr.value += s.Value
	case Gauge:
		if s.Relative {
			sr.value += s.Value
		} else {
			sr.value = s.Value
		}
	case Summary:
		w := s.Weight
		if !(w > 0) { // also NaN
			w = 1
		}
		sr.sum.observe(s.Value, w)
	case Set:
		sr.set.add(s.Member)
	}
	sh.mu.Unlock()
	return nil
}

// buildKey writes the canonical series key of s into the Appender's buffer.
func (ap *Appender) buildKey(s *Sample) []byte {
	// Escaping adds at most one byte per name (a leading '_'), so with this
	// capacity ap.names never moves and the name slices stay valid.
	need := 0
	for _, l := range s.Labels {
		need += len(l.Name) + 1
	}
	if cap(ap.names) < need {
		ap.names = make([]byte, 0, 2*need)
	}
	ap.names = ap.names[:0]
	ls := ap.labels[:0]
	for _, l := range s.Labels {
		if len(l.Name) == 0 {
			continue
		}
		name := l.Name
		if !validName(name) {
			start := len(ap.names)
			ap.names = appendEscaped(ap.names, name)
			name = ap.names[start:len(ap.names):len(ap.names)]
		}
		ls = append(ls, keyLabel{name: name, value: l.Value})
	}
	ap.labels = ls
	// Insertion sort: stable, allocation-free and fastest for the handful of
	// labels a statsd line carries.
	for i := 1; i < len(ls); i++ {
		for j := i; j > 0 && bytes.Compare(ls[j].name, ls[j-1].name) < 0; j-- {
			ls[j], ls[j-1] = ls[j-1], ls[j]
		}
	}
	// appendEscaped copies a valid name whole: no need to check it first.
	k := appendEscaped(ap.key[:0], s.Name)
	for i, l := range ls {
		if i+1 < len(ls) && bytes.Equal(l.name, ls[i+1].name) {
			continue // the last of equal names wins, as in statsd_exporter
		}
		k = append(k, 0xff)
		k = append(k, l.name...)
		k = append(k, 0xfe)
		k = append(k, l.value...)
	}
	ap.key = k
	return k
}

// nameChars marks the bytes a Prometheus name keeps as they are.
var nameChars = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
	}
	return t
}()

// validName reports whether name needs no escaping: the common case, which
// then costs one table lookup per byte and one copy.
func validName(name []byte) bool {
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if !nameChars[c] {
			return false
		}
	}
	return true
}

// appendEscaped appends name escaped as statsd_exporter's EscapeMetricName
// does: a leading digit gets a '_' prefix, every rune outside [a-zA-Z0-9_]
// becomes one '_', and a run of '-' after the first is dropped ("a--b" is
// "a_b"). Names with dots are the statsd norm, so this runs for most lines:
// the common name, ASCII without "--", is copied whole and then patched in
// place; anything else takes the general loop.
func appendEscaped(dst, name []byte) []byte {
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		return appendEscapedRunes(dst, name)
	}
	n := len(dst)
	dst = append(dst, name...)
	out := dst[n:]
	for i, c := range out {
		if nameChars[c] {
			continue
		}
		if c >= 0x80 || (c == '-' && i > 0 && name[i-1] == '-') {
			return appendEscapedRunes(dst[:n], name)
		}
		out[i] = '_'
	}
	return dst
}

// appendEscapedRunes is appendEscaped for any name. name is valid UTF-8
// (the parser refuses anything else), so skipping continuation bytes leaves
// one '_' per multi-byte rune.
func appendEscapedRunes(dst, name []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(name)+1)
	out := dst[n : n+len(name)+1]
	j := 0
	if len(name) > 0 && name[0] >= '0' && name[0] <= '9' {
		out[0] = '_'
		j = 1
	}
	prev := byte(0)
	for _, c := range name {
		switch {
		case nameChars[c]:
			out[j] = c
			j++
		case c&0xc0 == 0x80:
			continue // a continuation byte: its rune already gave its '_'
		case c == '-' && prev == '-':
			// dropped
		default:
			out[j] = '_'
			j++
		}
		prev = c
	}
	return dst[:n+j]
}

// get finds the series with key, whose hash is h. Keys that collide on h
// live side by side: one in m, the others in conflicts, told apart by
// comparing the keys themselves. (Identifying series by a second 64-bit hash
// instead, to save touching the key, was measured on the mixed workload and
// gained nothing: the cache miss moved to the series struct.)
func (sh *shard) get(h uint64, key []byte) *series {
	if s := sh.m[h]; s != nil && bytes.Equal(s.key, key) {
		return s
	}
	for _, s := range sh.conflicts[h] {
		if bytes.Equal(s.key, key) {
			return s
		}
	}
	return nil
}

// create makes a new series under sh.mu, within the cardinality limits.
func (a *Aggregator) create(sh *shard, h uint64, key []byte, kind Kind) (*series, error) {
	if a.cfg.MaxSeries > 0 && a.nseries.Load() >= int64(a.cfg.MaxSeries) {
		a.m.dropLimit.Inc()
		return nil, ErrSeriesLimit
	}
	name := key
	if i := bytes.IndexByte(key, 0xff); i >= 0 {
		name = key[:i]
	}
	// A summary's or set's state shares the series' allocation, so that the
	// hot path finds it in the next cache line rather than elsewhere.
	var s *series
	switch kind {
	case Summary:
		x := &struct {
			series
			st summaryState
		}{}
		s = &x.series
		s.sum = &x.st
	case Set:
		x := &struct {
			series
			st setState
		}{}
		s = &x.series
		s.set = &x.st
	default:
		s = &series{}
	}
	s.key, s.hash, s.kind = bytes.Clone(key), h, kind
	if err := a.addToFamily(s, name, kind); err != nil {
		return nil, err
	}
	if old := sh.m[h]; old == nil {
		sh.m[h] = s
	} else {
		if sh.conflicts == nil {
			sh.conflicts = make(map[uint64][]*series)
		}
		sh.conflicts[h] = append(sh.conflicts[h], s)
	}
	a.nseries.Add(1)
	a.m.created.Inc()
	return s, nil
}

func (a *Aggregator) addToFamily(s *series, name []byte, kind Kind) error {
	a.famMu.RLock()
	f := a.families[string(name)]
	if f == nil {
		a.famMu.RUnlock()
		a.famMu.Lock()
		defer a.famMu.Unlock()
		f = a.families[string(name)]
		if f == nil {
			f = &family{name: string(name), kind: kind}
			a.families[f.name] = f
			a.famList = append(a.famList, f)
		}
	} else {
		defer a.famMu.RUnlock()
	}
	if f.kind != kind {
		a.m.dropConflict.Inc()
		return ErrTypeConflict
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a.cfg.MaxSeriesPerMetric > 0 && len(f.series) >= a.cfg.MaxSeriesPerMetric {
		a.m.dropMetricLimit.Inc()
		return ErrMetricSeriesLimit
	}
	s.fam = f
	s.famIdx = int32(len(f.series))
	f.series = append(f.series, s)
	return nil
}

// remove drops s from its shard (held by the caller) and its family.
func (a *Aggregator) remove(sh *shard, s *series) {
	if sh.m[s.hash] == s {
		delete(sh.m, s.hash)
		if cs := sh.conflicts[s.hash]; len(cs) > 0 {
			sh.m[s.hash] = cs[0]
			if len(cs) == 1 {
				delete(sh.conflicts, s.hash)
			} else {
				sh.conflicts[s.hash] = cs[1:]
			}
		}
	} else {
		cs := sh.conflicts[s.hash]
		for i, c := range cs {
			if c == s {
				cs = append(cs[:i], cs[i+1:]...)
				break
			}
		}
		if len(cs) == 0 {
			delete(sh.conflicts, s.hash)
		} else {
			sh.conflicts[s.hash] = cs
		}
	}
	f := s.fam
	f.mu.Lock()
	last := len(f.series) - 1
	moved := f.series[last]
	f.series[s.famIdx] = moved
	moved.famIdx = s.famIdx
	f.series[last] = nil
	f.series = f.series[:last]
	f.mu.Unlock()
	a.nseries.Add(-1)
	a.m.expired.Inc()
}
