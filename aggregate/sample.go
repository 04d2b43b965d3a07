package aggregate

// Kind says how a series aggregates its samples and how it is exposed.
type Kind uint8

// The kinds of series. The zero Kind is invalid.
const (
	// Counter sums sample values; exposed as a cumulative Prometheus counter.
	Counter Kind = iota + 1
	// Gauge keeps the last value, or applies deltas; exposed as a gauge.
	Gauge
	// Summary observes values into a quantile sketch; exposed as a Prometheus
	// summary (configured quantiles of the last flushed interval, cumulative
	// _sum and _count).
	Summary
	// Set counts unique members per interval; exposed as a gauge of the count
	// in the last flushed interval.
	Set
)

// String returns the Prometheus type name of k.
func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Summary:
		return "summary"
	case Set:
		return "gauge"
	}
	return "untyped"
}

// Label is one name/value pair of a sample, as received (not yet escaped).
type Label struct {
	Name, Value []byte
}

// Sample is one observation handed to an Appender.
//
// Name, Labels and Member may point into a caller's reusable buffer: they are
// only read during the Add call, and the aggregator copies what it keeps when
// it creates a new series. Add may reorder Labels in place (it sorts them).
type Sample struct {
	Name   []byte
	Labels []Label
	Kind   Kind
	// Value is the counter increment (already scaled by the sample rate), the
	// gauge value or delta, or the observed value (timers already in seconds).
	Value float64
	// Weight is how many observations a Summary sample stands for (1/rate);
	// 0 means 1.
	Weight float64
	// Relative makes a Gauge sample a delta (+N/-N) instead of a new value.
	Relative bool
	// Member is the set member for a Set sample.
	Member []byte
}
