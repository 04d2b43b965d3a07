package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/valyala/fasthttp"

	"github.com/telltale-dev/telltale/storage"
)

// QueryConfig configures the Prometheus HTTP query API under /api/v1/.
// Zero fields take the defaults.
type QueryConfig struct {
	// Timeout bounds one query; a request's timeout parameter may only
	// lower it. Default 2m.
	Timeout time.Duration
	// MaxSamples bounds the samples one query holds in memory at once
	// (promql.EngineOpts.MaxSamples); more is an execution error. Default
	// 50 000 000.
	MaxSamples int
	// MaxSeries bounds the series one query (or one /api/v1/series,
	// /labels or /label/{name}/values request) selects; more is an
	// execution error. Default 100 000.
	MaxSeries int
	// LookbackDelta is how far back an instant vector looks for a
	// sample. Default 5m.
	LookbackDelta time.Duration
	// MaxConcurrent bounds the requests that read storage (query,
	// query_range, series, labels, label values) running at once; further
	// ones wait up to Timeout, then fail with a timeout error (503), as
	// Prometheus' --query.max-concurrency does. Default 2 × GOMAXPROCS.
	MaxConcurrent int
	// Version is what /api/v1/status/buildinfo reports as the Prometheus
	// version; Grafana enables features by it. Default "3.0.0".
	Version string
}

// maxPoints is the most points per series a range query may ask for, as
// in Prometheus.
const maxPoints = 11000

// promAPI answers the Prometheus HTTP query API.
type promAPI struct {
	cfg       QueryConfig
	engine    *promql.Engine
	queryable *queryable
	parser    parser.Parser
	now       func() time.Time
	// slots holds one token per request reading storage (MaxConcurrent).
	slots chan struct{}
}

// EnableQuery serves the Prometheus HTTP query API under /api/v1/ (query,
// query_range, series, labels, label/{name}/values, status/buildinfo, and
// empty metadata and query_exemplars for Grafana), answered by a PromQL
// engine over q. The engine registers its metrics on reg, which may be nil.
// Call it before Start, at most once.
func (s *Server) EnableQuery(q Querier, cfg QueryConfig, reg prometheus.Registerer) error {
	if q == nil {
		return errors.New("api: EnableQuery needs a Querier")
	}
	if s.prom != nil {
		return errors.New("api: EnableQuery called twice")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.MaxSamples <= 0 {
		cfg.MaxSamples = 50_000_000
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 100_000
	}
	if cfg.LookbackDelta <= 0 {
		cfg.LookbackDelta = 5 * time.Minute
	}
	if cfg.Version == "" {
		cfg.Version = "3.0.0"
	}
	if cfg.MaxConcurrent <= 0 {
		cfg.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	p := parser.NewParser(parser.Options{})
	engine := promql.NewEngine(promql.EngineOpts{
		Logger:               s.log.With("component", "promql"),
		Reg:                  reg,
		MaxSamples:           cfg.MaxSamples,
		Timeout:              cfg.Timeout,
		LookbackDelta:        cfg.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
		Parser:               p,
		NoStepSubqueryIntervalFn: func(int64) int64 {
			return time.Minute.Milliseconds()
		},
	})
	s.prom = &promAPI{
		cfg:       cfg,
		engine:    engine,
		queryable: &queryable{store: q, maxSeries: cfg.MaxSeries},
		parser:    p,
		now:       time.Now,
		slots:     make(chan struct{}, cfg.MaxConcurrent),
	}
	return nil
}

// Error types of the Prometheus API.
const (
	errBadData   = "bad_data"
	errExecution = "execution"
	errTimeout   = "timeout"
	errCanceled  = "canceled"
	errInternal  = "internal"
	errNotFoundT = "not_found"
)

// promError is an error with its Prometheus error type.
type promError struct {
	typ string
	err error
}

func (e *promError) Error() string { return e.err.Error() }
func (e *promError) Unwrap() error { return e.err }

func badData(format string, args ...any) error {
	return &promError{errBadData, fmt.Errorf(format, args...)}
}

// serve answers one request under /api/v1/ and returns the handler name
// for telltale_http_requests_total.
func (p *promAPI) serve(ctx *fasthttp.RequestCtx) string {
	path := strings.TrimPrefix(string(ctx.Path()), "/api/v1/")
	name := "prom_" + path
	if !ctx.IsGet() && !ctx.IsPost() {
		writePromError(ctx, &promError{errBadData, errors.New("method not allowed")}, http.StatusMethodNotAllowed)
		return "prom_other" // any path: keep the handler label bounded
	}
	switch path {
	case "status/buildinfo", "metadata", "query_exemplars":
	default: // reads storage: take a slot
		if err := p.acquire(); err != nil {
			writePromError(ctx, err, 0)
			return name
		}
		defer func() { <-p.slots }()
	}
	var data any
	var err error
	switch path {
	case "query":
		data, err = p.query(ctx)
	case "query_range":
		data, err = p.queryRange(ctx)
	case "series":
		data, err = p.series(ctx)
	case "labels":
		data, err = p.labelNames(ctx)
	case "status/buildinfo":
		data = map[string]string{
			"version": p.cfg.Version, "revision": "", "branch": "",
			"buildUser": "", "buildDate": "", "goVersion": runtime.Version(),
		}
	case "metadata":
		data = map[string]any{}
	case "query_exemplars":
		data = []any{}
	default:
		if v, ok := strings.CutPrefix(path, "label/"); ok {
			if n, ok := strings.CutSuffix(v, "/values"); ok && n != "" && !strings.Contains(n, "/") {
				name = "prom_label_values"
				data, err = p.labelValues(ctx, n)
				break
			}
		}
		name = "prom_other"
		err = &promError{errNotFoundT, errors.New("not found")}
	}
	if err != nil {
		writePromError(ctx, err, 0)
		return name
	}
	body, err := json.Marshal(struct {
		Status string `json:"status"`
		Data   any    `json:"data"`
	}{"success", data})
	if err != nil {
		writePromError(ctx, &promError{errInternal, err}, 0)
		return name
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	return name
}

// acquire takes a slot for a request that reads storage, waiting up to
// the query timeout for one.
func (p *promAPI) acquire() error {
	select {
	case p.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(p.cfg.Timeout)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-t.C:
		return &promError{errTimeout, fmt.Errorf("%d queries already running for %v", cap(p.slots), p.cfg.Timeout)}
	}
}

// writePromError answers err in Prometheus' error shape; it is the one
// place that maps errors of /api/v1/ to statuses. code 0 takes the status
// of the error type.
func writePromError(ctx *fasthttp.RequestCtx, err error, code int) {
	typ := errExecution
	var pe *promError
	var canceled promql.ErrQueryCanceled
	var timeout promql.ErrQueryTimeout
	var stErr promql.ErrStorage
	switch {
	case errors.As(err, &pe):
		typ = pe.typ
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		typ = errCanceled
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		typ = errTimeout
	case errors.As(err, &stErr):
		typ = errInternal
	case errors.Is(err, storage.ErrEmptyMatchers), errors.Is(err, storage.ErrBadMatcher):
		typ = errBadData
	}
	if code == 0 {
		switch typ {
		case errBadData:
			code = http.StatusBadRequest
		case errExecution:
			code = http.StatusUnprocessableEntity
		case errTimeout, errCanceled:
			code = http.StatusServiceUnavailable
		case errNotFoundT:
			code = http.StatusNotFound
		default:
			code = http.StatusInternalServerError
		}
	}
	body, _ := json.Marshal(struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
	}{"error", typ, err.Error()})
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// formValue returns a form parameter, from a POST body first and then the
// URL query, as Go's Request.FormValue.
func formValue(ctx *fasthttp.RequestCtx, name string) string {
	if ctx.IsPost() {
		if v := ctx.PostArgs().Peek(name); v != nil {
			return string(v)
		}
	}
	return string(ctx.QueryArgs().Peek(name))
}

// formValues returns every value of a form parameter, POST body first.
func formValues(ctx *fasthttp.RequestCtx, name string) []string {
	var out []string
	if ctx.IsPost() {
		for _, v := range ctx.PostArgs().PeekMulti(name) {
			out = append(out, string(v))
		}
	}
	for _, v := range ctx.QueryArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

// parseTime parses unix seconds (with a fraction) or RFC 3339, as
// Prometheus does.
func parseTime(s string) (time.Time, error) {
	if t, err := strconv.ParseFloat(s, 64); err == nil {
		sec, frac := math.Modf(t)
		frac = math.Round(frac*1000) / 1000
		return time.Unix(int64(sec), int64(frac*float64(time.Second))).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("cannot parse %q to a valid timestamp", s)
}

// parseDuration parses float seconds or a Prometheus duration.
func parseDuration(s string) (time.Duration, error) {
	if d, err := strconv.ParseFloat(s, 64); err == nil {
		ts := d * float64(time.Second)
		if ts > float64(math.MaxInt64) || ts < float64(math.MinInt64) {
			return 0, fmt.Errorf("cannot parse %q to a valid duration. It overflows int64", s)
		}
		return time.Duration(ts), nil
	}
	if d, err := model.ParseDuration(s); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("cannot parse %q to a valid duration", s)
}

// timeParam returns parameter name as a time, or def if it is absent.
func timeParam(ctx *fasthttp.RequestCtx, name string, def time.Time) (time.Time, error) {
	v := formValue(ctx, name)
	if v == "" {
		return def, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badData("invalid parameter %q: %w", name, err)
	}
	return t, nil
}

// queryContext returns a context bounded by the configured timeout and
// the request's timeout parameter, the lower of both.
func (p *promAPI) queryContext(ctx *fasthttp.RequestCtx) (context.Context, context.CancelFunc, error) {
	timeout := p.cfg.Timeout
	if v := formValue(ctx, "timeout"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return nil, nil, badData("invalid parameter \"timeout\": %w", err)
		}
		if d > 0 && d < timeout {
			timeout = d
		}
	}
	c, cancel := context.WithTimeout(context.Background(), timeout)
	return c, cancel, nil
}

// queryData is the data of a query answer.
type queryData struct {
	ResultType string   `json:"resultType"`
	Result     any      `json:"result"`
	Warnings   []string `json:"warnings,omitempty"`
	Infos      []string `json:"infos,omitempty"`
}

func (p *promAPI) query(ctx *fasthttp.RequestCtx) (any, error) {
	ts, err := timeParam(ctx, "time", p.now())
	if err != nil {
		return nil, err
	}
	return p.run(ctx, func(c context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return p.engine.NewInstantQuery(c, p.queryable, opts, qs, ts)
	})
}

// run makes the query of the request's "query" parameter with newQuery,
// under the request's timeout, and executes it.
func (p *promAPI) run(ctx *fasthttp.RequestCtx, newQuery func(context.Context, promql.QueryOpts, string) (promql.Query, error)) (any, error) {
	c, cancel, err := p.queryContext(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	qs := formValue(ctx, "query")
	qry, err := newQuery(c, promql.NewPrometheusQueryOpts(false, 0, nil), qs)
	if err != nil {
		return nil, badData("invalid parameter \"query\": %w", err)
	}
	return p.exec(c, qry, qs)
}

func (p *promAPI) queryRange(ctx *fasthttp.RequestCtx) (any, error) {
	start, err := parseRequired(ctx, "start")
	if err != nil {
		return nil, err
	}
	end, err := parseRequired(ctx, "end")
	if err != nil {
		return nil, err
	}
	if end.Before(start) {
		return nil, badData("end timestamp must not be before start time")
	}
	stepS := formValue(ctx, "step")
	if stepS == "" {
		return nil, badData("invalid parameter \"step\": cannot parse \"\" to a valid duration")
	}
	step, err := parseDuration(stepS)
	if err != nil {
		return nil, badData("invalid parameter \"step\": %w", err)
	}
	if step <= 0 {
		return nil, badData("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	if end.Sub(start)/step > maxPoints {
		return nil, badData("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
	}
	return p.run(ctx, func(c context.Context, opts promql.QueryOpts, qs string) (promql.Query, error) {
		return p.engine.NewRangeQuery(c, p.queryable, opts, qs, start, end, step)
	})
}

func parseRequired(ctx *fasthttp.RequestCtx, name string) (time.Time, error) {
	v := formValue(ctx, name)
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badData("invalid parameter %q: %w", name, err)
	}
	return t, nil
}

// exec runs qry and shapes its result as Prometheus does.
func (p *promAPI) exec(c context.Context, qry promql.Query, qs string) (any, error) {
	defer qry.Close()
	res := qry.Exec(c)
	if res.Err != nil {
		return nil, res.Err
	}
	d := queryData{ResultType: string(res.Value.Type()), Result: res.Value}
	switch v := res.Value.(type) {
	case promql.Vector:
		if v == nil {
			d.Result = promql.Vector{}
		}
	case promql.Matrix:
		if v == nil {
			d.Result = promql.Matrix{}
		}
	}
	d.Warnings, d.Infos = res.Warnings.AsStrings(qs, 10, 10)
	return d, nil
}

// selectorParams parses match[], start and end of the metadata endpoints.
func (p *promAPI) selectorParams(ctx *fasthttp.RequestCtx) ([][]*labels.Matcher, int64, int64, error) {
	start, err := timeParam(ctx, "start", time.Time{})
	if err != nil {
		return nil, 0, 0, err
	}
	end, err := timeParam(ctx, "end", time.Time{})
	if err != nil {
		return nil, 0, 0, err
	}
	mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
	if !start.IsZero() {
		mint = start.UnixMilli()
	}
	if !end.IsZero() {
		maxt = end.UnixMilli()
	}
	if maxt < mint {
		return nil, 0, 0, badData("end timestamp must not be before start time")
	}
	var sets [][]*labels.Matcher
	for _, s := range formValues(ctx, "match[]") {
		ms, err := p.parser.ParseMetricSelector(s)
		if err != nil {
			return nil, 0, 0, badData("invalid parameter \"match[]\": %w", err)
		}
		sets = append(sets, ms)
	}
	return sets, mint, maxt, nil
}

func (p *promAPI) series(ctx *fasthttp.RequestCtx) (any, error) {
	sets, mint, maxt, err := p.selectorParams(ctx)
	if err != nil {
		return nil, err
	}
	if len(sets) == 0 {
		return nil, badData("no match[] parameter provided")
	}
	q, _ := p.queryable.Querier(mint, maxt)
	defer q.Close()
	hints := &promstorage.SelectHints{Start: mint, End: maxt, Func: "series"}
	seen := map[string]bool{}
	out := []labels.Labels{}
	for _, ms := range sets {
		ss := q.Select(context.Background(), true, hints, ms...)
		for ss.Next() {
			ls := ss.At().Labels()
			k := ls.String()
			if !seen[k] {
				seen[k] = true
				out = append(out, ls)
			}
		}
		if err := ss.Err(); err != nil {
			return nil, err
		}
	}
	if len(sets) > 1 {
		slices.SortFunc(out, labels.Compare)
	}
	return out, nil
}

func (p *promAPI) labelNames(ctx *fasthttp.RequestCtx) (any, error) {
	sets, mint, maxt, err := p.selectorParams(ctx)
	if err != nil {
		return nil, err
	}
	q, _ := p.queryable.Querier(mint, maxt)
	defer q.Close()
	if len(sets) == 0 {
		names, _, err := q.LabelNames(context.Background(), nil)
		return nonNil(names), err
	}
	set := map[string]struct{}{}
	for _, ms := range sets {
		names, _, err := q.LabelNames(context.Background(), nil, ms...)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			set[n] = struct{}{}
		}
	}
	return sortedKeys(set), nil
}

func (p *promAPI) labelValues(ctx *fasthttp.RequestCtx, name string) (any, error) {
	if !model.UTF8Validation.IsValidLabelName(name) {
		return nil, badData("invalid label name: %q", name)
	}
	sets, mint, maxt, err := p.selectorParams(ctx)
	if err != nil {
		return nil, err
	}
	q, _ := p.queryable.Querier(mint, maxt)
	defer q.Close()
	if len(sets) == 0 {
		vs, _, err := q.LabelValues(context.Background(), name, nil)
		return nonNil(vs), err
	}
	set := map[string]struct{}{}
	for _, ms := range sets {
		vs, _, err := q.LabelValues(context.Background(), name, nil, ms...)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			set[v] = struct{}{}
		}
	}
	return sortedKeys(set), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
