// Package issues owns the error tracker's state: projects and their ingest
// keys, and issues (the groups of events that share a grouping hash) with
// their counters, unique users, tag values, status and regressions.
//
// A Tracker accepts grouped events through Submit and commits them in groups:
// one goroutine drains the queue of pending events, applies them to the
// in-memory issue table, writes the batch (events, changed issues) to storage
// in one write, and only then answers every Submit of the batch. Many
// concurrent events thus share one fsync, and an event is acknowledged only
// once it is durable. The issue table (a few hundred bytes per issue) is
// kept in memory and loaded at start, so that the issue list is answered
// without reading storage.
package issues
