// Package aggregate owns Telltale's metric state: a sharded map of series
// keyed by one hash of the metric name and its sorted labels, the per-kind
// aggregation (counters, gauges, quantile sketches, sets), the flush loop that
// hands every series to a Sink once per interval, idle-series expiry,
// cardinality limits, and the Prometheus exposition of the current values.
//
// It never sees a wire format: package ingest converts parsed statsd lines
// into Samples and hands them to an Appender.
//
// # Naming
//
// Series are named as statsd_exporter names them when it has no mapping
// config, so that Telltale can replace it without touching dashboards: every
// character outside [a-zA-Z0-9_] becomes '_' (a run of "--" collapses to one
// '_'), a leading digit gets a '_' prefix, label names are escaped the same
// way, label values are kept as sent, and the last of two equal label names
// wins.
//
// # Intervals
//
// Counters are cumulative and gauges keep their value, as on any Prometheus
// target. Timers, histograms and distributions become summaries whose
// quantiles describe the last flushed interval that had observations (exact
// while the interval holds at most 128 of them, a 1 %-accurate DDSketch
// beyond) and whose _sum and _count are cumulative. A set shows the unique
// members of the last flushed interval (exact to 128, HyperLogLog beyond).
//
// # Series identity
//
// A series is found by the xxhash of its canonical key, which also picks its
// shard; keys whose hashes collide are told apart by comparing the keys
// (see shard.get).
//
// # Locks
//
// Lock order: shard.mu, then Aggregator.famMu, then family.mu. The exposition
// writer takes them one at a time, never nested.
package aggregate
