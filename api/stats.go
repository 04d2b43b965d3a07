package api

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/telltale-dev/telltale/storage"
)

// projectEventsMetric is the counter (package ingest) that stats_v2 reads
// from the metric history: error events by project slug and outcome.
const projectEventsMetric = "telltale_sentry_project_events_total"

// statsLookback is how far before start stats_v2 reads the counters.
const statsLookback = 15 * time.Minute

// maxStatsBuckets bounds the intervals of one stats_v2 answer, as Sentry's
// MAX_POINTS does.
const maxStatsBuckets = 1000

// statsOutcomes maps the counter's outcomes to Sentry's.
var statsOutcomes = map[string]string{"stored": "accepted", "rejected": "invalid", "rate_limited": "rate_limited"}

// statsGroup is one group of a stats_v2 answer.
type statsGroup struct {
	key    string             // By, printed: the groups' map key and sort order
	By     map[string]string  `json:"by"`
	Totals map[string]int64   `json:"totals"`
	Series map[string][]int64 `json:"series"`
}

// stats answers /api/0/organizations/{org}/stats_v2/, Sentry's usage
// statistics, which Grafana's Sentry data source charts: error events
// over time by outcome (accepted, invalid, rate_limited), project,
// category and reason. The counts come from Telltale's own counter of
// events by project and outcome as the metric history recorded it at each
// flush, so they need statsd.history (on by default). Every event is in
// category "error"; the other categories have no events.
func (a *sentryAPI) stats(ctx *fasthttp.RequestCtx) (any, error) {
	args := ctx.QueryArgs()
	history := a.history()
	if history == nil {
		return nil, &apiError{http.StatusNotFound, "stats need the metric history (statsd.history)"}
	}
	var fields, groupBy []string
	for _, v := range args.PeekMulti("field") {
		switch f := string(v); f {
		case "sum(quantity)", "sum(times_seen)":
			fields = append(fields, f)
		default:
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad field %q (sum(quantity), sum(times_seen))", f)}
		}
	}
	if len(fields) == 0 {
		return nil, &apiError{http.StatusBadRequest, `at least one "field" is required`}
	}
	for _, v := range args.PeekMulti("groupBy") {
		switch g := string(v); g {
		case "outcome", "category", "reason", "project":
			groupBy = append(groupBy, g)
		default:
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad groupBy %q (outcome, category, reason, project)", g)}
		}
	}
	categories := map[string]bool{}
	for _, v := range args.PeekMulti("category") {
		categories[string(v)] = true
	}
	if len(categories) == 0 {
		return nil, &apiError{http.StatusBadRequest, `at least one "category" is required`}
	}
	outcomes := map[string]bool{}
	for _, v := range args.PeekMulti("outcome") {
		outcomes[string(v)] = true
	}
	reasons := map[string]bool{}
	for _, v := range args.PeekMulti("reason") {
		reasons[string(v)] = true
	}
	slugs := map[string]string{} // slug → project id
	for _, p := range a.tracker.Projects() {
		slugs[p.Slug] = strconv.FormatUint(uint64(p.ID), 10)
	}
	projects := map[string]bool{}
	for _, v := range args.PeekMulti("project") {
		if id := string(v); id != "-1" {
			projects[id] = true
		}
	}

	interval := time.Hour
	if v := args.Peek("interval"); len(v) > 0 {
		d, err := parsePeriod(string(v))
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad interval %q (1m to 1w, like 1h)", v)}
		}
		interval = d
	}
	end := time.Now().UTC()
	start := end.Add(-24 * time.Hour)
	if err := timeRange(args, end, &start, &end); err != nil {
		return nil, err
	}
	start, end = start.UTC(), end.UTC()
	start = start.Truncate(interval)
	if t := end.Truncate(interval); t.Before(end) {
		end = t.Add(interval)
	}
	n := int(end.Sub(start) / interval)
	if n <= 0 || n > maxStatsBuckets {
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("%d intervals of %s from start to end; at most %d", n, interval, maxStatsBuckets)}
	}

	name, _ := storage.NewMatcher(storage.MatchEqual, storage.MetricName, projectEventsMetric)
	// From before start: the last sample before the first bucket is the
	// base of its first delta. statsLookback is longer than any flush
	// interval, so a series alive at start has a sample in it.
	series, err := history.SelectSamples(start.Add(-max(interval, statsLookback)).UnixMilli(), end.UnixMilli(), name)
	if err != nil {
		return nil, err
	}
	groups := map[string]*statsGroup{}
	startMs := start.UnixMilli()
	wantError := categories["error"] || categories["default"]
	for _, s := range series {
		outcome, ok := statsOutcomes[s.Labels.Get("outcome")]
		project := slugs[s.Labels.Get("project")]
		if !ok || !wantError || project == "" || (len(projects) > 0 && !projects[project]) ||
			(len(outcomes) > 0 && !outcomes[outcome]) || (len(reasons) > 0 && !reasons[""]) {
			continue
		}
		by := map[string]string{}
		for _, g := range groupBy {
			switch g {
			case "outcome":
				by[g] = outcome
			case "category":
				by[g] = "error"
			case "reason":
				by[g] = ""
			case "project":
				by[g] = project
			}
		}
		key := fmt.Sprint(by)
		grp := groups[key]
		if grp == nil {
			grp = &statsGroup{key: key, By: by, Totals: map[string]int64{}, Series: map[string][]int64{}}
			for _, f := range fields {
				grp.Totals[f] = 0
				grp.Series[f] = make([]int64, n)
			}
			groups[key] = grp
		}
		// Each increase of the counter counts in the bucket of the sample
		// that shows it; a drop is a restart, from zero. A series with no
		// sample in the lookback before start began in the range (a new
		// process counts from zero): its first value counts too.
		for i, p := range s.Points {
			if p.T < startMs {
				continue
			}
			d := p.V
			if i > 0 {
				if d = p.V - s.Points[i-1].V; d < 0 {
					d = p.V
				}
			}
			b := int((p.T - startMs) / interval.Milliseconds())
			if b >= n || d <= 0 {
				continue
			}
			for _, f := range fields {
				grp.Series[f][b] += int64(d)
				grp.Totals[f] += int64(d)
			}
		}
	}
	out := struct {
		Start     time.Time     `json:"start"`
		End       time.Time     `json:"end"`
		Intervals []time.Time   `json:"intervals"`
		Groups    []*statsGroup `json:"groups"`
	}{Start: start, End: end, Intervals: make([]time.Time, n), Groups: []*statsGroup{}}
	for i := range out.Intervals {
		out.Intervals[i] = start.Add(time.Duration(i) * interval)
	}
	for _, g := range groups {
		out.Groups = append(out.Groups, g)
	}
	slices.SortFunc(out.Groups, func(a, b *statsGroup) int { return cmp.Compare(a.key, b.key) })
	return out, nil
}
