// Package history holds the benchmarks of Telltale's metric history: a day
// of flushes written through package storage, PromQL range queries over it
// (against Prometheus' own TSDB loaded with the same samples), and the flush
// of many known series. It has no code outside its tests; run it with
// `make bench-history` (see bench/README.md, section "History").
package history
