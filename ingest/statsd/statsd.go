// Package statsd parses statsd and DogStatsD lines in place.
//
// The wire formats are described in
// https://github.com/statsd/statsd/blob/master/docs/metric_types.md (statsd) and
// https://docs.datadoghq.com/developers/dogstatsd/datagram_shell/ (DogStatsD):
//
//	<name>:<value>|<type>[|@<rate>][|#<k>:<v>,...][|T<timestamp>][|c:<container>][|e:<data>][|card:<cardinality>]
//
// Parser accepts what statsd_exporter v0.31 (pkg/line, with all tag styles
// enabled) accepts and produces the same names, tags, types and values, with
// the differences listed below. The differential test in this package checks
// that against statsd_exporter's own parser.
//
// Accepted:
//   - types c (Counter), g (Gauge, "+N"/"-N" is a delta), ms (Timer), h (Histogram),
//     d (Distribution) and s (Set);
//   - statsd multi-metric lines "name:1|c:2|c" (only without DogStatsD fields) and
//     DogStatsD value packing "name:1:2:3|ms" (only for ms, h and d);
//   - the sample rate "|@0.5" (reported in Sample.Rate; the caller scales);
//   - tags: DogStatsD "|#k:v,k2:v2", InfluxDB "name,k=v,k2=v2", Librato
//     "name#k=v,k2=v2", SignalFX "name[k=v,k2=v2]" and Graphite "name;k=v;k2=v2".
//     A malformed tag (no separator, empty key or value) is dropped and counted
//     in Parser.BadTags, as statsd_exporter does. A line with both name tags and
//     DogStatsD tags is rejected.
//   - DogStatsD fields that Telltale has no use for are skipped without being
//     validated: "|T<unix time>" (Telltale, like statsd_exporter, aggregates by
//     arrival time) and the origin-detection fields "|c:<container id>",
//     "|e:<external data>" and "|card:<tag cardinality>" (Telltale does not
//     enrich series with the sender's container, so these carry nothing it uses).
//
// Differences from statsd_exporter:
//   - tags are returned raw, in order, duplicates included; statsd_exporter
//     escapes keys with mapper.EscapeMetricName into a map, so the last of
//     equal escaped keys wins: the consumer does the same to get its labels;
//   - events and service checks are recognised (statsd_exporter parses them as
//     metric lines, so "_e{1,1}:1|c" becomes a counter named "_e{1,1}");
//   - sets are accepted (statsd_exporter rejects them); Sample.Raw is the member;
//   - a trailing '\r' is tolerated (statsd_exporter reads the type as "c\r" and rejects the line);
//   - "|c:<id>" is skipped instead of becoming a container_id label (an empty
//     one too, which statsd_exporter rejects), "|e:" and "|card:" are skipped
//     instead of rejected, and a line with any of them is
//     never split as a statsd multi-metric line (statsd_exporter splits
//     "name:1|c|c:abc" at the container id's ':' and rejects both halves);
//   - Graphite tags (statsd_exporter keeps "name;k=v" as the name, later escaped to "name_k_v");
//   - stricter values: NaN and ±Inf are rejected (they would poison a counter or
//     a summary), and a negative counter is rejected here (statsd_exporter's
//     exporter drops it later, with reason illegal_negative_counter);
//   - stricter rates: a rate that is not a number in [0, 1] is rejected, and so
//     is a second "@" field (statsd_exporter counts an error and uses rate 1,
//     divides a counter twice, or with a rate above 1 drops observations
//     silently). Like statsd_exporter, "@0" means 1;
//   - a name that is empty once its tags are removed ("[k=v]:1|c") is rejected;
//   - more than MaxTags tags on a line are rejected;
//   - any number of '|' fields after the type is accepted (statsd_exporter rejects more than four);
//   - a ']' before the first '[' is treated like a lone bracket: the name is kept
//     whole and one bad tag is counted (statsd_exporter v0.31 panics on it).
//
// DogStatsD events ("_e{...") and service checks ("_sc|...") are not metrics:
// Parse returns ErrEvent or ErrServiceCheck for them so the caller can count
// and drop them.
//
// Parse allocates nothing once the Parser's buffers and dst have grown, for
// every format. The exceptions are off the common path: a number that is not
// a plain decimal of up to 19 digits and is longer than 32 bytes (strconv
// copies it), and a value or rate that strconv rejects (its error is
// allocated). The benchmarks compare Parse with statsd_exporter's parser:
//
//	go test -run='^$' -bench=BenchmarkParse -benchmem -count=10 ./ingest/statsd/ > bench.txt
//	benchstat -col /impl bench.txt
package statsd

import (
	"errors"
	"strconv"
)

// Type is the metric type of a Sample, as given by the line's type field.
type Type uint8

// Metric types, with their wire codes.
const (
	Counter      Type = iota + 1 // "c": add Value/Rate to a counter.
	Gauge                        // "g": set the gauge to Value, or add Value when Relative.
	Timer                        // "ms": one observation of Value milliseconds.
	Histogram                    // "h": one observation of Value.
	Distribution                 // "d": one observation of Value (a DogStatsD global distribution).
	Set                          // "s": count Raw among the unique members seen.
)

// String returns the lowercase name of t ("counter", "gauge", "timer",
// "histogram", "distribution", "set"), or "Type(N)" for an invalid value.
func (t Type) String() string {
	switch t {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Timer:
		return "timer"
	case Histogram:
		return "histogram"
	case Distribution:
		return "distribution"
	case Set:
		return "set"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// MaxTags is the largest number of tags a line may carry; a line with more is
// rejected with ErrTooManyTags. Each tag becomes a label, so this also bounds
// the work and memory one line can cost downstream.
const MaxTags = 64

// Tag is one tag of a line. Key and Value are raw: not escaped, not validated
// beyond being non-empty.
type Tag struct {
	Key, Value []byte
}

// Sample is one value of a line.
//
// Name, Tags and Raw are sub-slices of the line or of the Parser's buffers:
// they are valid until the next call to Parse on the same Parser and must be
// copied by anyone who keeps them longer.
type Sample struct {
	Name     []byte  // metric name with InfluxDB/Librato/SignalFX/Graphite tags removed, not escaped
	Tags     []Tag   // all tags of the line (shared by all samples of that line), keys and values raw, order of appearance
	Type     Type    // metric type
	Value    float64 // parsed value (timers in ms as sent; no conversion); for gauges with a leading + or - this is the signed delta; 0 for sets
	Raw      []byte  // the value text as sent (what a Set counts)
	Rate     float64 // sample rate from @rate, in (0, 1]; 1 when absent. Callers scale counters by 1/Rate and weigh observations by 1/Rate; statsd ignores it for gauges and sets
	Relative bool    // gauge value had a leading '+' or '-'
}

// Errors returned by Parse. Reason maps each to a short label.
var (
	// ErrMalformedLine is returned for a line without a ':' after a non-empty
	// name part, or a value without a '|' and type after it.
	ErrMalformedLine = errors.New("statsd: malformed line")
	// ErrEmptyName is returned when the name is empty once its tags are removed.
	ErrEmptyName = errors.New("statsd: empty metric name")
	// ErrInvalidUTF8 is returned for a line that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("statsd: line is not valid UTF-8")
	// ErrBadValue is returned for a value that is not a finite number, or an empty set member.
	ErrBadValue = errors.New("statsd: bad value")
	// ErrNegativeCounter is returned for a counter increment below zero.
	ErrNegativeCounter = errors.New("statsd: negative counter increment")
	// ErrBadType is returned for a type other than c, g, ms, h, d and s.
	ErrBadType = errors.New("statsd: unknown metric type")
	// ErrBadMultiValue is returned for packed values ("name:1:2|c") of a type
	// other than ms, h and d.
	ErrBadMultiValue = errors.New("statsd: multiple values are only allowed for ms, h and d")
	// ErrBadRate is returned for a sample rate that is not a number in [0, 1],
	// or for a second rate on the same sample.
	ErrBadRate = errors.New("statsd: bad sample rate")
	// ErrBadComponent is returned for an empty or unknown '|' field after the type.
	ErrBadComponent = errors.New("statsd: bad field")
	// ErrMixedTagStyles is returned for a line with both name tags and DogStatsD tags.
	ErrMixedTagStyles = errors.New("statsd: name tags mixed with DogStatsD tags")
	// ErrTooManyTags is returned for a line with more than MaxTags tags.
	ErrTooManyTags = errors.New("statsd: too many tags")
	// ErrEvent is returned for a DogStatsD event ("_e{..."), which is not a metric.
	ErrEvent = errors.New("statsd: DogStatsD event")
	// ErrServiceCheck is returned for a DogStatsD service check ("_sc|..."), which is not a metric.
	ErrServiceCheck = errors.New("statsd: DogStatsD service check")
)

// Reason returns a short stable label for an error returned by Parse, for the
// reason label of telltale_statsd_lines_rejected_total:
//
//	malformed_line    ErrMalformedLine
//	empty_name        ErrEmptyName
//	invalid_utf8      ErrInvalidUTF8
//	bad_value         ErrBadValue
//	negative_counter  ErrNegativeCounter
//	bad_type          ErrBadType
//	bad_multi_value   ErrBadMultiValue
//	bad_rate          ErrBadRate
//	bad_component     ErrBadComponent
//	mixed_tag_styles  ErrMixedTagStyles
//	too_many_tags     ErrTooManyTags
//	event             ErrEvent
//	service_check     ErrServiceCheck
//
// It returns "" for nil and "other" for any other error.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrMalformedLine):
		return "malformed_line"
	case errors.Is(err, ErrEmptyName):
		return "empty_name"
	case errors.Is(err, ErrInvalidUTF8):
		return "invalid_utf8"
	case errors.Is(err, ErrBadValue):
		return "bad_value"
	case errors.Is(err, ErrNegativeCounter):
		return "negative_counter"
	case errors.Is(err, ErrBadType):
		return "bad_type"
	case errors.Is(err, ErrBadMultiValue):
		return "bad_multi_value"
	case errors.Is(err, ErrBadRate):
		return "bad_rate"
	case errors.Is(err, ErrBadComponent):
		return "bad_component"
	case errors.Is(err, ErrMixedTagStyles):
		return "mixed_tag_styles"
	case errors.Is(err, ErrTooManyTags):
		return "too_many_tags"
	case errors.Is(err, ErrEvent):
		return "event"
	case errors.Is(err, ErrServiceCheck):
		return "service_check"
	}
	return "other"
}
