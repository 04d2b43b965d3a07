// Package dashboards generates Telltale's Grafana dashboards as code, with
// the Grafana Foundation SDK (github.com/grafana/grafana-foundation-sdk/go):
//
//   - telltale-health.json: Telltale's own health from its self-metrics
//     (telltale_*): statsd and Sentry ingest, rejects, drops, queues, flush
//     latency, series, storage size, memory and CPU.
//   - telltale-statsd.json: an overview of the statsd series, templated by
//     metric name and tag through label_values() and label_names()
//     variables.
//   - telltale-errors.json: the unresolved and newest issues, and error
//     events over time by outcome (the plugin's Stats query, stats_v2),
//     through Grafana's Sentry data source plugin
//     (grafana-sentry-datasource) pointed at Telltale's /api/0, next to the
//     Sentry ingest self-metrics.
//
// The JSON files are committed beside this package with the provisioning
// files under provisioning/. Regenerate them after a change with
//
//	go generate ./dashboards/
//
// which runs the generator in ./gen; a test fails while the committed
// JSON differs from what Generate returns. README.md says how to provision
// or import the dashboards and what each panel shows.
//
// Queries and Expand list and expand the queries of a generated dashboard
// as Grafana would run them, so that tests can parse every PromQL
// expression and run it against a live Telltale.
package dashboards

//go:generate go run ./gen -dir .
