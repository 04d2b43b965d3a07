// Package api serves Telltale's HTTP endpoints on one fasthttp listener:
// /metrics (Telltale's own metrics followed by every statsd series, streamed
// in the Prometheus text format or OpenMetrics, gzip when asked), /healthz
// /readyz, and Go's profiles under /debug/pprof/. Every error answers as JSON {"detail": "..."} through one
// function, writeError.
package api
