// Package api serves Telltale's HTTP endpoints on one fasthttp listener:
// /metrics (Telltale's own metrics followed by every statsd series, streamed
// in the Prometheus text format or OpenMetrics, gzip when asked), /healthz,
// /readyz, Go's profiles under /debug/pprof/, once EnableQuery is called
// the Prometheus query API under /api/v1/, once EnableIssues is called the
// Sentry web API subset under /api/0/, and the web UI (package ui) at /.
// The two APIs take a Bearer token or the UI's session cookie.
//
// Every error answers as JSON {"detail": "..."} through one function,
// writeError, except under /api/v1/, which answers in Prometheus' own error
// shape through writePromError, so that Prometheus clients and Grafana
// understand it.
package api
