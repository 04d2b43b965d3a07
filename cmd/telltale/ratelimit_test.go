package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestSentryRateLimit runs a project limited to one event a second. A
// request over the limit gets 429 with Retry-After and X-Sentry-Rate-Limits;
// the real sentry-go SDK, answered so, stops sending by itself until the
// time given has passed, and then sends again.
func TestSentryRateLimit(t *testing.T) {
	m := runMain(t, t.TempDir(), nil, func(c *Config) {
		c.Projects = []ProjectConfig{{ID: 1, Slug: "backend", Platform: "go", Keys: []string{testKey}, RateLimit: 1}}
		c.Auth.Tokens = []string{testToken}
	})
	n := 0
	post := func() *http.Response {
		t.Helper()
		n++
		body := fmt.Sprintf(`{"event_id":"%032x"}`+"\n"+`{"type":"event"}`+"\n"+`{"message":"limited","level":"error"}`+"\n", n)
		req, _ := http.NewRequest("POST", "http://"+m.HTTPAddr()+"/api/1/envelope/", bytes.NewReader([]byte(body)))
		req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	limited := func() float64 {
		s := series(scrapeMetrics(t, m), "telltale_sentry_project_events_total", "project", "backend", "outcome", "rate_limited")
		if s == nil {
			return 0
		}
		return s.GetCounter().GetValue()
	}

	// The bucket holds one event: the first passes, the next is refused.
	if resp := post(); resp.StatusCode != 200 {
		t.Fatalf("first event: status %d, want 200", resp.StatusCode)
	}
	resp := post()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1" || resp.Header.Get("X-Sentry-Rate-Limits") != "1::key:rate_limited" {
		t.Fatalf("over the limit: status %d, Retry-After %q, X-Sentry-Rate-Limits %q; want 429, 1, 1::key:rate_limited",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("X-Sentry-Rate-Limits"))
	}
	if got := limited(); got != 1 {
		t.Fatalf("%v events counted rate-limited, want 1", got)
	}

	// The SDK: its first event meets the empty bucket and the 429; the
	// next two are dropped in the SDK, so the server never sees them.
	hub, client := sentryHub(t, m, "", "")
	for i := range 3 {
		hub.CaptureException(errors.New(fmt.Sprint("sdk event ", i)))
	}
	client.Flush(2 * time.Second)
	if got := limited(); got != 2 {
		t.Fatalf("%v events counted rate-limited after three from the SDK, want 2: the SDK must back off", got)
	}

	// After Retry-After the SDK sends again, and the event is stored.
	time.Sleep(1100 * time.Millisecond)
	hub.CaptureException(errors.New("after the back-off"))
	client.Flush(2 * time.Second)
	eventually(t, "the event sent after the back-off", func() error {
		for _, is := range issueList(t, m, "") {
			if is.Title == "*errors.errorString: after the back-off" {
				return nil
			}
		}
		return errors.New("not stored")
	})
	if got := limited(); got != 2 {
		t.Errorf("%v events counted rate-limited at the end, want 2", got)
	}
}
