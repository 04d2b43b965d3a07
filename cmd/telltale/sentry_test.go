package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"
)

const (
	testKey   = "0123456789abcdef0123456789abcdef"
	testToken = "test-token-0123456789"
)

// startSentry runs a whole Telltale with one project ("backend", id 1)
// and an API token.
func startSentry(t *testing.T, dir string) *Main {
	t.Helper()
	return startSentryProject(t, dir, 1, "backend", testKey)
}

// sentryHub is the real SDK, through NewClient and NewHub (not the global
// hub), with the synchronous transport so each capture waits for its answer.
func sentryHub(t *testing.T, m *Main, release, env string) (*sentry.Hub, *sentry.Client) {
	t.Helper()
	c, err := sentry.NewClient(sentry.ClientOptions{
		Dsn:         "http://" + testKey + "@" + m.HTTPAddr() + "/1",
		Release:     release,
		Environment: env,
		Transport:   sentry.NewHTTPSyncTransport(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return sentry.NewHub(c, sentry.NewScope()), c
}

// apiGet calls the issues API with the token and decodes the JSON answer.
func apiGet(t *testing.T, m *Main, path string, out any) http.Header {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+m.HTTPAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
	return resp.Header
}

// apiIssue is the part of an /api/0/ issue the tests check.
type apiIssue struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	Culprit   string `json:"culprit"`
	Count     string `json:"count"`
	UserCount int    `json:"userCount"`
	Status    string `json:"status"`
	Substatus string `json:"substatus"`
	Level     string `json:"level"`
	Type      string `json:"type"`
	Platform  string `json:"platform"`
	Project   struct {
		Slug string `json:"slug"`
	} `json:"project"`
	Metadata struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"metadata"`
}

// apiTag is one tag of /api/0/issues/{id}/tags/ with its top values.
type apiTag struct {
	Key       string `json:"key"`
	TopValues []struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	} `json:"topValues"`
}

// issueList returns the issues of project backend that query (Sentry's
// search syntax) selects, up to 100.
func issueList(t *testing.T, m *Main, query string) []apiIssue {
	t.Helper()
	var out []apiIssue
	apiGet(t, m, "/api/0/projects/main/backend/issues/?limit=100&query="+url.QueryEscape(query), &out)
	return out
}

// linkNextRE reads the next page of Sentry's Link header.
var linkNextRE = regexp.MustCompile(`<([^>]*)>; rel="next"; results="(true|false)"`)

// nextPage returns the path and query of the next page that the Link
// header of h names, and whether it has results.
func nextPage(t *testing.T, h http.Header) (string, bool) {
	t.Helper()
	m := linkNextRE.FindStringSubmatch(h.Get("Link"))
	if m == nil {
		t.Fatalf("no next page in Link %q", h.Get("Link"))
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI(), m[2] == "true"
}

// eventCount returns the events the issues of list count.
func eventCount(list []apiIssue) int {
	n := 0
	for _, is := range list {
		c, _ := strconv.Atoi(is.Count)
		n += c
	}
	return n
}

// postEnvelope posts body to project 1's envelope endpoint with the
// headers hdr and returns the answer's status and headers.
func postEnvelope(t *testing.T, m *Main, hdr map[string]string, body []byte) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+m.HTTPAddr()+"/api/1/envelope/", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// sentryAuth is the X-Sentry-Auth header of an envelope with key.
func sentryAuth(key string) map[string]string {
	return map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=" + key}
}

func findIssue(list []apiIssue, title string) *apiIssue {
	for i := range list {
		if strings.Contains(list[i].Title, title) {
			return &list[i]
		}
	}
	return nil
}

// assign writes to m; on a nil map it panics.
func assign(m map[string]int) { m["x"] = 1 }

func boomAt(n int) error { return fmt.Errorf("order %d failed: %w", n, errors.New("card declined")) }

func captureBoom(h *sentry.Hub, n int) { h.CaptureException(boomAt(n)) }

// sendBoom captures the wrapped error for user, tagged region=eu; every
// call has the same stack, so every call joins one issue.
func sendBoom(hub *sentry.Hub, n int, user string) {
	hub.WithScope(func(s *sentry.Scope) {
		s.SetUser(sentry.User{ID: user})
		s.SetTag("region", "eu")
		captureBoom(hub, n) // same site, different order number
	})
}

// TestSentrySDKRepeatedError sends the same error from the same line
// three times, and a fourth time in a scope with a transaction, through the
// real sentry-go SDK: it sends the same exception value each time, which
// the server decodes and groups once and serves from its exception cache
// from the third event on. The four must make one issue, with the
// exception's culprit (the last event names a transaction, which becomes
// the culprit), and the cache must have been hit.
func TestSentrySDKRepeatedError(t *testing.T) {
	m := startSentry(t, t.TempDir())
	hub, client := sentryHub(t, m, "shop@1.2.3", "production")
	stale := errors.New("stale cart 7")
	for i := range 4 {
		hub.WithScope(func(s *sentry.Scope) {
			if i == 3 {
				s.AddEventProcessor(func(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
					e.Transaction = "GET /cart"
					return e
				})
			}
			hub.CaptureException(stale)
		})
		client.Flush(5 * time.Second) // in order: the last event names the transaction
	}
	is := findIssue(issueList(t, m, ""), "stale cart 7")
	if is == nil || is.Count != "4" || is.Culprit != "GET /cart" {
		t.Fatalf("repeated error issue = %+v; want the four grouped, culprit GET /cart", is)
	}
	lookups := scrapeMetrics(t, m)["telltale_sentry_cache_lookups_total"]
	if lookups == nil {
		t.Fatal("no telltale_sentry_cache_lookups_total on /metrics")
	}
	hits := map[string]float64{}
	for _, mt := range lookups.GetMetric() {
		labels := map[string]string{}
		for _, l := range mt.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["result"] == "hit" {
			hits[labels["cache"]] = mt.GetCounter().GetValue()
		}
	}
	if hits["exceptions"] < 2 || hits["grouping"] < 2 {
		t.Errorf("cache hits %v; want the third and fourth events' exceptions and grouping from the cache", hits)
	}
}

// TestSentrySDK sends through the real sentry-go SDK: wrapped errors with
// varying numbers, a message, custom fingerprints, a recovered panic, user,
// tags, release and environment, and an oversized event; then the issues
// API shows the groups, counts and users expected; resolve, send again:
// regressed.
func TestSentrySDK(t *testing.T) {
	dir := t.TempDir()
	m := startSentry(t, dir)
	hub, client := sentryHub(t, m, "shop@1.2.3", "production")

	for i, user := range []string{"alice", "bob", "alice"} {
		sendBoom(hub, 1000+i, user)
	}
	hub.CaptureMessage("cache miss for key 42")
	hub.CaptureMessage("cache miss for key 43")
	for _, msg := range []string{"stripe timeout", "paypal refused"} {
		hub.WithScope(func(s *sentry.Scope) {
			s.SetFingerprint([]string{"payment-failed"})
			hub.CaptureException(errors.New(msg))
		})
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				hub.RecoverWithContext(context.Background(), r)
			}
		}()
		var m map[string]int
		assign(m) // panics: assignment to entry in nil map
	}()
	// An oversized event (sentry-go does not trim a big context): 413.
	hub.WithScope(func(s *sentry.Scope) {
		s.SetContext("blob", sentry.Context{"data": strings.Repeat("x", 1_300_000)})
		hub.CaptureMessage("too big to keep")
	})
	client.Flush(5 * time.Second)

	list := issueList(t, m, "is:unresolved")
	boom := findIssue(list, "card declined")
	if boom == nil {
		t.Fatalf("no issue for the wrapped error in %+v", list)
	}
	// Stored events are counted per project, and the oversized one as
	// rejected.
	if pe := scrapeMetrics(t, m)["telltale_sentry_project_events_total"]; pe == nil {
		t.Error("no telltale_sentry_project_events_total on /metrics")
	} else {
		got := map[string]float64{}
		for _, mt := range pe.GetMetric() {
			key := ""
			for _, l := range mt.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			got[key] = mt.GetCounter().GetValue()
		}
		total := eventCount(list)
		if got["outcome=stored project=backend "] != float64(total) || got["outcome=rejected project=backend "] < 1 {
			t.Errorf("project events %v; want %d stored (the issues' counts) and the oversized one rejected", got, total)
		}
	}
	if boom.Count != "3" || boom.UserCount != 2 || boom.Level != "error" {
		t.Errorf("wrapped error issue = %+v; want count 3, 2 users", boom)
	}
	if cache := findIssue(list, "cache miss"); cache == nil || cache.Count != "2" {
		t.Errorf("message issue = %+v; want the two cache misses grouped", cache)
	}
	pay := 0
	for _, is := range list {
		if strings.Contains(is.Title, "stripe") || strings.Contains(is.Title, "paypal") {
			pay++
			if is.Count != "2" {
				t.Errorf("fingerprinted issue %+v; want count 2", is)
			}
		}
	}
	if pay != 1 {
		t.Errorf("%d issues for the custom fingerprint, want 1", pay)
	}
	if p := findIssue(list, "nil map"); p == nil || p.Level != "fatal" {
		t.Errorf("panic issue = %+v; want level fatal", p)
	}
	if findIssue(list, "too big") != nil {
		t.Error("the oversized event was stored")
	}
	if len(list) != 4 {
		t.Errorf("%d issues, want 4: %+v", len(list), list)
	}
	// Query syntax: tags, release, environment, free text.
	for q, want := range map[string]int{
		"region:eu": 1, "release:shop@1.2.3": 4, "environment:staging": 0, "card": 1, "is:resolved": 0,
	} {
		if got := len(issueList(t, m, q)); got != want {
			t.Errorf("query %q: %d issues, want %d", q, got, want)
		}
	}
	var tags []apiTag
	apiGet(t, m, "/api/0/issues/"+boom.ID+"/tags/", &tags)
	found := false
	for _, tg := range tags {
		if tg.Key == "region" && len(tg.TopValues) == 1 && tg.TopValues[0].Count == 3 {
			found = true
		}
	}
	if !found {
		t.Errorf("tags of the wrapped error: %+v; want region=eu ×3", tags)
	}
	var latest struct {
		GroupID string `json:"groupID"`
		Entries []struct {
			Type string `json:"type"`
		} `json:"entries"`
	}
	apiGet(t, m, "/api/0/issues/"+boom.ID+"/events/latest/", &latest)
	if latest.GroupID != boom.ID || len(latest.Entries) == 0 || latest.Entries[0].Type != "exception" {
		t.Errorf("latest event = %+v", latest)
	}
	// The event list leaves the bodies out unless asked with full=true,
	// as Sentry's does.
	var brief, full []struct {
		ID      string            `json:"id"`
		Entries []json.RawMessage `json:"entries"`
	}
	apiGet(t, m, "/api/0/issues/"+boom.ID+"/events/", &brief)
	apiGet(t, m, "/api/0/issues/"+boom.ID+"/events/?full=true", &full)
	if len(brief) != 3 || len(full) != 3 || brief[0].Entries != nil || len(full[0].Entries) == 0 || brief[0].ID != full[0].ID {
		t.Errorf("events: %d brief %+v, %d full; want 3 each, entries only when full", len(brief), brief, len(full))
	}
	// Paging through the Link header, as Sentry's clients do: the next
	// page keeps the other parameters (project=-1 is every project).
	var page1, page2 []apiIssue
	next, more := nextPage(t, apiGet(t, m, "/api/0/organizations/main/issues/?query=&project=-1&limit=3", &page1))
	if len(page1) != 3 || !more {
		t.Fatalf("first page of 3: %d issues, next has results: %v", len(page1), more)
	}
	if _, more := nextPage(t, apiGet(t, m, next, &page2)); len(page2) != 1 || more || page2[0].ID == page1[2].ID {
		t.Errorf("second page %s: %+v, next has results: %v; want the 4th issue, no more", next, page2, more)
	}
	var evs1, evs2 []struct {
		Entries []json.RawMessage `json:"entries"`
	}
	next, more = nextPage(t, apiGet(t, m, "/api/0/issues/"+boom.ID+"/events/?full=true&limit=2", &evs1))
	if len(evs1) != 2 || !more {
		t.Fatalf("first page of 2 events: %d, next has results: %v", len(evs1), more)
	}
	if _, more := nextPage(t, apiGet(t, m, next, &evs2)); len(evs2) != 1 || len(evs2[0].Entries) == 0 || more {
		t.Errorf("second page of events %s: %d, next has results: %v; want the 3rd, full", next, len(evs2), more)
	}

	// Resolve, then the same error again: reopened as regressed.
	req, _ := http.NewRequest("PUT", "http://"+m.HTTPAddr()+"/api/0/issues/"+boom.ID+"/", strings.NewReader(`{"status":"resolved"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT resolved: %v %v", resp, err)
	}
	resp.Body.Close()
	if findIssue(issueList(t, m, "is:unresolved"), "card declined") != nil {
		t.Fatal("resolved issue still listed as unresolved")
	}
	sendBoom(hub, 2000, "carol")
	again := findIssue(issueList(t, m, "is:unresolved"), "card declined")
	if again == nil || again.Substatus != "regressed" || again.Count != "4" {
		var a, b map[string]any
		apiGet(t, m, "/api/0/issues/"+boom.ID+"/", &a)
		apiGet(t, m, "/api/0/issues/"+again.ID+"/", &b)
		t.Logf("%v\n%v", a["grouping"], b["grouping"])
		t.Fatalf("after a new event on a resolved issue: %+v; want unresolved, regressed, count 4", again)
	}

	// A restart keeps every issue and its hash: the next event joins it.
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	m2 := startSentry(t, dir)
	hub2, client2 := sentryHub(t, m2, "shop@1.3.0", "production")
	sendBoom(hub2, 3000, "dave")
	client2.Flush(5 * time.Second)
	if after := findIssue(issueList(t, m2, ""), "card declined"); after == nil || after.Count != "5" || after.ID != boom.ID {
		t.Fatalf("after restart: %+v; want issue %s with count 5", after, boom.ID)
	}
	// The details name the first and the latest release, as Sentry's do.
	type release struct{ Version, ShortVersion string }
	var detail struct {
		FirstRelease *release `json:"firstRelease"`
		LastRelease  *release `json:"lastRelease"`
	}
	apiGet(t, m2, "/api/0/issues/"+boom.ID+"/", &detail)
	if f, l := detail.FirstRelease, detail.LastRelease; f == nil || l == nil || *f != (release{"shop@1.2.3", "1.2.3"}) || *l != (release{"shop@1.3.0", "1.3.0"}) {
		t.Errorf("releases of the issue: first %+v, last %+v; want shop@1.2.3 (1.2.3) and shop@1.3.0 (1.3.0)", f, l)
	}
}

// TestSentryFixtures replays the captured requests of sentry-go, @sentry/node
// and sentry-python byte for byte (path, query, headers, body) and checks
// the answers and that their events are stored and grouped.
func TestSentryFixtures(t *testing.T) {
	m := startSentryProject(t, t.TempDir(), 42, "sdk", "abc123def456")
	metas, _ := filepath.Glob("../../ingest/testdata/sentry/*/*.meta.json")
	if len(metas) < 20 {
		t.Fatalf("found %d fixtures", len(metas))
	}
	events := 0
	for _, mp := range metas {
		var meta struct {
			Path, Query, Method string
			Headers             map[string][]string
			ResponseStatus      int `json:"response_status"`
			Items               []struct {
				Header struct {
					Type string `json:"type"`
				} `json:"header"`
			} `json:"items"`
		}
		b, _ := os.ReadFile(mp)
		if err := json.Unmarshal(b, &meta); err != nil {
			t.Fatal(err)
		}
		base := strings.TrimSuffix(mp, ".meta.json")
		body, err := os.ReadFile(base + ".body")
		if err != nil {
			continue // only the first 4 KiB of the oversized one were kept
		}
		u := "http://" + m.HTTPAddr() + meta.Path
		if meta.Query != "" {
			u += "?" + meta.Query
		}
		req, _ := http.NewRequest(meta.Method, u, bytes.NewReader(body))
		for k, vs := range meta.Headers {
			if k == "Content-Length" || k == "Transfer-Encoding" {
				continue
			}
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		if meta.Headers["Content-Length"] == nil {
			req.ContentLength = -1 // chunked, as @sentry/node sends it
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", filepath.Base(base), resp.StatusCode, rb)
			continue
		}
		hasEvent := strings.HasSuffix(meta.Path, "/store/")
		for _, it := range meta.Items {
			hasEvent = hasEvent || it.Header.Type == "event"
		}
		if hasEvent {
			events++
			if !bytes.Contains(rb, []byte(`"id":"`)) {
				t.Errorf("%s: answer %s has no event id", filepath.Base(base), rb)
			}
		}
	}
	var list []apiIssue
	apiGet(t, m, "/api/0/organizations/main/issues/?query=&limit=100", &list)
	if total := eventCount(list); total != events || len(list) < 8 {
		t.Errorf("%d issues counting %d events; want the %d events sent, in at least 8 issues", len(list), total, events)
	}
}

// startSentryProject runs a whole Telltale on dir with one project and
// the test API token.
func startSentryProject(t *testing.T, dir string, id int64, slug, key string) *Main {
	t.Helper()
	return runMain(t, dir, nil, func(c *Config) {
		c.Projects = []ProjectConfig{{ID: id, Slug: slug, Platform: "go", Keys: []string{key}}}
		c.Auth.Tokens = []string{testToken}
	})
}

// startSentryFlushing is startSentry on a new directory, keeping history,
// with the statsd flush (which also records the self-metrics into the
// history) every flush.
func startSentryFlushing(t *testing.T, flush time.Duration) *Main {
	t.Helper()
	return runMain(t, t.TempDir(), nil, func(c *Config) {
		c.Projects = []ProjectConfig{{ID: 1, Slug: "backend", Platform: "go", Keys: []string{testKey}}}
		c.Auth.Tokens = []string{testToken}
		c.Statsd.FlushInterval = flush
		c.Statsd.History = true
	})
}

// TestSentryRejects checks the answers to bad requests: wrong key, no
// auth, bad body, gzip bomb, and that a good event next to them is kept.
func TestSentryRejects(t *testing.T) {
	m := startSentry(t, t.TempDir())
	event := []byte(`{"event_id":"fc6d8c0c43fc4630ad850ee518f1b9d0"}` + "\n" + `{"type":"event"}` + "\n" + `{"message":"hello","level":"error"}` + "\n")
	auth := sentryAuth(testKey)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write(bytes.Repeat([]byte{' '}, 64<<20))
	zw.Close()
	for _, c := range []struct {
		name string
		hdr  map[string]string
		body []byte
		want int
	}{
		{"wrong key", sentryAuth("ffffffffffffffffffffffffffffffff"), event, 403},
		{"no auth", nil, event, 401},
		{"malformed", auth, []byte("{not json\n"), 400},
		{"gzip bomb", map[string]string{"X-Sentry-Auth": auth["X-Sentry-Auth"], "Content-Encoding": "gzip"}, bomb.Bytes(), 413},
		{"good", auth, event, 200},
	} {
		if code, _ := postEnvelope(t, m, c.hdr, c.body); code != c.want {
			t.Errorf("%s: status %d, want %d", c.name, code, c.want)
		}
	}
	if code, h := postEnvelope(t, m, auth, nil); code != 400 || h.Get("X-Sentry-Error") == "" {
		t.Errorf("empty body: %d, X-Sentry-Error %q", code, h.Get("X-Sentry-Error"))
	}
	req, _ := http.NewRequest("OPTIONS", "http://"+m.HTTPAddr()+"/api/1/envelope/", nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "x-sentry-auth") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "content-encoding") {
		t.Errorf("CORS preflight: %v %v", resp, err)
	}
	// The answer to the event itself lets the page's script read the
	// rate limits, and names the origin it is for.
	withOrigin := map[string]string{"Origin": "https://app.example.com"}
	for k, v := range auth {
		withOrigin[k] = v
	}
	code, h := postEnvelope(t, m, withOrigin, event)
	if code != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" || h.Get("Vary") != "Origin" ||
		!strings.Contains(h.Get("Access-Control-Expose-Headers"), "x-sentry-rate-limits") {
		t.Errorf("CORS on a POST: %d %v", code, h)
	}
	if list := issueList(t, m, ""); len(list) != 1 || list[0].Count != "2" {
		t.Errorf("issues after the rejects: %+v; want the two good events", list)
	}
}
