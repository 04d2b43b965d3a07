package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/valyala/fasthttp"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/aggregate/issues"
)

// IssuesConfig holds the settings of the Sentry web API subset.
type IssuesConfig struct {
	// Organization is the org slug of /api/0/organizations/{org}/.
	Organization string
	// PublicURL is the base of permalinks and DSNs.
	PublicURL string
}

// sentryAPI answers /api/0/: projects, issues, events, tags (DESIGN §2.6).
type sentryAPI struct {
	cfg     IssuesConfig
	tracker *issues.Tracker
	log     *slog.Logger
	// history returns the metric history behind the query API, or nil
	// when it is off; stats_v2 reads Telltale's own counters from it.
	history func() Querier
}

// EnableIssues serves the Sentry web API subset under /api/0/ over tracker,
// behind the Bearer tokens. Call it before Start, at most once.
func (s *Server) EnableIssues(t *issues.Tracker, cfg IssuesConfig) error {
	if t == nil {
		return errors.New("api: EnableIssues needs a tracker")
	}
	if cfg.Organization == "" {
		cfg.Organization = "main"
	}
	s.sentry = &sentryAPI{cfg: cfg, tracker: t, log: s.log, history: func() Querier {
		if s.prom == nil {
			return nil
		}
		return s.prom.queryable.store
	}}
	return nil
}

// SetIngest routes requests for which h reports true (the Sentry ingest
// endpoints, answered by package ingest) before every other route but the
// fixed ones. Call it before Start.
func (s *Server) SetIngest(h func(*fasthttp.RequestCtx) bool) { s.ingest = h }

// apiError is an error of /api/0/ with its status.
type apiError struct {
	code   int
	detail string
}

func (e *apiError) Error() string { return e.detail }

func notFound(what string) error { return &apiError{http.StatusNotFound, what + " not found"} }

// serve answers one /api/0/ request and returns the handler name.
func (a *sentryAPI) serve(ctx *fasthttp.RequestCtx) string {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(string(ctx.Path()), "/api/0/"), "/"), "/")
	var data any
	var err error
	name := "sentry_other"
	get := ctx.IsGet()
	switch {
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "projects" && get:
		name = "sentry_projects"
		if err = a.org(parts[1]); err == nil {
			data = a.projects()
		}
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "issues" && get:
		name = "sentry_issues"
		if err = a.org(parts[1]); err == nil {
			data, err = a.list(ctx, 0)
		}
	case len(parts) == 3 && parts[0] == "organizations" && parts[2] == "stats_v2" && get:
		name = "sentry_stats"
		if err = a.org(parts[1]); err == nil {
			data, err = a.stats(ctx)
		}
	case len(parts) == 4 && parts[0] == "projects" && parts[3] == "issues" && get:
		name = "sentry_issues"
		var p issues.Project
		if p, err = a.project(parts[1], parts[2]); err == nil {
			data, err = a.list(ctx, p.ID)
		}
	case len(parts) == 5 && parts[0] == "projects" && parts[3] == "events" && get:
		name = "sentry_event"
		var p issues.Project
		if p, err = a.project(parts[1], parts[2]); err == nil {
			data, err = a.event(p, parts[4])
		}
	case len(parts) >= 2 && parts[0] == "issues":
		name = "sentry_issue"
		data, err = a.issue(ctx, parts[1], parts[2:])
	default:
		err = notFound("endpoint")
	}
	if err != nil {
		writeError(ctx, err)
		if ctx.Response.StatusCode() == http.StatusInternalServerError {
			// writeError answers it without its text, which may hold
			// internals (a storage error): the log keeps it.
			a.log.Error("sentry api request failed", "handler", name, "path", string(ctx.Path()), "err", err)
		}
		return name
	}
	if data == nil {
		ctx.SetStatusCode(http.StatusNoContent)
		return name
	}
	body, err := json.Marshal(data)
	if err != nil {
		writeError(ctx, err)
		return name
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	return name
}

func (a *sentryAPI) org(slug string) error {
	if slug != a.cfg.Organization {
		return notFound("organization")
	}
	return nil
}

func (a *sentryAPI) project(org, slug string) (issues.Project, error) {
	if err := a.org(org); err != nil {
		return issues.Project{}, err
	}
	p, ok := a.tracker.ProjectBySlug(slug)
	if !ok {
		return p, notFound("project")
	}
	return p, nil
}

// projectJSON is a project as Sentry's API shows it.
type projectJSON struct {
	ID          string    `json:"id"`
	Slug        string    `json:"slug"`
	Name        string    `json:"name"`
	Platform    string    `json:"platform"`
	DateCreated time.Time `json:"dateCreated"`
	DSN         string    `json:"dsn"`
	// Environments are the environments the project's events were sent
	// from, as Sentry lists them (Grafana's Sentry data source offers them).
	Environments []string `json:"environments"`
	Org          struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
	} `json:"organization"`
}

func (a *sentryAPI) projects() []projectJSON {
	var out []projectJSON
	for _, p := range a.tracker.Projects() {
		out = append(out, a.projectJSON(p))
	}
	return out
}

func (a *sentryAPI) projectJSON(p issues.Project) projectJSON {
	j := projectJSON{ID: strconv.FormatUint(uint64(p.ID), 10), Slug: p.Slug, Name: p.Name, Platform: p.Platform, DateCreated: p.Created,
		Environments: a.tracker.Environments(p.ID)}
	j.Org.Slug, j.Org.Name = a.cfg.Organization, a.cfg.Organization
	if len(p.Keys) > 0 {
		j.DSN = DSN(a.cfg.PublicURL, p.Keys[0], p.ID)
	}
	return j
}

// DSN returns the DSN of project id with key for a server at publicURL.
func DSN(publicURL, key string, id uint32) string {
	scheme, host, ok := strings.Cut(publicURL, "://")
	if !ok {
		scheme, host = "http", publicURL
	}
	return fmt.Sprintf("%s://%s@%s/%d", scheme, key, strings.TrimSuffix(host, "/"), id)
}

// issueJSON is an issue as Sentry's API shows it.
type issueJSON struct {
	ID            string         `json:"id"`
	ShortID       string         `json:"shortId"`
	Title         string         `json:"title"`
	Culprit       string         `json:"culprit"`
	Count         string         `json:"count"`
	UserCount     uint64         `json:"userCount"`
	Status        string         `json:"status"`
	Substatus     string         `json:"substatus,omitempty"`
	Level         string         `json:"level"`
	Type          string         `json:"type"`
	Platform      string         `json:"platform"`
	FirstSeen     time.Time      `json:"firstSeen"`
	LastSeen      time.Time      `json:"lastSeen"`
	Permalink     string         `json:"permalink"`
	IsUnhandled   bool           `json:"isUnhandled"`
	Project       projectRef     `json:"project"`
	Metadata      metadata       `json:"metadata"`
	Lifetime      lifetime       `json:"lifetime"`
	Stats         issueStats     `json:"stats"`
	NumComments   int            `json:"numComments"`
	Logger        *string        `json:"logger"`
	Annotations   []string       `json:"annotations"`
	HasSeen       bool           `json:"hasSeen"`
	IsBookmarked  bool           `json:"isBookmarked"`
	IsPublic      bool           `json:"isPublic"`
	IsSubscribed  bool           `json:"isSubscribed"`
	ShareID       *string        `json:"shareId"`
	StatusDetails map[string]any `json:"statusDetails"`
}

// issueDetailJSON is an issue as Sentry's issue details show it: the
// list's fields, and the releases (null when no event named one, as in
// Sentry) and the grouping that decided it.
type issueDetailJSON struct {
	issueJSON
	FirstRelease *releaseRef  `json:"firstRelease"`
	LastRelease  *releaseRef  `json:"lastRelease"`
	Grouping     groupingInfo `json:"grouping"`
}

// releaseRef is the part of Sentry's release object Telltale knows.
type releaseRef struct {
	Version      string `json:"version"`
	ShortVersion string `json:"shortVersion"`
}

// release returns the release object for version; Sentry's short version
// drops a "package@" prefix. Nil for no release.
func release(version string) *releaseRef {
	if version == "" {
		return nil
	}
	short := version
	if _, after, ok := strings.Cut(version, "@"); ok && after != "" {
		short = after
	}
	return &releaseRef{Version: version, ShortVersion: short}
}

type projectRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Slug     string `json:"slug"`
	Platform string `json:"platform"`
}

type metadata struct {
	Type     string `json:"type,omitempty"`
	Value    string `json:"value,omitempty"`
	Filename string `json:"filename,omitempty"`
	Function string `json:"function,omitempty"`
	Title    string `json:"title,omitempty"`
}

type lifetime struct {
	Count     string    `json:"count"`
	UserCount uint64    `json:"userCount"`
	FirstSeen time.Time `json:"firstSeen"`
	LastSeen  time.Time `json:"lastSeen"`
}

// issueStats holds Sentry's [[unix seconds, count], ...] series.
type issueStats struct {
	Day24h [][2]int64 `json:"24h"`
	Days14 [][2]int64 `json:"14d"`
}

type groupingInfo struct {
	Hash       string             `json:"hash"`
	Config     string             `json:"config"`
	Kind       string             `json:"kind"`
	Variant    string             `json:"variant"`
	Components []issues.Component `json:"components"`
}

// issueDetail returns the details of is.
func (a *sentryAPI) issueDetail(is *issues.Issue) issueDetailJSON {
	return issueDetailJSON{
		issueJSON:    a.issueJSON(is),
		FirstRelease: release(is.FirstRelease), LastRelease: release(is.LastRelease),
		Grouping: groupingInfo{Hash: is.Hash, Config: is.GroupingConfig, Kind: is.GroupingKind, Variant: is.Variant, Components: is.Components},
	}
}

func (a *sentryAPI) issueJSON(is *issues.Issue) issueJSON {
	p, _ := a.tracker.Project(is.Project)
	id, count := strconv.FormatUint(is.ID, 10), strconv.FormatUint(is.Count, 10)
	j := issueJSON{
		ID: id, ShortID: strings.ToUpper(p.Slug) + "-" + strings.ToUpper(strconv.FormatUint(is.ID, 36)),
		Title: is.Title, Culprit: is.Culprit, Count: count, UserCount: is.UserCount,
		Status: is.Status, Substatus: is.Substatus, Level: is.Level, Type: is.Type, Platform: is.Platform,
		FirstSeen: is.FirstSeen, LastSeen: is.LastSeen,
		Permalink:   strings.TrimSuffix(a.cfg.PublicURL, "/") + "/issues/" + id + "/",
		IsUnhandled: is.Unhandled,
		Project:     projectRef{ID: strconv.FormatUint(uint64(p.ID), 10), Name: p.Name, Slug: p.Slug, Platform: p.Platform},
		Metadata:    metadata(is.Metadata),
		Lifetime:    lifetime{Count: count, UserCount: is.UserCount, FirstSeen: is.FirstSeen, LastSeen: is.LastSeen},
		Annotations: []string{}, StatusDetails: map[string]any{},
	}
	if is.Logger != "" {
		l := is.Logger
		j.Logger = &l
	}
	j.Stats.Day24h = statSeries(is.HourlyStart, is.Hourly, time.Hour)
	j.Stats.Days14 = statSeries(is.DailyStart, is.Daily, 24*time.Hour)
	return j
}

func statSeries(startMs int64, counts []uint64, step time.Duration) [][2]int64 {
	out := make([][2]int64, len(counts))
	for i, c := range counts {
		out[i] = [2]int64{startMs/1000 + int64(i)*int64(step/time.Second), int64(c)}
	}
	return out
}

// parseQuery turns Sentry's search syntax into a filter.
func parseQuery(q string, f *issues.Filter) {
	for _, tok := range splitQuery(q) {
		k, v, ok := strings.Cut(tok, ":")
		if !ok || k == "" || v == "" {
			f.Text = strings.TrimSpace(f.Text + " " + tok)
			continue
		}
		v = strings.Trim(v, `"`)
		switch k {
		case "is":
			switch v {
			case "unresolved", "resolved", "ignored":
				f.Statuses = append(f.Statuses, v)
			case "archived":
				f.Statuses = append(f.Statuses, issues.StatusIgnored)
			}
		case "level":
			f.Levels = append(f.Levels, v)
		case "release":
			f.Releases = append(f.Releases, v)
		case "environment":
			f.Environments = append(f.Environments, v)
		default:
			f.Tags = append(f.Tags, issues.Tag{Key: k, Value: v})
		}
	}
}

// splitQuery splits on spaces outside double quotes.
func splitQuery(q string) []string {
	var out []string
	var cur strings.Builder
	inQuote := false
	for _, r := range q {
		switch {
		case r == '"':
			inQuote = !inQuote
			cur.WriteRune(r)
		case r == ' ' && !inQuote:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// parsePeriod parses Sentry's statsPeriod and stats interval (24h, 14d,
// 30m, 2w, 90s): Prometheus' duration syntax is a superset of it.
func parsePeriod(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	return time.Duration(d), err
}

// timeRange reads Sentry's time range parameters into since and until,
// leaving them as they are when absent: statsPeriod (since = now − it),
// then start and end, which win.
func timeRange(args *fasthttp.Args, now time.Time, since, until *time.Time) error {
	if p := args.Peek("statsPeriod"); len(p) > 0 {
		d, err := parsePeriod(string(p))
		if err != nil {
			return &apiError{http.StatusBadRequest, fmt.Sprintf("bad statsPeriod %q", p)}
		}
		*since = now.Add(-d)
	}
	for _, tp := range []struct {
		name string
		dst  *time.Time
	}{{"start", since}, {"end", until}} {
		if v := args.Peek(tp.name); len(v) > 0 {
			t, err := parseSentryTime(string(v))
			if err != nil {
				return &apiError{http.StatusBadRequest, err.Error()}
			}
			*tp.dst = t
		}
	}
	return nil
}

func parseSentryTime(s string) (time.Time, error) {
	if t, err := parseTime(s); err == nil {
		return t, nil
	}
	// Sentry's own UI sends start and end without a zone, meaning UTC.
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", s)
}

// list answers the issue list of project (0: of every project the
// `project` parameters name, or all).
func (a *sentryAPI) list(ctx *fasthttp.RequestCtx, project uint32) (any, error) {
	args := ctx.QueryArgs()
	var f issues.Filter
	if project != 0 {
		// The project's own list: a project parameter cannot widen it.
		f.Projects = []uint32{project}
	} else {
		for _, v := range args.PeekMulti("project") {
			if string(v) == "-1" { // all projects, in Sentry
				continue
			}
			id, err := strconv.ParseUint(string(v), 10, 32)
			if err != nil {
				return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad project %q", v)}
			}
			if id != 0 {
				f.Projects = append(f.Projects, uint32(id))
			}
		}
	}
	for _, v := range args.PeekMulti("environment") {
		f.Environments = append(f.Environments, string(v))
	}
	if args.Has("query") {
		parseQuery(string(args.Peek("query")), &f)
	} else {
		f.Statuses = []string{issues.StatusUnresolved}
	}
	if err := timeRange(args, time.Now(), &f.Since, &f.Until); err != nil {
		return nil, err
	}
	sortBy := string(args.Peek("sort"))
	switch sortBy {
	case "", issues.SortDate, issues.SortNew, issues.SortFreq, issues.SortUser:
	default:
		return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad sort %q (date, new, freq, user)", sortBy)}
	}
	limit := 25
	if v := args.Peek("limit"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n <= 0 {
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad limit %q", v)}
		}
		limit = min(n, 100)
	}
	offset, err := parseCursor(string(args.Peek("cursor")))
	if err != nil {
		return nil, err
	}
	page, total := a.tracker.List(f, sortBy, offset, limit)
	ctx.Response.Header.Set("X-Hits", strconv.Itoa(total))
	setLink(ctx, fmt.Sprintf("0:%d:1", max(offset-limit, 0)), offset > 0,
		fmt.Sprintf("0:%d:0", offset+limit), offset+limit < total)
	out := make([]issueJSON, len(page))
	for i := range page {
		out[i] = a.issueJSON(&page[i])
	}
	return out, nil
}

// parseCursor reads Sentry's cursor "value:offset:is_prev"; we page by
// offset alone.
func parseCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	parts := strings.Split(c, ":")
	if len(parts) != 3 {
		return 0, &apiError{http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c)}
	}
	off, err := strconv.Atoi(parts[1])
	if err != nil || off < 0 {
		return 0, &apiError{http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c)}
	}
	return off, nil
}

// setLink writes Sentry's Link header: the request's URL, its other
// parameters kept, with cursor prev (rel="previous") and next, and whether
// each page has results.
func setLink(ctx *fasthttp.RequestCtx, prev string, prevResults bool, next string, nextResults bool) {
	base := string(ctx.URI().Scheme()) + "://" + string(ctx.Host()) + string(ctx.Path())
	var args fasthttp.Args
	ctx.QueryArgs().CopyTo(&args)
	link := func(cursor, rel string, results bool) string {
		args.Set("cursor", cursor)
		return fmt.Sprintf(`<%s?%s>; rel="%s"; results="%t"; cursor="%s"`, base, args.String(), rel, results, cursor)
	}
	ctx.Response.Header.Set("Link", link(prev, "previous", prevResults)+", "+link(next, "next", nextResults))
}

// issue answers /api/0/issues/{id}/... .
func (a *sentryAPI) issue(ctx *fasthttp.RequestCtx, idText string, rest []string) (any, error) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return nil, notFound("issue")
	}
	is, ok := a.tracker.Get(id)
	if !ok {
		return nil, notFound("issue")
	}
	switch {
	case len(rest) == 0 && ctx.IsGet():
		return a.issueDetail(&is), nil
	case len(rest) == 0 && ctx.IsPut():
		var req struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(ctx.PostBody(), &req); err != nil {
			return nil, &apiError{http.StatusBadRequest, "body must be JSON: " + err.Error()}
		}
		if req.Status == "resolvedInNextRelease" {
			req.Status = issues.StatusResolved
		}
		upd, err := a.tracker.SetStatus(id, req.Status)
		if err != nil {
			if errors.Is(err, issues.ErrNotFound) {
				return nil, err
			}
			return nil, &apiError{http.StatusBadRequest, err.Error()}
		}
		return a.issueDetail(&upd), nil
	case len(rest) == 0 && ctx.IsDelete():
		if err := a.tracker.Delete(id); err != nil {
			return nil, err
		}
		ctx.SetStatusCode(http.StatusAccepted)
		return nil, nil
	case len(rest) == 1 && rest[0] == "events" && ctx.IsGet():
		return a.events(ctx, &is)
	case len(rest) == 2 && rest[0] == "events" && rest[1] == "latest" && ctx.IsGet():
		evs, err := a.tracker.Events(id, time.Time{}, 1)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			return nil, notFound("event")
		}
		return eventJSON(&evs[0], &is, true), nil
	case len(rest) == 1 && rest[0] == "tags" && ctx.IsGet():
		return tagsJSON(&is), nil
	}
	return nil, &apiError{http.StatusMethodNotAllowed, "method not allowed"}
}

// events answers an issue's events, newest first, paged by cursor
// "<before unix ms>:0:0".
func (a *sentryAPI) events(ctx *fasthttp.RequestCtx, is *issues.Issue) (any, error) {
	limit := 100
	if v := ctx.QueryArgs().Peek("limit"); len(v) > 0 {
		if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
			limit = min(n, 100)
		}
	}
	var before time.Time
	if c := string(ctx.QueryArgs().Peek("cursor")); c != "" {
		ms, _, _ := strings.Cut(c, ":")
		n, err := strconv.ParseInt(ms, 10, 64)
		if err != nil {
			return nil, &apiError{http.StatusBadRequest, fmt.Sprintf("bad cursor %q", c)}
		}
		before = time.UnixMilli(n)
	}
	evs, err := a.tracker.Events(is.ID, before, limit+1)
	if err != nil {
		return nil, err
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	next := "0:0:0"
	if len(evs) > 0 {
		next = fmt.Sprintf("%d:0:0", evs[len(evs)-1].Time.UnixMilli())
	}
	setLink(ctx, "0:0:1", false, next, more)
	// Like Sentry, the list leaves out the event bodies (entries,
	// contexts, extra) unless asked with full=true: a page of 100 full
	// events is most of a megabyte.
	full := ctx.QueryArgs().GetBool("full")
	out := make([]map[string]any, len(evs))
	for i := range evs {
		out[i] = eventJSON(&evs[i], is, full)
	}
	return out, nil
}

func (a *sentryAPI) event(p issues.Project, id string) (any, error) {
	ev, err := a.tracker.Event(p.ID, strings.ReplaceAll(strings.ToLower(id), "-", ""))
	if err != nil {
		return nil, notFound("event")
	}
	is, _ := a.tracker.Get(ev.Issue)
	return eventJSON(&ev, &is, true), nil
}

// eventJSON is an event as Sentry's API shows it, with its interfaces as
// "entries", contexts and extra when full.
func eventJSON(ev *issues.StoredEvent, is *issues.Issue, full bool) map[string]any {
	d := &ev.Doc
	tags := []map[string]string{}
	for _, t := range d.Tags {
		tags = append(tags, map[string]string{"key": t.Key, "value": t.Value})
	}
	for _, t := range []struct{ k, v string }{{"level", d.Level}, {"release", d.Release}, {"environment", d.Environment}} {
		if t.v != "" {
			tags = append(tags, map[string]string{"key": t.k, "value": t.v})
		}
	}
	var entries []map[string]any
	if len(d.Exceptions) > 0 {
		vals := make([]map[string]any, len(d.Exceptions))
		for i, ex := range d.Exceptions {
			vals[i] = map[string]any{
				"type": ex.Type, "value": ex.Value, "module": ex.Module,
				"mechanism":  map[string]any{"type": ex.MechanismType, "handled": ex.Handled, "synthetic": ex.Synthetic},
				"stacktrace": map[string]any{"frames": nonNilFrames(ex.Frames)},
			}
		}
		entries = append(entries, map[string]any{"type": "exception", "data": map[string]any{"values": vals}})
	}
	msg := d.Message
	if d.LogFormatted != "" {
		msg = d.LogFormatted
	}
	if msg != "" || d.LogTemplate != "" {
		entries = append(entries, map[string]any{"type": "message", "data": map[string]any{"formatted": msg, "message": d.LogTemplate, "params": d.LogParams}})
	}
	if len(d.Breadcrumbs) > 0 {
		vals := make([]map[string]any, len(d.Breadcrumbs))
		for i, b := range d.Breadcrumbs {
			var ts any
			if !b.Timestamp.IsZero() {
				ts = b.Timestamp
			}
			vals[i] = map[string]any{"timestamp": ts, "type": orNil(b.Type), "category": orNil(b.Category),
				"message": orNil(b.Message), "level": orNil(b.Level), "data": rawOrNil(b.Data)}
		}
		entries = append(entries, map[string]any{"type": "breadcrumbs", "data": map[string]any{"values": vals}})
	}
	if r := d.Request; r != nil {
		entries = append(entries, map[string]any{"type": "request", "data": map[string]any{
			"method": orNil(r.Method), "url": orNil(r.URL), "query": queryPairs(r.QueryString),
			"headers": pairs(r.Headers), "data": rawOrNil(r.Data),
		}})
	}
	if len(d.Threads) > 0 {
		vals := make([]map[string]any, len(d.Threads))
		for i, th := range d.Threads {
			vals[i] = map[string]any{"id": orNil(th.ID), "name": orNil(th.Name), "crashed": th.Crashed, "current": th.Current,
				"stacktrace": map[string]any{"frames": nonNilFrames(th.Frames)}}
		}
		entries = append(entries, map[string]any{"type": "threads", "data": map[string]any{"values": vals}})
	}
	out := map[string]any{
		"id": ev.ID, "eventID": ev.ID, "groupID": strconv.FormatUint(ev.Issue, 10),
		"projectID": strconv.FormatUint(uint64(ev.Project), 10),
		"title":     is.Title, "culprit": is.Culprit, "message": msg,
		"dateCreated": ev.Time, "dateReceived": ev.Time,
		"platform": d.Platform, "type": is.Type, "level": d.Level,
		"release": d.Release, "environment": d.Environment, "logger": d.Logger,
		"tags": tags, "user": userJSON(d.User),
		"fingerprints": []string{is.Hash}, "metadata": metadata(is.Metadata),
	}
	if full {
		out["contexts"], out["extra"], out["entries"] = rawOrEmpty(d.Contexts), rawOrEmpty(d.Extra), entries
	}
	return out
}

// userJSON is the event's user with Sentry's field names, or nil.
func userJSON(u *issues.User) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{"id": orNil(u.ID), "email": orNil(u.Email), "username": orNil(u.Username),
		"ip_address": orNil(u.IPAddress), "data": rawOrNil(u.Data)}
}

// pairs writes key/value pairs as Sentry's [[key, value], ...].
func pairs(ts []issues.Tag) [][2]string {
	out := make([][2]string, len(ts))
	for i, t := range ts {
		out[i] = [2]string{t.Key, t.Value}
	}
	return out
}

// queryPairs splits a query string into Sentry's [[key, value], ...], in
// order.
func queryPairs(q string) [][2]string {
	out := [][2]string{}
	for part := range strings.SplitSeq(q, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if uv, err := url.QueryUnescape(v); err == nil {
			v = uv
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// orNil is s, or nil (JSON null) when empty, as Sentry leaves unset fields.
func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// rawOrNil is raw JSON, or nil when absent.
func rawOrNil(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return r
}

func nonNilFrames(fs []grouping.Frame) []grouping.Frame {
	if fs == nil {
		return []grouping.Frame{}
	}
	return fs
}

func rawOrEmpty(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("{}")
	}
	return r
}

// tagsJSON answers an issue's tags with their top values, as Sentry's
// /issues/{id}/tags/.
func tagsJSON(is *issues.Issue) []map[string]any {
	keys := make([]string, 0, len(is.Tags))
	for k := range is.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		type tv struct {
			v string
			n uint64
		}
		var vs []tv
		var total uint64
		for v, n := range is.Tags[k] {
			vs = append(vs, tv{v, n})
			total += n
		}
		sort.Slice(vs, func(i, j int) bool { return vs[i].n > vs[j].n || (vs[i].n == vs[j].n && vs[i].v < vs[j].v) })
		top := []map[string]any{}
		for i, x := range vs {
			if i == 10 {
				break
			}
			top = append(top, map[string]any{"key": k, "value": x.v, "name": x.v, "count": x.n})
		}
		out = append(out, map[string]any{"key": k, "name": k, "totalValues": total, "uniqueValues": len(vs), "topValues": top})
	}
	return out
}
