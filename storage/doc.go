// Package storage is Telltale's persistent store, and the only package that
// imports Badger (github.com/dgraph-io/badger/v4).
//
// A DB is opened with Open and released with Close. It owns the on-disk key
// layout, drawn in FORMAT.md: one prefix byte per record kind, big-endian
// ids so that ranges are prefix scans.
//
// This first part holds the series index. A series is a label set (Labels,
// sorted by name, with the metric name as the "__name__" label). SeriesID
// maps a label set to a stable uint64 id, creating it on first use;
// SeriesLabels maps it back. Select answers Prometheus-style label matchers
// from postings records, so a query never scans every series, and
// LabelNames and LabelValues list what the index holds.
//
// Memory is bounded by explicit Badger options (see Config and
// DefaultConfig), because Badger's defaults are not: under a write flood they
// grow to gigabytes of resident memory. The series cache is the one part
// that grows with the number of series; its size is bounded by the
// cardinality limits of the callers (package aggregate).
//
// The second part holds the metric history. AppendSamples stores the values
// of a flush at one time, Commit makes them durable (they survive kill -9),
// and Samples and SelectSamples read them back in time order. Samples are
// first written to a write-ahead log of flush records, and kept in memory in
// one head chunk per series (Prometheus' XOR encoding, tsdb/chunkenc); a
// head of 120 samples is written as a chunk record, and flush records whose
// samples are all in chunks are deleted. Open replays the flush records
// left, so a restart loses nothing that was committed. Config.Retention
// bounds how long samples are kept. FORMAT.md draws both records.
//
// The third part holds the error tracker's events and issues (WriteEvents,
// Event, IssueEvents, Issues and the records of each issue); an issue's
// latest state goes through the issue journal (journal.go).
//
// Value-log garbage collection runs on a timer (Config.GCInterval) until
// Close.
//
// Locks: DB.mu guards the series cache and serialises series creation;
// DB.hmu guards the heads and serialises AppendSamples. Neither is held
// while the other is taken. The issue journal's mu is taken inside
// acquire's read lock of DB.life (or by Close, once no method runs) and
// held until its write is committed; nothing else is taken while it is
// held but Badger's own locks.
package storage
