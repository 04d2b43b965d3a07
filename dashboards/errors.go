package dashboards

//lint:file-ignore SA1019 Grafana's file provisioning and Import read the classic dashboard model that package dashboard builds; the SDK deprecates it for dashboardv2, which needs Grafana 12 with the kubernetesDashboards feature.

import "github.com/grafana/grafana-foundation-sdk/go/dashboard"

// sentryVariable is the "sentry" variable: which Sentry data source the
// issue panels query, by default the provisioned Telltale one.
func sentryVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("sentry").
		Label("Sentry").
		Description("The Sentry data source (grafana-sentry-datasource) pointed at Telltale.").
		Type(SentryType).
		Current(option("Telltale Sentry", SentryUID))
}

// projectVariable lists the projects through the Sentry data source (its
// "projects" variable query: GET /api/0/organizations/{org}/projects/);
// the value of a project is its numeric id.
func projectVariable() *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder("project").
		Label("Project").
		Datasource(sentryDS()).
		Query(dashboard.StringOrMap{Map: map[string]any{"type": "projects"}}).
		Refresh(dashboard.VariableRefreshOnDashboardLoad).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		Current(option("All", "$__all"))
}

// errorsDashboard shows the issues and the error events over time through
// Grafana's Sentry data source plugin next to the Sentry ingest
// self-metrics.
func errorsDashboard() *dashboard.DashboardBuilder {
	return newDashboard("telltale-errors", "Telltale errors",
		"Unresolved issues and error events over time from Telltale's Sentry API (through Grafana's Sentry data source plugin), next to the Sentry ingest self-metrics. "+selfMetricsNote).
		WithVariable(sentryVariable()).
		WithVariable(projectVariable()).
		WithVariable(prometheusVariable(selfPrometheusNote)).
		WithVariable(instanceVariable()).
		WithPanel(single("Issues", "Issues in the issue table, every status.", "short",
			q{sumBy("", "telltale_sentry_issues{"+self+"}"), ""})).
		WithPanel(single("Events stored/s", "Sentry events written to storage per second.", "cps",
			q{rate("telltale_sentry_items_total", self+`, type="event", outcome="stored"`, ""), ""})).
		WithPanel(single("Events rejected/s", "Events refused after authentication: too large, unparsable, a second event in an envelope, or failed to store.", "cps",
			q{rate("telltale_sentry_items_total", self+`, type="event", outcome="rejected"`, ""), ""})).
		WithPanel(single("Requests refused", "Share of Sentry ingest requests answered with an error status (4xx, 5xx).", "percentunit",
			q{rate("telltale_sentry_requests_total", self+`, code!="200"`, "") + " / " + rate("telltale_sentry_requests_total", self, ""), ""})).
		WithPanel(single("Events SDKs discarded/s", "Events SDKs reported (client reports) they dropped before sending.", "cps",
			q{rate("telltale_sentry_client_discarded_events_total", self, ""), ""})).
		WithPanel(single("Commit errors/s", "Events the group commit failed to write.", "cps",
			q{rate("telltale_sentry_events_committed_total", self+`, result="error"`, ""), ""})).
		WithRow(dashboard.NewRowBuilder("Issues")).
		WithPanel(sentryTable("Unresolved issues", "Unresolved issues seen in the time range, last seen first (at most 100).",
			NewSentryIssuesBuilder("is:unresolved").Projects("$project").Sort("date").Limit(100))).
		WithPanel(sentryTable("Newest unresolved issues", "Unresolved issues seen in the time range, newest first (by first seen): what just broke.",
			NewSentryIssuesBuilder("is:unresolved").Projects("$project").Sort("new").Limit(10)).
			Height(8)).
		WithRow(dashboard.NewRowBuilder("Error rate")).
		WithPanel(sentryStatsGraph("Error events over time (Sentry data source)",
			"Error events per interval by outcome, through the Sentry data source's Stats query (stats_v2): accepted (stored), invalid (rejected: bad key, too large, unparsable, ...), rate_limited. "+
				"For the projects of the Project variable; counted by Telltale from its own telltale_sentry_project_events_total as its metric history recorded it (statsd.history, on by default), so as fine as statsd.flush_interval.",
			24, NewSentryStatsBuilder("error", "sum(quantity)").Projects("$project").GroupBy("outcome").Interval("$__interval"))).
		WithPanel(graph("Events/s by outcome", "Sentry events received per second: stored, or rejected.", "cps", 12,
			q{rate("telltale_sentry_items_total", self+`, type="event"`, "outcome"), "{{outcome}}"})).
		WithPanel(projectEventsGraph(12).
			Description("Per second, by project (slug), every project (the Project variable, a project id, picks the projects of the Sentry data source's panels only): " +
				"error events stored, and requests to the project rejected (bad key, too large, unparsable, ...) or rate limited; each request carries at most one event.")).
		WithPanel(graph("Refused requests/s by reason", "Sentry ingest requests refused, by reason (auth_missing, auth_invalid, rate_limited, event_too_large, ...).", "reqps", 8,
			q{rate("telltale_sentry_rejected_total", self, "reason"), "{{reason}}"})).
		WithPanel(graph("Share of requests refused by endpoint", "Requests answered with an error status over all requests, by endpoint (envelope, store).", "percentunit", 8,
			q{rate("telltale_sentry_requests_total", self+`, code!="200"`, "endpoint") + " / " + rate("telltale_sentry_requests_total", self, "endpoint"), "{{endpoint}}"})).
		WithPanel(graph("Events SDKs discarded/s by reason", "Events SDKs dropped before sending, from their client reports: by reason and category.", "cps", 8,
			q{rate("telltale_sentry_client_discarded_events_total", self, "reason, category"), "{{reason}} {{category}}"}))
}
