package dashboards

//lint:file-ignore SA1019 Grafana's file provisioning and Import read the classic dashboard model that package dashboard builds; the SDK deprecates it for dashboardv2, which needs Grafana 12 with the kubernetesDashboards feature.

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// self selects the Telltale instances picked in the "instance" variable.
// Telltale labels the self-metrics it records into its history with
// job="telltale" and instance (its HTTP listen address), as a Prometheus
// scraping /metrics labels them; where the label is absent, the "All"
// value (.*) still matches.
const self = `instance=~"$instance"`

// instanceVariable picks the Telltale instances to show, by the instance
// label of telltale_build_info.
func instanceVariable() *dashboard.QueryVariableBuilder {
	return promQueryVariable("instance", "Instance", "label_values(telltale_build_info, instance)").
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(option("All", "$__all"))
}

// selfPrometheusNote describes the "datasource" variable of the
// dashboards of self-metrics.
const selfPrometheusNote = "The Prometheus data source holding Telltale's self-metrics: Telltale's own /api/v1, or a Prometheus that scrapes its /metrics."

// selfMetricsNote tells where self-metrics come from.
const selfMetricsNote = "Telltale records its self-metrics (telltale_*, process_*, go_*) into its own history at every statsd flush, " +
	"labelled job=\"telltale\" and instance, so its /api/v1 answers for them: no Prometheus is needed. " +
	"A Prometheus that scrapes Telltale's /metrics works too."

// healthDashboard is Telltale's own health, from its self-metrics.
func healthDashboard() *dashboard.DashboardBuilder {
	return newDashboard("telltale-health", "Telltale health",
		"Telltale's own health: statsd and Sentry ingest, rejects, drops, queues, flush latency, series, storage. "+selfMetricsNote).
		WithVariable(prometheusVariable(selfPrometheusNote)).
		WithVariable(instanceVariable()).
		// Overview: one number each.
		WithPanel(single("statsd lines/s", "statsd lines handed to the parser per second, over UDP and TCP.", "cps",
			q{rate("telltale_statsd_lines_received_total", self, ""), ""})).
		WithPanel(single("Sentry events stored/s", "Sentry events written to storage per second.", "cps",
			q{rate("telltale_sentry_items_total", self+`, type="event", outcome="stored"`, ""), ""})).
		WithPanel(single("Series in memory", "statsd series the aggregator holds.", "short",
			q{sumBy("", "telltale_aggregate_series{"+self+"}"), ""})).
		WithPanel(single("Issues", "Issues in the issue table.", "short",
			q{sumBy("", "telltale_sentry_issues{"+self+"}"), ""})).
		WithPanel(single("Storage on disk", "Badger's LSM tree and value log, as Badger last computed them (at open, then every minute).", "bytes",
			q{sumBy("", "telltale_storage_lsm_size_bytes{"+self+"}") + " + " + sumBy("", "telltale_storage_vlog_size_bytes{"+self+"}"), ""})).
		WithPanel(single("Uptime", "Time since the process started.", "s",
			q{"max(time() - process_start_time_seconds{" + self + "})", ""})).
		WithRow(dashboard.NewRowBuilder("statsd ingest")).
		WithPanel(graph("Lines received/s", "Non-empty statsd lines handed to the parser, rejected ones included, by transport.", "cps", 8,
			q{rate("telltale_statsd_lines_received_total", self, "transport"), "{{transport}}"})).
		WithPanel(graph("Datagrams/s", "UDP datagrams read from the socket, including those later dropped by a full queue.", "pps", 8,
			q{rate("telltale_statsd_packets_received_total", self, "transport"), "{{transport}}"})).
		WithPanel(graph("Bytes received/s", "statsd payload bytes read from the sockets, by transport.", "Bps", 8,
			q{rate("telltale_statsd_bytes_received_total", self, "transport"), "{{transport}}"})).
		WithPanel(graph("Rejected lines/s by reason", "Malformed statsd lines, by reason (malformed_line, bad_type, bad_value, line_too_long, ...). A rejected line never spoils the rest of its packet.", "cps", 12,
			q{rate("telltale_statsd_lines_rejected_total", self, "reason"), "{{reason}}"})).
		WithPanel(graph("Drops/s", "Everything received and not kept: UDP datagrams dropped by a full queue (and their lines) or by the kernel, "+
			"DogStatsD events and service checks, malformed tags, TCP connections over the limit, and samples the aggregator refused (by reason). "+
			"With nothing lost, every series stays at 0.", "cps", 12,
			q{rate("telltale_statsd_udp_queue_dropped_total", self, ""), "UDP datagrams, queue full"},
			q{rate("telltale_statsd_udp_queue_dropped_lines_total", self, ""), "lines in those datagrams"},
			q{rate("telltale_statsd_udp_kernel_drops_total", self, ""), "UDP datagrams, kernel buffer full"},
			q{rate("telltale_statsd_events_dropped_total", self, "kind"), "DogStatsD {{kind}}"},
			q{rate("telltale_statsd_tags_dropped_total", self, ""), "malformed tags"},
			q{rate("telltale_statsd_tcp_connections_rejected_total", self, ""), "TCP connections refused"},
			q{rate("telltale_aggregate_samples_dropped_total", self, "reason"), "aggregator: {{reason}}"})).
		WithPanel(graph("Queues and connections", "Chunks of UDP datagrams waiting for a worker, events waiting for their group commit, issue states in the issue journal not yet in their records (written within a second), and open statsd TCP connections.", "short", 12,
			q{sumBy("", "telltale_statsd_udp_queue_length{"+self+"}"), "UDP queue (chunks)"},
			q{sumBy("", "telltale_sentry_commit_queue_length{"+self+"}"), "Sentry commit queue (events)"},
			q{sumBy("", "telltale_storage_issue_journal_issues{"+self+"}"), "issue journal (issues)"},
			q{sumBy("", "telltale_statsd_tcp_connections{"+self+"}"), "statsd TCP connections"})).
		WithPanel(graph("HTTP requests/s", "Requests to Telltale's HTTP listener by handler and status code.", "reqps", 12,
			q{rate("telltale_http_requests_total", self, "handler, code"), "{{handler}} {{code}}"})).
		WithRow(dashboard.NewRowBuilder("Aggregation and flush")).
		WithPanel(graph("Flush latency", "Time to flush every series to storage: 50th and 99th percentile, and mean.", "s", 8,
			q{quantile("0.5", "telltale_aggregate_flush_duration_seconds_bucket", self), "p50"},
			q{quantile("0.99", "telltale_aggregate_flush_duration_seconds_bucket", self), "p99"},
			q{mean("telltale_aggregate_flush_duration_seconds", self), "mean"})).
		WithPanel(graph("Flush failures/s", "Flushes that failed to reach storage, and flushes whose samples the history refused as out of order.", "cps", 8,
			q{rate("telltale_aggregate_flush_errors_total", self, ""), "flush errors"},
			q{rate("telltale_aggregate_history_out_of_order_total", self, ""), "out of order"})).
		WithPanel(graph("Series and metric names", "statsd series and distinct metric names held in memory.", "short", 8,
			q{sumBy("", "telltale_aggregate_series{"+self+"}"), "series"},
			q{sumBy("", "telltale_aggregate_metric_names{"+self+"}"), "metric names"})).
		WithPanel(graph("Series churn/s", "Series created, series forgotten after series_idle_timeout, and samples of new series a flush deferred to later flushes (history_max_new_series).", "cps", 12,
			q{rate("telltale_aggregate_series_created_total", self, ""), "created"},
			q{rate("telltale_aggregate_series_expired_total", self, ""), "expired"},
			q{rate("telltale_storage_history_samples_deferred_total", self, ""), "history samples deferred"})).
		WithPanel(graph("CPU", "CPU time used per second (1 = one core).", "short", 12,
			q{"sum(rate(process_cpu_seconds_total{" + self + "}[$__rate_interval]))", "CPU cores"})).
		WithRow(dashboard.NewRowBuilder("Storage and memory")).
		WithPanel(graph("Storage size", "Badger's LSM tree (SST files) and value log on disk, as Badger last computed them (at open, then every minute).", "bytes", 8,
			q{sumBy("", "telltale_storage_lsm_size_bytes{"+self+"}"), "LSM tree"},
			q{sumBy("", "telltale_storage_vlog_size_bytes{"+self+"}"), "value log"})).
		WithPanel(graph("Memory", "Resident memory and Go heap in use, next to Badger's configured memory budget (memtables, block cache, index cache).", "bytes", 8,
			q{sumBy("", "process_resident_memory_bytes{"+self+"}"), "resident"},
			q{sumBy("", "go_memstats_heap_inuse_bytes{"+self+"}"), "Go heap in use"},
			q{sumBy("", "telltale_storage_memory_budget_bytes{"+self+"}"), "Badger budget"})).
		WithPanel(graph("Value-log GC passes", "Value-log garbage-collection passes by result: rewritten (a file was rewritten), nothing, error.", "short", 8,
			q{sumBy("result", "increase(telltale_storage_gc_runs_total{"+self+"}[$__rate_interval])"), "{{result}}"})).
		WithRow(dashboard.NewRowBuilder("Sentry ingest")).
		WithPanel(graph("Envelope items/s by type and outcome", "Sentry envelope items by type and outcome: stored (events), accepted (counted, not stored), rejected.", "cps", 8,
			q{rate("telltale_sentry_items_total", self, "type, outcome"), "{{type}} {{outcome}}"})).
		WithPanel(projectEventsGraph(8)).
		WithPanel(graph("Ingest requests/s by endpoint and status", "Requests to /api/{project}/envelope/ and /store/ by status code.", "reqps", 8,
			q{rate("telltale_sentry_requests_total", self, "endpoint, code"), "{{endpoint}} {{code}}"})).
		WithPanel(graph("Rejected requests/s by reason", "Sentry requests refused, by reason (auth_missing, auth_invalid, rate_limited, event_too_large, ...).", "reqps", 6,
			q{rate("telltale_sentry_rejected_total", self, "reason"), "{{reason}}"})).
		WithPanel(graph("Group commit latency", "Time of one group commit of events (apply, encode, durable write): 50th and 99th percentile.", "s", 6,
			q{quantile("0.5", "telltale_sentry_commit_seconds_bucket", self), "p50"},
			q{quantile("0.99", "telltale_sentry_commit_seconds_bucket", self), "p99"})).
		WithPanel(graph("Events committed/s", "Events written to storage by the group commit, by result (ok, error).", "cps", 6,
			q{rate("telltale_sentry_events_committed_total", self, "result"), "{{result}}"})).
		WithPanel(graph("Events per group commit", "Mean number of events that shared one group commit (one fsync).", "short", 6,
			q{mean("telltale_sentry_commit_batch_events", self), "mean"})).
		WithPanel(graph("Exception cache hit ratio", "Share of events whose exception value repeated a recent event's, so that its decoded "+
			"exceptions (exceptions) and its grouping (grouping) came from the caches instead of being built again.", "percentunit", 6,
			q{rate("telltale_sentry_cache_lookups_total", self+`,result="hit"`, "cache") + " / " +
				rate("telltale_sentry_cache_lookups_total", self, "cache"), "{{cache}}"}))
}

// projectEventsGraph is the "Events by project and outcome" panel, on the
// health and errors dashboards.
func projectEventsGraph(width uint32) *timeseries.PanelBuilder {
	return graph("Events by project and outcome", "Per second, by project (slug): error events stored, and requests to the project "+
		"rejected (bad key, too large, unparsable, ...) or rate limited; each request carries at most one event.", "cps", width,
		q{rate("telltale_sentry_project_events_total", self, "project, outcome"), "{{project}} {{outcome}}"})
}
