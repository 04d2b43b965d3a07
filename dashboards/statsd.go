package dashboards

//lint:file-ignore SA1019 Grafana's file provisioning and Import read the classic dashboard model that package dashboard builds; the SDK deprecates it for dashboardv2, which needs Grafana 12 with the kubernetesDashboards feature.

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// notStatsd matches the names that are not statsd series: Telltale's
// self-metrics and the Go and process collectors' (which Telltale records
// into its own history at every flush, and a Prometheus scraping its
// /metrics holds too), and a Prometheus's engine metrics and the scrape's
// own series.
const notStatsd = `(telltale|go|process|promhttp|prometheus|scrape)_.+|up`

// statsdSeries selects every statsd series.
const statsdSeries = `__name__=~".+", __name__!~"` + notStatsd + `"`

// picked selects the series of the chosen metric with the chosen values
// of the chosen tag.
const picked = `$tag=~"$value"`

// statsdDashboard is an overview of the statsd series, templated by
// metric name and tag.
func statsdDashboard() *dashboard.DashboardBuilder {
	return newDashboard("telltale-statsd", "Telltale statsd overview",
		"The statsd series Telltale keeps, named as statsd_exporter names them. Pick a metric, a tag to group by, and values of that tag.").
		WithVariable(prometheusVariable("The Prometheus data source: Telltale's own /api/v1, or a Prometheus that scrapes Telltale's /metrics.")).
		WithVariable(promQueryVariable("metric", "Metric", "label_values({"+statsdSeries+"}, __name__)").
			Description("statsd metric names. A timer, histogram or distribution is a summary: NAME (one series per quantile), NAME_sum and NAME_count.")).
		WithVariable(promQueryVariable("tag", "Group by tag", "label_names($metric)").
			Description("A tag (label) of the metric to group by; __name__ groups nothing.")).
		WithVariable(promQueryVariable("value", "Tag value", "label_values({__name__=\"$metric\"}, $tag)").
			Description("Values of the tag to show.").
			Multi(true).
			IncludeAll(true).
			AllValue(".*").
			Current(option("All", "$__all"))).
		WithRow(dashboard.NewRowBuilder("All statsd metrics")).
		WithPanel(single("Series", "statsd series with a recent sample.", "short",
			q{"count({" + statsdSeries + "})", ""})).
		WithPanel(single("Metric names", "Distinct statsd metric names with a recent sample (a summary counts three: NAME, NAME_sum, NAME_count).", "short",
			q{"count(count by (__name__) ({" + statsdSeries + "}))", ""})).
		WithPanel(graph("Series per metric name (top 10)", "The metric names with the most series: where cardinality comes from.", "short", 16,
			q{"topk(10, count by (__name__) ({" + statsdSeries + "}))", "{{__name__}}"})).
		WithRow(dashboard.NewRowBuilder("$metric")).
		WithPanel(graph("$metric by $tag", "The metric's value summed by the tag: a counter's running total, a gauge's value, a set's unique members in the last flush interval.", "short", 12,
			q{`sum by ($tag) ({__name__="$metric", ` + picked + `})`, "{{$tag}}"})).
		WithPanel(graph("Per-second rate of $metric by $tag", "For counters (and a summary's _count and _sum): increase per second.", "short", 12,
			q{`sum by ($tag) (rate({__name__="$metric", ` + picked + `}[$__rate_interval]))`, "{{$tag}}"})).
		WithPanel(graph("Quantiles of $metric", "For timers, histograms and distributions: the configured percentiles over the last flush interval, the largest of the chosen series. Timers are in seconds.", "short", 8,
			q{`max by (quantile) ({__name__="$metric", quantile=~".+", ` + picked + `})`, "{{quantile}}"})).
		WithPanel(graph("Observations/s of $metric by $tag", "For timers, histograms and distributions: values received per second (sample rates applied).", "short", 8,
			q{`sum by ($tag) (rate({__name__="${metric}_count", ` + picked + `}[$__rate_interval]))`, "{{$tag}}"})).
		WithPanel(graph("Mean of $metric by $tag", "For timers, histograms and distributions: the mean value over the rate interval (timers in seconds).", "short", 8,
			q{`sum by ($tag) (rate({__name__="${metric}_sum", ` + picked + `}[$__rate_interval])) / sum by ($tag) (rate({__name__="${metric}_count", ` + picked + `}[$__rate_interval]))`, "{{$tag}}"}))
}
