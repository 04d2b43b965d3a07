package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/telltale-dev/telltale/dashboards"
)

// The tests of this file check the Grafana dashboards of package
// dashboards against a live Telltale: every metric a panel names is one
// /metrics exports, every panel and variable query gets data back from
// the live Telltale's own Prometheus query API, and the requests Grafana's
// Sentry data source plugin makes are answered in the shapes it decodes.
//
// Telltale records its self-metrics (telltale_*, process_*, go_*) into its
// history at every flush, labelled job="telltale" and instance as a
// Prometheus scrape would label them, so the health and errors dashboards'
// queries run against its /api/v1 like the statsd overview's: no
// Prometheus is needed.

// dashStatsdLines are statsd lines that give the statsd overview data:
// a counter and a timer tagged region, a gauge, and a malformed line, a
// DogStatsD event and a service check that the health dashboard counts.
const dashStatsdLines = "shop.orders:1|c|#region:eu\nshop.orders:2|c|#region:us\n" +
	"shop.checkout:120|ms|#region:eu\nshop.checkout:80|ms|#region:us\nqueue.depth:5|g\n" +
	"this is not statsd\n_e{5,4}:title|text\n_sc|db.ok|0\n"

// feedTelltale runs a whole Telltale that keeps history (its self-metrics
// too) and flushes every 100 ms, with project "backend" (id 1) and the test token, and sends it
// statsd lines over UDP and TCP across several flushes, and Sentry events
// through the real SDK: a wrapped error three times (two users) and a
// message. It returns the Telltale and a function that sends another
// round of traffic: statsd lines, an event, an event with a wrong key
// (refused), an envelope with two events (its event rejected) and a
// client report.
func feedTelltale(t *testing.T) (*Main, func()) {
	t.Helper()
	m := startSentryFlushing(t, 100*time.Millisecond)
	hub, client := sentryHub(t, m, "shop@1.2.3", "production")
	for i, user := range []string{"alice", "bob", "alice"} {
		sendBoom(hub, 1000+i, user)
	}
	hub.CaptureMessage("cache miss for key 42")
	client.Flush(5 * time.Second)

	post := func(key, body string) { postEnvelope(t, m, sentryAuth(key), []byte(body)) }
	more := func() {
		send(t, "udp", m.StatsdAddr(), dashStatsdLines)
		send(t, "tcp", m.StatsdAddr(), dashStatsdLines)
		event := `{"type":"event"}` + "\n" + `{"message":"hello","level":"warning"}` + "\n"
		post(testKey, "{}\n"+event)
		post("ffffffffffffffffffffffffffffffff", "{}\n"+event)
		post(testKey, "{}\n"+event+event)
		post(testKey, "{}\n"+`{"type":"client_report"}`+"\n"+`{"discarded_events":[{"reason":"queue_overflow","category":"error","quantity":2}]}`+"\n")
	}
	for range 5 {
		send(t, "udp", m.StatsdAddr(), dashStatsdLines)
		time.Sleep(100 * time.Millisecond)
	}
	send(t, "tcp", m.StatsdAddr(), dashStatsdLines)
	return m, more
}

// dashQueries returns the queries of every generated dashboard, each with
// its file name.
func dashQueries(t *testing.T) map[string][]dashboards.Query {
	t.Helper()
	files, err := dashboards.Generate()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]dashboards.Query{}
	for _, f := range files {
		qs, err := dashboards.Queries(f.JSON)
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = qs
	}
	return out
}

// TestDashboardMetricsExported checks that every metric name a dashboard
// query uses is on a live Telltale's /metrics (a histogram's or summary's
// _bucket, _sum and _count by their family), after statsd lines and
// Sentry events made every labelled family appear. The statsd overview's
// names come from its metric variable, given here a name that cannot be
// exported, and are skipped.
func TestDashboardMetricsExported(t *testing.T) {
	m, more := feedTelltale(t)
	more()
	fams := scrapeMetrics(t, m)
	exported := func(name string) bool {
		if f := fams[name]; f != nil && len(f.Metric) > 0 {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(name, suffix)
			if f := fams[base]; ok && f != nil && len(f.Metric) > 0 &&
				(f.GetType() == dto.MetricType_HISTOGRAM || (f.GetType() == dto.MetricType_SUMMARY && suffix != "_bucket")) {
				return true
			}
		}
		return false
	}
	const fromVariable = "metric_from_the_metric_variable"
	vars := dashboards.GrafanaVariables(map[string]string{"instance": ".*", "metric": fromVariable, "tag": "region", "value": ".*"})
	p := parser.NewParser(parser.Options{})
	used := map[string]bool{}
	for file, qs := range dashQueries(t) {
		for _, q := range qs {
			var expr string
			switch q.Kind {
			case dashboards.PromQL:
				expr = q.Expr
			case dashboards.LabelValues:
				expr = q.Expr
				if expr == "" {
					continue
				}
			default:
				continue
			}
			s, err := dashboards.Expand(expr, vars)
			if err != nil {
				t.Fatal(err)
			}
			e, err := p.ParseExpr(s)
			if err != nil {
				t.Fatalf("%s, %s: %v", file, q.Where, err)
			}
			for _, name := range dashboards.MetricNames(e) {
				if strings.HasPrefix(name, fromVariable) {
					continue
				}
				used[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")] = true
				if !exported(name) {
					t.Errorf("%s, %s: %s is not on /metrics", file, q.Where, name)
				}
			}
		}
	}
	var unused []string
	for name := range fams {
		if strings.HasPrefix(name, "telltale_") && !used[name] {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	t.Logf("self-metrics no dashboard shows: %v", unused)
}

// dashHasData reports whether a query answer holds at least one sample.
func dashHasData(v model.Value) bool {
	switch v := v.(type) {
	case model.Vector:
		return len(v) > 0
	case model.Matrix:
		for _, s := range v {
			if len(s.Values) > 0 {
				return true
			}
		}
	case *model.Scalar:
		return true
	}
	return false
}

// TestDashboardQueriesReturnData runs every PromQL target and every
// variable query of the dashboards the way Grafana does (query_range for
// a range target, query for an instant one, label values and label names
// with match[]) through the real client against the live Telltale's
// /api/v1, and checks each gets data back: the statsd overview's with the
// metric variable set to a counter or to a timer; the self-metrics' for
// every instance and for the one instance.
func TestDashboardQueriesReturnData(t *testing.T) {
	m, more := feedTelltale(t)
	more()
	c := promClient(t, m.HTTPAddr(), testToken)
	ctx := context.Background()
	// rate() and increase() need two samples in their range: wait for the
	// statsd series, and for two flushes recording the self-metrics that
	// appeared last (more's client report ends its traffic).
	eventually(t, "statsd series and self-metrics in the history", func() error {
		for _, expr := range []string{
			`shop_checkout_count{region="eu"} >= 6`,
			`count_over_time(telltale_sentry_client_discarded_events_total{job="telltale"}[1m]) >= 2`,
		} {
			v, _, _, err := c.Query(ctx, expr, time.Now())
			if err != nil || !dashHasData(v) {
				return fmt.Errorf("%s: %v %v", expr, v, err)
			}
		}
		return nil
	})

	// The one instance, as the instance variable offers it.
	end := time.Now()
	rng := v1.Range{Start: end.Add(-time.Minute), End: end, Step: time.Second}
	instances, _, _, err := c.LabelValues(ctx, "instance", []string{"telltale_build_info"}, rng.Start, rng.End)
	if err != nil || len(instances) != 1 {
		t.Fatalf("instances %v (%v), want one", instances, err)
	}
	if string(instances[0]) != m.HTTPAddr() {
		t.Errorf("instance label %q, want the address listened on, %s", instances[0], m.HTTPAddr())
	}

	// Each query must get data with at least one of these variable sets.
	statsdSets := []map[string]string{
		{"metric": "shop_orders", "tag": "region", "value": "eu"},
		{"metric": "shop_checkout", "tag": "region", "value": "(eu|us)"},
		{"metric": "shop_orders", "tag": "__name__", "value": ".*"},
		{"metric": "queue_depth", "tag": "__name__", "value": ".*"},
	}
	selfSets := []map[string]string{{"instance": ".*"}, {"instance": string(instances[0])}}

	n := 0
	for file, qs := range dashQueries(t) {
		// Self-metrics: data for every instance and for this one.
		sets, anyOne := selfSets, false
		if file == "telltale-statsd.json" {
			// statsd series: a panel for timers has data with a timer,
			// one for counters with a counter.
			sets, anyOne = statsdSets, true
		}
		for _, q := range qs {
			if q.Kind == dashboards.Sentry || q.Kind == dashboards.SentryVariable {
				continue // TestGrafanaSentryRequests
			}
			n++
			ok, misses := 0, []string{}
			for _, set := range sets {
				if has, desc := runDashQuery(t, c, q, set, rng); has {
					ok++
				} else {
					misses = append(misses, desc)
				}
			}
			if ok == 0 || (!anyOne && ok < len(sets)) {
				t.Errorf("%s, %s: no data: %s", file, q.Where, strings.Join(misses, "; "))
			}
		}
	}
	if n < 40 {
		t.Errorf("ran %d queries; want every dashboard's", n)
	}
}

// runDashQuery runs q with the variables set, and reports whether it got
// data back, and what it ran.
func runDashQuery(t *testing.T, c v1.API, q dashboards.Query, set map[string]string, rng v1.Range) (bool, string) {
	t.Helper()
	ctx := context.Background()
	vars := dashboards.GrafanaVariables(set)
	expand := func(s string) string {
		out, err := dashboards.Expand(s, vars)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	switch q.Kind {
	case dashboards.PromQL:
		expr := expand(q.Expr)
		var v model.Value
		var err error
		if q.Instant {
			v, _, _, err = c.Query(ctx, expr, rng.End)
		} else {
			v, _, _, err = c.QueryRange(ctx, expr, rng)
		}
		if err != nil {
			return false, fmt.Sprintf("%s: %v", expr, err)
		}
		return dashHasData(v), fmt.Sprintf("%s: %v", expr, v)
	case dashboards.LabelValues:
		sel, label := expand(q.Expr), expand(q.Label)
		var match []string
		if sel != "" {
			match = []string{sel}
		}
		vs, _, _, err := c.LabelValues(ctx, label, match, rng.Start, rng.End)
		if err != nil {
			return false, fmt.Sprintf("label values of %s for %s: %v", label, sel, err)
		}
		return len(vs) > 0, fmt.Sprintf("label values of %s for %s: %v", label, sel, vs)
	case dashboards.LabelNames:
		sel := dashboards.LabelNamesSelector(expand(q.Expr))
		names, _, _, err := c.LabelNames(ctx, []string{sel}, rng.Start, rng.End)
		if err != nil {
			return false, fmt.Sprintf("label names for %s: %v", sel, err)
		}
		return len(names) > 0, fmt.Sprintf("label names for %s: %v", sel, names)
	}
	t.Fatalf("%s: unexpected query kind %d", q.Where, q.Kind)
	return false, ""
}

// The types below mirror what Grafana's Sentry data source plugin
// (github.com/grafana/sentry-datasource) decodes Sentry's answers into,
// field for field with the same Go types, so that an answer that decodes
// here decodes there.

// sentryProject mirrors SentryProject of pkg/sentry/projects.go (commit
// f4bb906afde4688976a3753b84595b3b77038138).
type sentryProject struct {
	DateCreated  time.Time `json:"dateCreated"`
	HasAccess    bool      `json:"hasAccess"`
	ID           string    `json:"id"`
	IsBookmarked bool      `json:"isBookmarked"`
	IsMember     bool      `json:"isMember"`
	Environments []string  `json:"environments"`
	Name         string    `json:"name"`
	Slug         string    `json:"slug"`
	Team         struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Slug string `json:"slug"`
	} `json:"team"`
	Teams []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Slug string `json:"slug"`
	} `json:"teams"`
}

// sentryIssue mirrors SentryIssue of pkg/sentry/issues.go (commit
// 449cbe49f0bd6dc6f081e7deab366e7940963e74, the version that lists
// /api/0/organizations/{org}/issues/ and reads lifetime).
type sentryIssue struct {
	ID          string    `json:"id"`
	ShortID     string    `json:"shortId"`
	Title       string    `json:"title"`
	Count       string    `json:"count"`
	UserCount   int64     `json:"userCount"`
	Status      string    `json:"status"`
	Substatus   string    `json:"substatus"`
	Level       string    `json:"level"`
	Type        string    `json:"type"`
	Platform    string    `json:"platform"`
	FirstSeen   time.Time `json:"firstSeen"`
	LastSeen    time.Time `json:"lastSeen"`
	Culprit     string    `json:"culprit"`
	HasSeen     bool      `json:"hasSeen"`
	IsUnhandled bool      `json:"isUnhandled"`
	Permalink   string    `json:"permalink"`
	IsPublic    bool      `json:"isPublic"`
	Project     struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Slug     string `json:"slug"`
		Platform string `json:"platform"`
	} `json:"project"`
	Metadata struct {
		Value    string `json:"value"`
		Type     string `json:"type"`
		Filename string `json:"filename"`
		Function string `json:"function"`
	} `json:"metadata"`
	NumComments int64 `json:"numComments"`
	AssignedTo  struct {
		Email string `json:"email"`
		Type  string `json:"type"`
		ID    string `json:"id"`
		Name  string `json:"name"`
	} `json:"assignedTo"`
	IsBookmarked        bool `json:"isBookmarked"`
	IsSubscribed        bool `json:"isSubscribed"`
	SubscriptionDetails struct {
		Reason string `json:"reason"`
	} `json:"subscriptionDetails"`
	Lifetime struct {
		Count     string    `json:"count"`
		UserCount int64     `json:"userCount"`
		FirstSeen time.Time `json:"firstSeen"`
		LastSeen  time.Time `json:"lastSeen"`
	} `json:"lifetime"`
}

// sentryQuery mirrors the plugin's query model, SentryQuery of
// pkg/query/model.go (commit 1644622485002516ebb56f4f4c2eb8733a779743),
// for the fields of an issues query and of a stats query (queryType
// "statsV2").
type sentryQuery struct {
	QueryType     string   `json:"queryType"`
	ProjectIds    []string `json:"projectIds,omitempty"`
	Environments  []string `json:"environments,omitempty"`
	IssuesQuery   string   `json:"issuesQuery,omitempty"`
	IssuesSort    string   `json:"issuesSort,omitempty"`
	IssuesLimit   int64    `json:"issuesLimit,omitempty"`
	StatsCategory []string `json:"statsCategory,omitempty"`
	StatsFields   []string `json:"statsFields,omitempty"`
	StatsGroupBy  []string `json:"statsGroupBy,omitempty"`
	StatsInterval string   `json:"statsInterval,omitempty"`
	StatsOutcome  []string `json:"statsOutcome,omitempty"`
	StatsReason   []string `json:"statsReason,omitempty"`
}

// sentryStatsV2Response mirrors StatsV2Response of pkg/sentry/stats_v2.go
// (commit 3048affd9610a7c8b6f3bd2aa446ac341301a6bc).
type sentryStatsV2Response struct {
	Start     time.Time   `json:"start"`
	End       time.Time   `json:"end"`
	Intervals []time.Time `json:"intervals"`
	Groups    []struct {
		By struct {
			Reason   string `json:"reason"`
			Category string `json:"category"`
			Outcome  string `json:"outcome"`
		} `json:"by"`
		Totals struct {
			SumTimesSeen int64 `json:"sum(times_seen)"`
			SumQuantity  int64 `json:"sum(quantity)"`
		} `json:"totals"`
		Series struct {
			SumTimesSeen []int64 `json:"sum(times_seen)"`
			SumQuantity  []int64 `json:"sum(quantity)"`
		} `json:"series"`
	} `json:"groups"`
}

// sentryIssuesPath is GetIssuesInput.ToQuery of pkg/sentry/issues.go
// (commit 449cbe49f0bd6dc6f081e7deab366e7940963e74): the path and query
// string the plugin requests for an issues query over [from, to].
func sentryIssuesPath(org string, q sentryQuery, from, to time.Time) string {
	limit := q.IssuesLimit
	if limit < 1 || limit > 10000 {
		limit = 10000
	}
	params := url.Values{}
	params.Set("query", q.IssuesQuery)
	params.Set("start", from.Format("2006-01-02T15:04:05"))
	params.Set("end", to.Format("2006-01-02T15:04:05"))
	if q.IssuesSort != "" {
		params.Set("sort", q.IssuesSort)
	}
	params.Set("limit", strconv.FormatInt(limit, 10))
	for _, id := range q.ProjectIds {
		params.Add("project", id)
	}
	for _, env := range q.Environments {
		params.Add("environment", env)
	}
	return fmt.Sprintf("/api/0/organizations/%s/issues/?", org) + params.Encode()
}

// sentryStatsIntervalRE is the interval syntax the plugin sends:
// [number][m|h|d|w].
var sentryStatsIntervalRE = regexp.MustCompile(`^(\d+)([mhdw])$`)

// sentryStatsInterval does what normalizeStatsV2Interval of
// pkg/sentry/stats_v2.go (commit 3048affd9610a7c8b6f3bd2aa446ac341301a6bc,
// grafana/sentry-datasource#727) does to a stats query's interval before
// the plugin sends it: an interval stats_v2 accepts (1m to 1d, dividing a
// day, at most 1000 buckets between start and end aligned to it) is kept;
// another one that parses ([number][mhdw], or a Go duration such as the
// "15s" $__interval can be) becomes the smallest accepted one at least as
// wide, "24h" if none; "" and what does not parse are kept.
func sentryStatsInterval(interval string, from, to time.Time) string {
	d, ok := parseStatsInterval(interval)
	if !ok {
		return interval
	}
	const day = 24 * time.Hour
	fits := func(step time.Duration) bool {
		if !to.After(from) {
			return true
		}
		start, end := from.Truncate(step), to.Truncate(step)
		if end.Before(to) {
			end = end.Add(step)
		}
		return end.Sub(start)/step <= 1000
	}
	if sentryStatsIntervalRE.MatchString(interval) && d <= day && day%d == 0 && fits(d) {
		return interval
	}
	for step := time.Minute; step <= day; step += time.Minute {
		if day%step != 0 || step < d || !fits(step) {
			continue
		}
		if step%time.Hour == 0 {
			return fmt.Sprintf("%dh", int(step.Hours()))
		}
		return fmt.Sprintf("%dm", int(step.Minutes()))
	}
	return "24h"
}

// parseStatsInterval parses a stats interval as the plugin does
// (parseStatsV2Interval): [number][m|h|d|w], or a positive Go duration.
func parseStatsInterval(interval string) (time.Duration, bool) {
	if m := sentryStatsIntervalRE.FindStringSubmatch(interval); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n <= 0 {
			return 0, false
		}
		return time.Duration(n) * map[string]time.Duration{"m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]], true
	}
	d, err := time.ParseDuration(interval)
	return d, err == nil && d > 0
}

// sentryStatsPath is SentryClient.GetStatsV2 with GetStatsV2Input.ToQuery
// of pkg/sentry/stats_v2.go (commit
// 3048affd9610a7c8b6f3bd2aa446ac341301a6bc), as HandleStatsV2 of
// pkg/handlers/handlers.go calls it: the path and query string the plugin
// requests for a stats query over [from, to], or the error it reports
// instead of requesting.
func sentryStatsPath(org string, q sentryQuery, from, to time.Time) (string, error) {
	if len(q.StatsFields) < 1 {
		return "", fmt.Errorf(`at least one "field" is required`)
	}
	if len(q.StatsCategory) < 1 {
		return "", fmt.Errorf(`at least one "category" is required`)
	}
	interval := sentryStatsInterval(q.StatsInterval, from, to)
	if interval != "" && !sentryStatsIntervalRE.MatchString(interval) {
		return "", fmt.Errorf(`"interval" should be in the format [number][unit] where unit is one of m/h/d/w`)
	}
	params := url.Values{}
	params.Set("start", from.Format("2006-01-02T15:04:05"))
	params.Set("end", to.Format("2006-01-02T15:04:05"))
	if interval != "" {
		params.Add("interval", interval)
	}
	for _, kv := range []struct {
		key    string
		values []string
	}{
		{"category", q.StatsCategory}, {"field", q.StatsFields}, {"groupBy", q.StatsGroupBy},
		{"project", q.ProjectIds}, {"outcome", q.StatsOutcome}, {"reason", q.StatsReason},
	} {
		for _, v := range kv.values {
			if v != "" {
				params.Add(kv.key, v)
			}
		}
	}
	return fmt.Sprintf("/api/0/organizations/%s/stats_v2/?", org) + params.Encode(), nil
}

// sentryFetch is SentryClient.Fetch of pkg/sentry/sentry.go (commit
// 1644622485002516ebb56f4f4c2eb8733a779743) with the headers of
// HTTPClient.Do (pkg/sentry/client.go): a GET with the plugin's
// User-Agent and the Bearer token, a 200 decoded into out, anything else
// an error carrying Sentry's {"detail": ...}.
func sentryFetch(base, path, token string, out any) error {
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "grafana-sentry-datasource/2.2.0")
	req.Header.Add("Authorization", fmt.Sprintf("Bearer %s", token))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return json.NewDecoder(res.Body).Decode(&out)
	}
	var e struct {
		Detail string `json:"detail"`
	}
	if err := json.NewDecoder(res.Body).Decode(&e); err != nil {
		return fmt.Errorf("%s %v", res.Status, err)
	}
	return fmt.Errorf("%s %s", res.Status, e.Detail)
}

// TestGrafanaSentryRequests replays the requests Grafana's Sentry data
// source plugin makes against a live Telltale: the health check and the
// project variable (the project list), every issues query of the errors
// dashboard, with the dashboard's $project set to every project as
// Grafana's "All" does, and the plugin's defaults (no sort, no limit) with
// an environment; then, after more traffic (events stored and rejected),
// the dashboard's stats query ($__interval as Grafana sets it) and one
// with the plugin's default interval (checkSentryStats). Each answer must
// decode into the plugin's own types and carry the events sent.
func TestGrafanaSentryRequests(t *testing.T) {
	m, more := feedTelltale(t)
	base := "http://" + m.HTTPAddr()
	org := m.Config.Organization

	// CheckHealth (pkg/plugin/handlers_healthcheck.go) and the "projects"
	// variable query both list the projects.
	projects := []sentryProject{}
	if err := sentryFetch(base, "/api/0/organizations/"+org+"/projects/", testToken, &projects); err != nil {
		t.Fatalf("projects: %v", err)
	}
	if len(projects) != 1 || projects[0].ID != "1" || projects[0].Slug != "backend" || projects[0].DateCreated.IsZero() {
		t.Fatalf("projects = %+v, want backend (id 1) with its creation date", projects)
	}
	if !slices.Contains(projects[0].Environments, "production") {
		t.Errorf("project environments %v, want the production the events came from", projects[0].Environments)
	}
	ids := make([]string, len(projects))
	for i, p := range projects {
		ids[i] = p.ID
	}
	if err := sentryFetch(base, "/api/0/organizations/"+org+"/projects/", "wrong-token-0123456789", &projects); err == nil || !strings.HasPrefix(err.Error(), "401") {
		t.Errorf("projects with a wrong token: %v, want a 401 with a detail", err)
	}

	var queries, stats []sentryQuery
	for _, qs := range dashQueries(t) {
		for _, q := range qs {
			if q.Kind == dashboards.SentryVariable {
				var v struct {
					Type string `json:"type"`
				}
				if err := json.Unmarshal(q.Sentry, &v); err != nil || v.Type != "projects" {
					t.Errorf("%s: variable query %s, want the projects list", q.Where, q.Sentry)
				}
			}
			if q.Kind != dashboards.Sentry {
				continue
			}
			var sq sentryQuery
			dec := json.NewDecoder(bytes.NewReader(q.Sentry))
			if err := dec.Decode(&sq); err != nil || (sq.QueryType != "issues" && sq.QueryType != "statsV2") {
				t.Fatalf("%s: %s (%v): want an issues or a stats query", q.Where, q.Sentry, err)
			}
			// Grafana's "All" of a multi-value variable in csv format,
			// split on commas by the plugin (src/app/replace.ts).
			var pids []string
			for _, id := range sq.ProjectIds {
				pids = append(pids, strings.Split(strings.ReplaceAll(id, "$project", strings.Join(ids, ",")), ",")...)
			}
			sq.ProjectIds = pids
			if sq.QueryType == "statsV2" {
				// The plugin's frontend interpolates the interval too
				// (src/app/replace.ts since grafana/sentry-datasource#727):
				// $__interval is the panel's minimum interval, 1m, for
				// the last hour on a panel some hundred pixels wide.
				iv, err := dashboards.Expand(sq.StatsInterval, dashboards.GrafanaVariables(map[string]string{"__interval": "1m"}))
				if err != nil {
					t.Fatalf("%s: %v", q.Where, err)
				}
				sq.StatsInterval = iv
				stats = append(stats, sq)
				continue
			}
			queries = append(queries, sq)
		}
	}
	if len(queries) == 0 || len(stats) == 0 {
		t.Fatalf("%d issues and %d stats queries in the dashboards; want both", len(queries), len(stats))
	}
	queries = append(queries, sentryQuery{QueryType: "issues", IssuesQuery: "is:unresolved", Environments: []string{"production"}})

	// Grafana's time range: the last hour. The plugin formats it in the
	// Grafana server's zone (UTC in its container) to the second; "now"
	// is a refresh that comes a second after the events.
	to := time.Now().UTC().Add(time.Second)
	from := to.Add(-time.Hour)
	for _, sq := range queries {
		path := sentryIssuesPath(org, sq, from, to)
		issues := []sentryIssue{}
		if err := sentryFetch(base, path, testToken, &issues); err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		if len(issues) != 2 {
			t.Errorf("GET %s: %d issues, want the wrapped error and the message: %+v", path, len(issues), issues)
		}
		for _, is := range issues {
			n, err := strconv.Atoi(is.Count)
			if is.ID == "" || is.Title == "" || err != nil || n < 1 || is.Status != "unresolved" ||
				is.FirstSeen.IsZero() || is.LastSeen.Before(is.FirstSeen) || is.Lifetime.FirstSeen.IsZero() ||
				is.Lifetime.Count != is.Count || !slices.Contains(ids, is.Project.ID) || is.Permalink == "" {
				t.Errorf("GET %s: issue %+v", path, is)
			}
		}
		if b := findIssueIn(issues, "card declined"); b == nil || b.Count != "3" || b.UserCount != 2 {
			t.Errorf("GET %s: wrapped error issue %+v, want count 3 and 2 users", path, b)
		}
	}

	// Stats: the dashboard's query, and the plugin's default interval
	// (none: the server's, 1h) with both fields.
	more()
	stats = append(stats, sentryQuery{QueryType: "statsV2", ProjectIds: ids, StatsCategory: []string{"error"},
		StatsFields: []string{"sum(quantity)", "sum(times_seen)"}, StatsGroupBy: []string{"outcome"}})
	checkSentryStats(t, m, stats)
}

// checkSentryStats replays the plugin's stats queries qs against the live
// Telltale m after its Sentry traffic: it waits for two flushes of the
// metric history after the traffic, so that the history holds the
// counters as they are now, and checks that each answer decodes into the
// plugin's StatsV2Response with intervals in order, a series per bucket
// summing to its total, and per outcome the counts of
// telltale_sentry_project_events_total (accepted: the events stored,
// which the issues count too).
func checkSentryStats(t *testing.T, m *Main, qs []sentryQuery) {
	t.Helper()
	base := "http://" + m.HTTPAddr()
	org := m.Config.Organization
	c := promClient(t, m.HTTPAddr(), testToken)
	ctx := context.Background()
	samples := func() (int, error) {
		v, _, _, err := c.Query(ctx, `count_over_time(telltale_sentry_project_events_total{job="telltale", project="backend", outcome="stored"}[1h])`, time.Now())
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 1 {
			return int(vec[0].Value), nil
		}
		return 0, fmt.Errorf("%v %v", v, err)
	}
	var n0 int
	eventually(t, "the project events counter in the history", func() (err error) { n0, err = samples(); return err })
	eventually(t, "two flushes of the history", func() error {
		if n, err := samples(); err != nil || n < n0+2 {
			return fmt.Errorf("%d samples, want %d (%v)", n, n0+2, err)
		}
		return nil
	})

	// What the stats must count: the counters, and the issues' events.
	fams := scrapeMetrics(t, m)
	want := map[string]int64{}
	for outcome, sentryOutcome := range map[string]string{"stored": "accepted", "rejected": "invalid", "rate_limited": "rate_limited"} {
		if s := series(fams, "telltale_sentry_project_events_total", "project", "backend", "outcome", outcome); s != nil {
			want[sentryOutcome] = int64(s.GetCounter().GetValue())
		}
	}
	to := time.Now().UTC().Add(time.Second)
	from := to.Add(-time.Hour)
	issues := []sentryIssue{}
	if err := sentryFetch(base, sentryIssuesPath(org, sentryQuery{QueryType: "issues"}, from, to), testToken, &issues); err != nil {
		t.Fatal(err)
	}
	var stored int64
	for _, is := range issues {
		n, _ := strconv.ParseInt(is.Count, 10, 64)
		stored += n
	}
	if stored < 5 || want["accepted"] != stored || want["invalid"] < 1 {
		t.Fatalf("events stored %d by the issues, counters %v: want the events sent, and some rejected", stored, want)
	}

	for _, q := range qs {
		path, err := sentryStatsPath(org, q, from, to)
		if err != nil {
			t.Errorf("%+v: the plugin refuses it: %v", q, err)
			continue
		}
		step := time.Hour // Sentry's default, and Telltale's
		if u, err := url.Parse(path); err == nil && u.Query().Has("interval") {
			d, ok := parseStatsInterval(u.Query().Get("interval"))
			if !ok {
				t.Fatalf("%s: bad interval", path)
			}
			step = d
		}
		var st sentryStatsV2Response
		if err := sentryFetch(base, path, testToken, &st); err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		totals := map[string]int64{}
		for _, g := range st.Groups {
			totals[g.By.Outcome] = g.Totals.SumQuantity
		}
		t.Logf("GET %s: %d intervals from %v, events by outcome %v", path, len(st.Intervals), st.Start, totals)
		if problems := statsProblems(st, q, step, want); len(problems) > 0 {
			t.Errorf("GET %s:\n%s\nanswer: %s", path, strings.Join(problems, "\n"), rawGet(t, base+path))
		}
	}
}

// statsProblems lists what is wrong with the stats answer st to q with
// buckets of step: intervals, series lengths and sums, and the totals by
// outcome against want.
func statsProblems(st sentryStatsV2Response, q sentryQuery, step time.Duration, want map[string]int64) []string {
	var out []string
	if len(st.Intervals) == 0 {
		return []string{"no intervals"}
	}
	for i := 1; i < len(st.Intervals); i++ {
		if d := st.Intervals[i].Sub(st.Intervals[i-1]); d != step {
			out = append(out, fmt.Sprintf("intervals %d and %d %s apart, want %s", i-1, i, d, step))
			break
		}
	}
	if !st.Intervals[0].Equal(st.Intervals[0].Truncate(step)) {
		out = append(out, fmt.Sprintf("first interval %s not aligned to %s", st.Intervals[0], step))
	}
	got := map[string]int64{}
	for _, g := range st.Groups {
		if _, dup := got[g.By.Outcome]; dup {
			out = append(out, fmt.Sprintf("outcome %q in two groups", g.By.Outcome))
		}
		got[g.By.Outcome] = g.Totals.SumQuantity
		for _, f := range []struct {
			name   string
			series []int64
			total  int64
		}{{"sum(quantity)", g.Series.SumQuantity, g.Totals.SumQuantity}, {"sum(times_seen)", g.Series.SumTimesSeen, g.Totals.SumTimesSeen}} {
			if !slices.Contains(q.StatsFields, f.name) {
				continue
			}
			// The plugin charts a series only if it has a value per
			// interval (ConvertStatsV2ResponseToFrame).
			if len(f.series) != len(st.Intervals) {
				out = append(out, fmt.Sprintf("outcome %q: %d values of %s for %d intervals", g.By.Outcome, len(f.series), f.name, len(st.Intervals)))
			}
			var sum int64
			for _, v := range f.series {
				sum += v
			}
			if sum != f.total {
				out = append(out, fmt.Sprintf("outcome %q: %s series sums to %d, total %d", g.By.Outcome, f.name, sum, f.total))
			}
			if f.total != g.Totals.SumQuantity {
				out = append(out, fmt.Sprintf("outcome %q: %s total %d, sum(quantity) %d: one event is seen once", g.By.Outcome, f.name, f.total, g.Totals.SumQuantity))
			}
		}
	}
	// An outcome without events may have no group.
	for outcome, n := range want {
		if g, ok := got[outcome]; (ok || n != 0) && g != n {
			out = append(out, fmt.Sprintf("outcome %q: %d events, want %d", outcome, g, n))
		}
	}
	return out
}

// rawGet returns the answer to a GET of u with the test token, for a
// failure message.
func rawGet(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Status + " " + string(b)
}

// findIssueIn returns the issue whose title contains title, or nil.
func findIssueIn(list []sentryIssue, title string) *sentryIssue {
	for i := range list {
		if strings.Contains(list[i].Title, title) {
			return &list[i]
		}
	}
	return nil
}
