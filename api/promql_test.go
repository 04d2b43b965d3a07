package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"

	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// t0 is the first sample time, Unix ms; samples follow every 10 s.
const t0 = int64(1_700_000_000_000)

const steps = 60 // ten minutes

// end is the time of the last sample.
var end = time.UnixMilli(t0 + (steps-1)*10_000)

// fillDB stores counters x{instance,job} rising by 1, 2 and 3 per 10 s and
// a gauge y{job="a"}.
func fillDB(t *testing.T) *storage.DB {
	t.Helper()
	db := storagetest.OpenTemp(t)
	lbl := func(kv ...string) storage.Labels {
		var ls storage.Labels
		for i := 0; i < len(kv); i += 2 {
			ls = append(ls, storage.Label{Name: kv[i], Value: kv[i+1]})
		}
		return ls
	}
	for i := range steps {
		v := float64(i)
		err := db.AppendSamples(t0+int64(i)*10_000, []storage.Sample{
			{Labels: lbl("__name__", "x", "instance", "1", "job", "a"), Value: v},
			{Labels: lbl("__name__", "x", "instance", "2", "job", "a"), Value: 2 * v},
			{Labels: lbl("__name__", "x", "instance", "1", "job", "b"), Value: 3 * v},
			{Labels: lbl("__name__", "y", "job", "a"), Value: 42},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Commit(); err != nil {
		t.Fatal(err)
	}
	return db
}

func startQueryServer(t *testing.T, db Querier, cfg QueryConfig) (v1.API, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	_, base := startTestServer(t, Config{Addr: "127.0.0.1:0"}, nil, reg, func(s *Server) error { return s.EnableQuery(db, cfg, reg) })
	c, err := promapi.NewClient(promapi.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	return v1.NewAPI(c), base
}

// vector runs an instant query at end and returns its samples by labels.
func vector(t *testing.T, api v1.API, q string) map[string]float64 {
	t.Helper()
	v, _, _, err := api.Query(context.Background(), q, end)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		t.Fatalf("%s: result %T, want vector", q, v)
	}
	out := map[string]float64{}
	for _, s := range vec {
		out[s.Metric.String()] = float64(s.Value)
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPromQLQuery(t *testing.T) {
	api, base := startQueryServer(t, fillDB(t), QueryConfig{})
	got := vector(t, api, `rate(x{instance="1",job="a"}[1m])`)
	if len(got) != 1 || !near(got[`{instance="1", job="a"}`], 0.1) {
		t.Errorf("rate = %v, want 0.1", got)
	}
	got = vector(t, api, `increase(x{job="b"}[5m])`)
	if len(got) != 1 || !near(got[`{instance="1", job="b"}`], 90) {
		t.Errorf("increase = %v, want 90", got)
	}
	got = vector(t, api, `sum by (job) (rate(x[1m]))`)
	if len(got) != 2 || !near(got[`{job="a"}`], 0.3) || !near(got[`{job="b"}`], 0.3) {
		t.Errorf("sum by job = %v, want a=0.3 b=0.3", got)
	}
	for q, want := range map[string]float64{
		`count(x{job="a"})`:    2,
		`count(x{job!="a"})`:   1,
		`count(x{job=~"a|b"})`: 3,
		`count(x{job!~"a"})`:   1,
		`count({job="a"})`:     3,
		`y`:                    42,
	} {
		got := vector(t, api, q)
		if len(got) != 1 {
			t.Errorf("%s = %v, want one sample", q, got)
			continue
		}
		for _, v := range got {
			if v != want {
				t.Errorf("%s = %v, want %v", q, v, want)
			}
		}
	}
	// Past the lookback delta there is no sample.
	v, _, _, err := api.Query(context.Background(), "y", end.Add(6*time.Minute))
	if err != nil || len(v.(model.Vector)) != 0 {
		t.Errorf("y after lookback = %v, %v; want empty", v, err)
	}
	// Scalar and string results.
	v, _, _, err = api.Query(context.Background(), "1+1", end)
	if s, ok := v.(*model.Scalar); err != nil || !ok || s.Value != 2 {
		t.Errorf("1+1 = %v, %v", v, err)
	}
	// The client does not decode string results; check the raw answer.
	code, body := httpGet(t, base+`/api/v1/query?query="hi"&time=100.5`)
	if want := `{"status":"success","data":{"resultType":"string","result":[100.5,"hi"]}}`; code != 200 || string(body) != want {
		t.Errorf(`"hi" = %d %s, want %s`, code, body, want)
	}
}

func TestPromQLQueryRange(t *testing.T) {
	api, _ := startQueryServer(t, fillDB(t), QueryConfig{})
	r := v1.Range{Start: end.Add(-4 * time.Minute), End: end, Step: time.Minute}
	v, _, _, err := api.QueryRange(context.Background(), `sum by (job) (rate(x[1m]))`, r)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(model.Matrix)
	if len(m) != 2 {
		t.Fatalf("got %d series, want 2: %v", len(m), m)
	}
	for _, s := range m {
		if len(s.Values) != 5 {
			t.Errorf("%s: %d points, want 5", s.Metric, len(s.Values))
		}
		for i, p := range s.Values {
			if !p.Timestamp.Time().Equal(r.Start.Add(time.Duration(i) * time.Minute)) {
				t.Errorf("%s: point %d at %v", s.Metric, i, p.Timestamp.Time())
			}
			if !near(float64(p.Value), 0.3) {
				t.Errorf("%s: point %d = %v, want 0.3", s.Metric, i, p.Value)
			}
		}
	}
}

func TestPromQLMetadata(t *testing.T) {
	api, _ := startQueryServer(t, fillDB(t), QueryConfig{})
	ctx := context.Background()
	series, _, _, err := api.Series(ctx, []string{`x{job="a"}`, `y`}, end.Add(-time.Hour), end)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range series {
		got = append(got, s.String())
	}
	want := []string{`{__name__="x", instance="1", job="a"}`, `{__name__="x", instance="2", job="a"}`, `{__name__="y", job="a"}`}
	if !slices.Equal(got, want) {
		t.Errorf("series = %v, want %v", got, want)
	}
	// A range after the last sample selects nothing.
	series, _, _, err = api.Series(ctx, []string{`x`}, end.Add(time.Hour), end.Add(2*time.Hour))
	if err != nil || len(series) != 0 {
		t.Errorf("series later = %v, %v; want none", series, err)
	}

	names, _, _, err := api.LabelNames(ctx, nil, time.Time{}, time.Time{})
	if err != nil || !slices.Equal(names, model.LabelNames{"__name__", "instance", "job"}) {
		t.Errorf("labels = %v, %v", names, err)
	}
	names, _, _, err = api.LabelNames(ctx, []string{"y"}, end.Add(-time.Hour), end)
	if err != nil || !slices.Equal(names, model.LabelNames{"__name__", "job"}) {
		t.Errorf("labels of y = %v, %v", names, err)
	}
	names, _, _, err = api.LabelNames(ctx, []string{"y"}, end.Add(time.Hour), end.Add(2*time.Hour))
	if err != nil || len(names) != 0 {
		t.Errorf("labels of y later = %v, %v", names, err)
	}

	values, _, _, err := api.LabelValues(ctx, "__name__", nil, end.Add(-time.Hour), end)
	if err != nil || !slices.Equal(values, model.LabelValues{"x", "y"}) {
		t.Errorf("__name__ values = %v, %v", values, err)
	}
	values, _, _, err = api.LabelValues(ctx, "job", []string{`x{instance="1"}`}, end.Add(-time.Hour), end)
	if err != nil || !slices.Equal(values, model.LabelValues{"a", "b"}) {
		t.Errorf("job values of x{instance=1} = %v, %v", values, err)
	}
	values, _, _, err = api.LabelValues(ctx, "instance", []string{`y`}, time.Time{}, time.Time{})
	if err != nil || len(values) != 0 {
		t.Errorf("instance values of y = %v, %v", values, err)
	}

	bi, err := api.Buildinfo(ctx)
	if err != nil || bi.Version == "" || bi.GoVersion == "" {
		t.Errorf("buildinfo = %+v, %v", bi, err)
	}
}

func wantAPIError(t *testing.T, what string, err error, typ v1.ErrorType) {
	t.Helper()
	var e *v1.Error
	if !errors.As(err, &e) || e.Type != typ {
		t.Errorf("%s: error %v, want type %s", what, err, typ)
	}
}

func TestPromQLErrors(t *testing.T) {
	db := fillDB(t)
	api, base := startQueryServer(t, db, QueryConfig{})
	ctx := context.Background()
	_, _, _, err := api.Query(ctx, "sum(", end)
	wantAPIError(t, "bad query", err, v1.ErrBadData)
	_, _, _, err = api.QueryRange(ctx, "x", v1.Range{Start: end.Add(-24 * time.Hour), End: end, Step: time.Second})
	wantAPIError(t, "step too small", err, v1.ErrBadData)
	_, _, _, err = api.QueryRange(ctx, "x", v1.Range{Start: end, End: end.Add(-time.Hour), Step: time.Minute})
	wantAPIError(t, "end before start", err, v1.ErrBadData)
	_, _, _, err = api.Series(ctx, []string{`{job=~".*"}`}, time.Time{}, time.Time{})
	wantAPIError(t, "empty matcher", err, v1.ErrBadData)

	// The status codes and the exact shape.
	for _, tc := range []struct {
		path string
		code int
		typ  string
	}{
		{"/api/v1/query?query=sum(", 400, "bad_data"},
		{"/api/v1/query_range?query=x&start=0&end=100000&step=1", 400, "bad_data"},
		{"/api/v1/query_range?query=x&start=0&end=100&step=0", 400, "bad_data"},
		{"/api/v1/query?query=x&time=yesterday", 400, "bad_data"},
		{"/api/v1/series", 400, "bad_data"},
		{"/api/v1/nope", 404, "not_found"},
	} {
		code, body := httpGet(t, base+tc.path)
		var e struct{ Status, ErrorType, Error string }
		if err := json.Unmarshal(body, &e); err != nil || code != tc.code || e.Status != "error" || e.ErrorType != tc.typ || e.Error == "" {
			t.Errorf("%s: %d %s, want %d %s", tc.path, code, body, tc.code, tc.typ)
		}
	}

	small, smallBase := startQueryServer(t, db, QueryConfig{MaxSamples: 10})
	_, _, _, err = small.Query(ctx, "x[5m]", end)
	wantAPIError(t, "sample limit", err, v1.ErrExec)
	code, _ := httpGet(t, smallBase+"/api/v1/query?query=x[5m]&time="+strconv.FormatInt(end.Unix(), 10))
	if code != 422 {
		t.Errorf("sample limit: status %d, want 422", code)
	}
	few, _ := startQueryServer(t, db, QueryConfig{MaxSeries: 2})
	_, _, _, err = few.Query(ctx, "x", end)
	wantAPIError(t, "series limit", err, v1.ErrExec)
	if _, _, _, err = few.Query(ctx, `x{job="a"}`, end); err != nil {
		t.Errorf("2 series under a limit of 2: %v", err)
	}
}

// httpGet is get (server_test.go) for the status code and body alone.
func httpGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, body := get(t, u)
	return resp.StatusCode, body
}

// TestPromQLGrafana replays the requests Grafana's Prometheus data source
// sends when it is added ("Save & test") and Explore is opened.
func TestPromQLGrafana(t *testing.T) {
	_, base := startQueryServer(t, fillDB(t), QueryConfig{})
	s := strconv.FormatInt(end.Add(-time.Hour).Unix(), 10)
	e := strconv.FormatInt(end.Unix(), 10)
	type success struct {
		Status string          `json:"status"`
		Data   json.RawMessage `json:"data"`
	}
	check := func(resp *http.Response, err error, what string, data any) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var r success
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s %s", what, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			return
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Status != "success" {
			t.Errorf("%s: %s", what, body)
			return
		}
		if err := json.Unmarshal(r.Data, data); err != nil {
			t.Errorf("%s: data %s: %v", what, r.Data, err)
		}
	}
	get := func(path string, q url.Values, data any) {
		t.Helper()
		resp, err := http.Get(base + path + "?" + q.Encode())
		check(resp, err, path, data)
	}

	var bi map[string]string
	get("/api/v1/status/buildinfo", nil, &bi)
	if bi["version"] == "" {
		t.Errorf("buildinfo %v has no version", bi)
	}
	var names []string
	get("/api/v1/labels", url.Values{"start": {s}, "end": {e}}, &names)
	if !slices.Contains(names, "job") {
		t.Errorf("labels = %v", names)
	}
	get("/api/v1/label/__name__/values", url.Values{"start": {s}, "end": {e}}, &names)
	if !slices.Equal(names, []string{"x", "y"}) {
		t.Errorf("__name__ values = %v", names)
	}
	var series []map[string]string
	get("/api/v1/series", url.Values{"match[]": {`x`}, "start": {s}, "end": {e}}, &series)
	if len(series) != 3 || series[0]["__name__"] != "x" {
		t.Errorf("series = %v", series)
	}
	type result struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	}
	var rr result
	get("/api/v1/query_range", url.Values{"query": {`sum by (job) (rate(x[1m]))`}, "start": {s}, "end": {e}, "step": {"15"}}, &rr)
	if rr.ResultType != "matrix" || len(rr.Result) != 2 || len(rr.Result[0].Values) == 0 {
		t.Errorf("query_range = %+v", rr)
	} else if p := rr.Result[0].Values[0]; len(p) != 2 {
		t.Errorf("point %v", p)
	} else if _, ok := p[0].(float64); !ok {
		t.Errorf("point time %T, want a number", p[0])
	} else if _, ok := p[1].(string); !ok {
		t.Errorf("point value %T, want a string", p[1])
	}

	resp, err := http.PostForm(base+"/api/v1/query", url.Values{"query": {`y`}, "time": {e}})
	var ri result
	check(resp, err, "POST /api/v1/query", &ri)
	if ri.ResultType != "vector" || len(ri.Result) != 1 || len(ri.Result[0].Value) != 2 || ri.Result[0].Value[1] != "42" {
		t.Errorf("query = %+v", ri)
	} else if ts, _ := ri.Result[0].Value[0].(float64); ts != float64(end.Unix()) {
		t.Errorf("query time %v, want %v", ts, end.Unix())
	}
	var empty result
	get("/api/v1/query", url.Values{"query": {`nothing`}, "time": {e}}, &empty)
	if empty.ResultType != "vector" || empty.Result == nil {
		t.Errorf("empty query = %+v, want an empty vector", empty)
	}
}

// blockingQuerier is a Querier whose Select waits for release, so that a
// test can hold queries running.
type blockingQuerier struct {
	Querier
	started chan struct{}
	release chan struct{}
}

func (b blockingQuerier) SelectSamples(mint, maxt int64, ms ...storage.Matcher) ([]storage.SeriesPoints, error) {
	b.started <- struct{}{}
	<-b.release
	return b.Querier.SelectSamples(mint, maxt, ms...)
}

// TestPromQLMaxConcurrent checks QueryConfig.MaxConcurrent: with one slot
// taken by a running query, a second request waits the query timeout and
// then fails as Prometheus' timeout (503), and succeeds once the slot is free.
func TestPromQLMaxConcurrent(t *testing.T) {
	bq := blockingQuerier{Querier: fillDB(t), started: make(chan struct{}, 1), release: make(chan struct{})}
	_, base := startQueryServer(t, bq, QueryConfig{MaxConcurrent: 1, Timeout: 300 * time.Millisecond})
	u := base + "/api/v1/query?query=" + url.QueryEscape(`x`) + "&time=" + strconv.FormatInt(end.Unix(), 10)
	first := make(chan int, 1)
	go func() {
		resp, err := http.Get(u)
		if err != nil {
			first <- 0
			return
		}
		resp.Body.Close()
		first <- resp.StatusCode
	}()
	<-bq.started // the first query holds the only slot
	code, body := httpGet(t, u)
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"errorType":"timeout"`) {
		t.Fatalf("second query while the slot is taken: %d %s; want 503 timeout", code, body)
	}
	close(bq.release)
	if code := <-first; code != http.StatusOK && code != http.StatusServiceUnavailable {
		t.Fatalf("first query: status %d", code)
	}
	if code, body := httpGet(t, u); code != http.StatusOK {
		t.Fatalf("query with the slot free: %d %s", code, body)
	}
}
