package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// TestUISessionAPI signs in through the form as a browser would, then
// checks that the session cookie opens the JSON APIs the UI calls, that a
// change needs the session's CSRF token and the same origin, and that
// signing out closes them again. It needs no browser.
func TestUISessionAPI(t *testing.T) {
	m := startSentry(t, t.TempDir())
	base := "http://" + m.HTTPAddr()
	hub, client := sentryHub(t, m, "shop@1.0.0", "production")
	sendBoom(hub, 1, "alice")
	client.Flush(5 * time.Second)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, path, cookie string, hdr map[string]string, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if c := resp.Header.Get("Set-Cookie"); c != "" && method == "POST" && path == "/auth/login" {
			return resp.StatusCode, c
		}
		return resp.StatusCode, string(b)
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": base}

	if code, _ := send("GET", "/", "", nil, ""); code != http.StatusSeeOther {
		t.Errorf("GET / without a session: %d, want 303 to the sign-in", code)
	}
	if code, _ := send("POST", "/auth/login", "", form, "token=wrong-token"); code != http.StatusUnauthorized {
		t.Errorf("sign-in with a wrong token: %d, want 401", code)
	}
	code, setCookie := send("POST", "/auth/login", "", form, url.Values{"token": {testToken}}.Encode())
	if code != http.StatusSeeOther || !strings.Contains(setCookie, "HttpOnly") || !strings.Contains(setCookie, "SameSite=Strict") {
		t.Fatalf("sign-in: %d, Set-Cookie %q", code, setCookie)
	}
	cookie, _, _ := strings.Cut(setCookie, ";")

	code, page := send("GET", "/", cookie, nil, "")
	_, rest, _ := strings.Cut(page, `name="csrf-token" content="`)
	csrf, _, _ := strings.Cut(rest, `"`)
	if code != 200 || len(csrf) < 32 {
		t.Fatalf("app page: %d, CSRF token %q", code, csrf)
	}
	for _, p := range []string{"/api/0/organizations/main/projects/", "/api/0/projects/main/backend/issues/", "/api/v1/labels"} {
		if code, body := send("GET", p, cookie, nil, ""); code != 200 {
			t.Errorf("GET %s with the session: %d %s", p, code, body)
		}
		if code, _ := send("GET", p, sessionCookie+"=forged", nil, ""); code != 401 {
			t.Errorf("GET %s with a forged session: %d, want 401", p, code)
		}
	}
	list := issueList(t, m, "")
	if len(list) != 1 {
		t.Fatalf("issues: %+v", list)
	}
	put := "/api/0/issues/" + list[0].ID + "/"
	resolve := `{"status":"resolved"}`
	for _, c := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"no CSRF token", map[string]string{"Origin": base}, 403},
		{"wrong CSRF token", map[string]string{"Origin": base, "X-CSRF-Token": "x" + csrf[1:]}, 403},
		{"another site", map[string]string{"Origin": "https://evil.example", "X-CSRF-Token": csrf}, 403},
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": csrf}, 403},
		{"same origin with the token", map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin", "X-CSRF-Token": csrf}, 200},
	} {
		if code, body := send("PUT", put, cookie, c.hdr, resolve); code != c.want {
			t.Errorf("PUT with the session, %s: %d %s; want %d", c.name, code, body, c.want)
		}
	}
	if got := issueList(t, m, "is:resolved"); len(got) != 1 {
		t.Errorf("after the PUT: %d resolved issues, want 1", len(got))
	}
	// A Bearer token still needs no CSRF token.
	req, _ := http.NewRequest("PUT", base+put, strings.NewReader(`{"status":"unresolved"}`))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("PUT with the Bearer token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	if code, _ := send("POST", "/auth/logout", cookie, form, "csrf="+csrf); code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", code)
	}
	if code, _ := send("GET", "/api/0/organizations/main/projects/", cookie, nil, ""); code != 401 {
		t.Errorf("the session works after sign-out: %d", code)
	}
}

// sessionCookie is the name of the UI's session cookie (api/ui).
const sessionCookie = "telltale_session"

// chromium returns the path of a Chromium or Chrome ($TELLTALE_CHROMIUM,
// or the first on $PATH), or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TELLTALE_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("skipping the browser test: TELLTALE_CHROMIUM: %v; install Chromium with `apt-get install -y chromium`", err)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("skipping the browser test: no Chromium found; install it with `apt-get install -y chromium`")
	return ""
}

// browser is a headless Chromium with one tab, recording its console.
type browser struct {
	t    *testing.T
	ctx  context.Context
	dir  string // screenshots
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("dns-prefetch-disable", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 50*time.Second)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, dir: t.ArtifactDir()}
	msgs := chromedp.Console(ctx) // starts the browser, then records from the first page on
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.msgs = append(b.msgs, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// do runs steps, failing the test on an error.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-"))
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript predicate until it is true.
func (b *browser) wait(what, predicate string) {
	b.t.Helper()
	b.do(what, chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
}

// eval returns the value of a JavaScript expression.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// shot saves a full-page PNG under the test's artifact directory (kept
// with go test -artifacts).
func (b *browser) shot(name string) {
	b.t.Helper()
	// From the top, so that the sticky bar is where a reader expects it.
	if err := chromedp.Do(b.ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`)); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
	}
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name+".png")
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		b.t.Error(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// checkConsole fails the test on any error or exception the pages wrote.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.msgs {
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleException:
			b.t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line)
		case chromedp.ConsoleWarning:
			b.t.Logf("browser console: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
}

// sendBooms sends the wrapped error of sendBoom for each user from this
// one call site, so that every call joins one issue.
func sendBooms(hub *sentry.Hub, client *sentry.Client, n int, users ...string) {
	for i, u := range users {
		sendBoom(hub, n+i, u)
	}
	client.Flush(5 * time.Second)
}

// withSourceContext adds to in-app frames the source lines around them,
// and to the crashing frame its variables, as sentry-python sends them
// (sentry-go sends neither), so that the UI shows both.
func withSourceContext(e *sentry.Event, _ *sentry.EventHint) *sentry.Event {
	for i := range e.Exception {
		st := e.Exception[i].Stacktrace
		if st == nil {
			continue
		}
		for j := range st.Frames {
			f := &st.Frames[j]
			b, err := os.ReadFile(f.AbsPath)
			if err != nil || !f.InApp || f.Lineno < 1 {
				continue
			}
			lines := strings.Split(string(b), "\n")
			if f.Lineno > len(lines) {
				continue
			}
			at := f.Lineno - 1
			f.PreContext = lines[max(0, at-5):at]
			f.ContextLine = lines[at]
			f.PostContext = lines[at+1 : min(len(lines), at+4)]
			if j == len(st.Frames)-1 {
				f.Vars = map[string]any{"err": e.Exception[i].Value, "frames": len(st.Frames)}
			}
		}
	}
	return e
}

// panicInSort panics inside a function that the standard library calls,
// so that the stack has system frames between in-app ones.
func panicInSort(hub *sentry.Hub) {
	defer func() {
		if r := recover(); r != nil {
			hub.RecoverWithContext(context.Background(), r)
		}
	}()
	xs := []int{3, 1, 2}
	sort.Slice(xs, func(i, j int) bool { panic(errors.New("comparator is not implemented")) })
}

// waitHistory waits until expr over the last 5 minutes at a 1 s step
// has n series of at least points samples each.
func waitHistory(t *testing.T, api v1.API, expr string, n, points int) {
	t.Helper()
	eventually(t, "the history of "+expr, func() error {
		now := time.Now()
		v, _, _, err := api.QueryRange(context.Background(), expr, v1.Range{Start: now.Add(-5 * time.Minute), End: now, Step: time.Second})
		if err != nil {
			return err
		}
		m, _ := v.(model.Matrix)
		full := 0
		for _, s := range m {
			if len(s.Values) >= points {
				full++
			}
		}
		if full < n {
			return fmt.Errorf("%d of %d series with %d points", full, n, points)
		}
		return nil
	})
}

// hasRow is a predicate: the issue list shows a row whose title has text
// (and, with badge, that badge).
func hasRow(text, badge string) string {
	return fmt.Sprintf(`document.querySelector('ul.issues') && [...document.querySelectorAll('.issue-row')].some(r =>
		r.querySelector('.issue-title').textContent.includes(%q) && (%q === '' || r.querySelector('.badge-' + %q) !== null))`, text, badge, badge)
}

// TestUIBrowser drives the web UI in a headless Chromium: sign in, see the
// issues the real sentry-go SDK sent, open one, resolve it, see it leave
// the unresolved list, send it again and see it back as regressed, then
// chart a statsd counter in the metrics explorer. Any console error fails
// it. Screenshots go to the test's artifact directory
// (go test -run TestUIBrowser -artifacts -outputdir DIR ./cmd/telltale/).
func TestUIBrowser(t *testing.T) {
	path := chromium(t)
	t.Logf("browser: %s", path)
	m := startSentryFlushing(t, 200*time.Millisecond)
	base := "http://" + m.HTTPAddr()

	// Errors through the real SDK, with a request and breadcrumbs.
	hub, client := sentryHub(t, m, "shop@1.2.3", "production")
	hub.ConfigureScope(func(s *sentry.Scope) {
		req := httptest.NewRequest("POST", "https://shop.example/api/orders?coupon=SPRING", nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64)")
		s.SetRequest(req)
		s.SetContext("app", sentry.Context{"build": "7f3c2e1", "region": "eu-west-1"})
		s.AddEventProcessor(withSourceContext)
	})
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "http", Message: "GET /api/cart 200", Level: sentry.LevelInfo}, nil)
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "payment", Message: "charging card ending 4242", Level: sentry.LevelWarning, Data: map[string]any{"amount": 42.5}}, nil)
	sendBooms(hub, client, 1000, "alice", "bob", "alice")
	hub.CaptureMessage("cache miss for key 42")
	panicInSort(hub)
	hub.WithScope(func(s *sentry.Scope) {
		s.SetLevel(sentry.LevelWarning)
		hub.CaptureMessage("slow query: 2.3s on orders")
	})
	client.Flush(5 * time.Second)

	// A counter over statsd, sent while the test runs, so that its history
	// has a line by the time the metrics explorer draws it.
	conn, err := net.Dial("udp", m.StatsdAddr())
	if err != nil {
		t.Fatal(err)
	}
	stopStatsd := make(chan struct{})
	statsdDone := make(chan struct{})
	go func() {
		defer close(statsdDone)
		for i := 0; ; i++ {
			fmt.Fprintf(conn, "ui.orders:%d|c|#region:eu\nui.orders:1|c|#region:us\n", 1+i%5)
			select {
			case <-stopStatsd:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	stop := sync.OnceFunc(func() { close(stopStatsd); <-statsdDone; conn.Close() })
	defer stop()

	b := newBrowser(t)
	defer b.checkConsole()

	// Sign in.
	b.do("open the UI", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.shot("01-sign-in")
	b.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), testToken),
		chromedp.Click(chromedp.CSS(`.login-card button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.issue-row`)))
	b.wait("the issue list", hasRow("card declined", ""))
	if n := eval[int](b, `document.querySelectorAll('.issue-row').length`); n != 4 {
		t.Errorf("%d issues listed, want 4", n)
	}
	if got := eval[string](b, `[...document.querySelectorAll('.issue-row')].find(r => r.textContent.includes('card declined')).querySelector('.num.count').textContent`); got != "3" {
		t.Errorf("events of the wrapped error = %q, want 3", got)
	}
	if n := eval[int](b, `document.querySelectorAll('.issue-row svg.spark rect').length`); n == 0 {
		t.Error("no sparkline bars")
	}
	b.shot("02-issues")
	// "/" focuses the search box.
	b.do("press /", chromedp.KeyEvent("/"))
	if !eval[bool](b, `document.activeElement && document.activeElement.type === 'search'`) {
		t.Error(`"/" does not focus the search box`)
	}

	// Search: the query syntax, through the box.
	b.do("search", chromedp.SetValue(chromedp.CSS(`input[type=search]`), "is:unresolved level:warning"), chromedp.SendKeys(chromedp.CSS(`input[type=search]`), "\r"))
	b.wait("the search result", hasRow("slow query", "")+` && document.querySelectorAll('.issue-row').length === 1`)

	// Open the wrapped error.
	b.do("back to all", chromedp.Navigate(base+"/#/issues?project=backend"))
	b.wait("the issue list again", hasRow("card declined", ""))
	boom := eval[string](b, `[...document.querySelectorAll('.issue-row')].find(r => r.textContent.includes('card declined')).dataset.issue`)
	b.do("open the issue", chromedp.Click(chromedp.CSS(`.issue-row[data-issue="`+boom+`"] .issue-title`)))
	b.wait("the issue page", `document.querySelector('#issue-title') && document.querySelector('.frames') && document.querySelector('.tagbar') && document.querySelector('.components li')`)
	if n := eval[int](b, `document.querySelectorAll('details.frame.in-app[open] .context .ln.hit').length`); n == 0 {
		t.Error("no in-app frame is open with its context lines")
	}
	if !eval[bool](b, `[...document.querySelectorAll('.tagbar h3')].some(h => h.textContent.startsWith('region'))`) {
		t.Error("the tag region is not shown")
	}
	if !eval[bool](b, `document.body.textContent.includes('charging card ending 4242') && document.body.textContent.includes('/api/orders')`) {
		t.Error("the breadcrumbs or the request are missing")
	}
	if n := eval[int](b, `document.querySelectorAll('table.table tbody tr').length`); n != 3 {
		t.Errorf("%d events listed, want 3", n)
	}
	b.shot("03-issue")

	// Resolve it: it leaves the unresolved list.
	b.do("resolve", chromedp.Click(chromedp.CSS(`button[data-action=resolved]`)))
	b.wait("the resolved state", `document.querySelector('button[data-action=unresolved]') && document.querySelector('.badge-resolved')`)
	b.do("back to the list", chromedp.Click(chromedp.CSS(`.crumbs a`)))
	b.wait("the list without it", hasRow("cache miss", "")+` && !(`+hasRow("card declined", "")+`)`)
	b.shot("04-issues-after-resolve")

	// The same error again: back, regressed.
	sendBooms(hub, client, 2000, "carol")
	b.do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`.issue-row`)))
	b.wait("the regressed issue", hasRow("card declined", "regressed"))
	b.shot("05-issues-regressed")

	// A panic inside the standard library: in-app frames open, the
	// system frames between them folded until asked for.
	panicID := eval[string](b, `[...document.querySelectorAll('.issue-row')].find(r => r.textContent.includes('comparator')).dataset.issue`)
	b.do("open the panic", chromedp.Click(chromedp.CSS(`.issue-row[data-issue="`+panicID+`"] .issue-title`)))
	b.wait("the panic's frames", `document.querySelector('.frames') && document.querySelector('details.sysframes:not([open])') && document.querySelector('details.frame.in-app[open]')`)
	b.do("unfold", chromedp.Click(chromedp.CSS(`details.sysframes > summary`)))
	b.wait("the unfolded frames", `document.querySelector('details.sysframes[open] .frame.system') && document.querySelector('details.sysframes > summary').textContent.startsWith('Hide')`)
	b.shot("06-panic-frames")

	// Projects: the DSN and the setup snippets.
	b.do("projects", chromedp.Click(chromedp.CSS(`.mainnav a[data-nav=projects]`)))
	b.wait("the DSN", `document.querySelector('.dsn code') && document.querySelector('.dsn code').textContent.includes('@`+m.HTTPAddr()+`/1')`)
	b.do("Python tab", chromedp.Click(chromedp.CSS(`.tabs button[data-key=python]`)))
	b.wait("the Python snippet", `document.querySelector('.snippet pre').textContent.includes('sentry_sdk.init')`)
	b.shot("07-projects")

	// Metrics: find the counter, chart it.
	b.do("metrics", chromedp.Click(chromedp.CSS(`.mainnav a[data-nav=metrics]`)))
	b.wait("the metric names", `document.querySelector('.metric-list button[title="ui_orders"]')`)
	b.do("filter", chromedp.SendKeys(chromedp.CSS(`.side-search input`), "orders"))
	b.wait("the filtered names", `document.querySelectorAll('.metric-list button').length === 1`)
	b.do("chart", chromedp.Click(chromedp.CSS(`.metric-list button[title="ui_orders"]`)))
	b.wait("the chart", `document.querySelectorAll('svg.chart path.line').length === 2 && document.querySelectorAll('.series-list tr').length === 2`)
	b.do("search series by label", chromedp.SendKeys(chromedp.CSS(`input[aria-label="Filter series by label"]`), "region=eu"))
	b.wait("the series of region eu", `document.querySelectorAll('.series-list tr').length === 1 && document.querySelector('.series-list td').textContent.includes('region="eu"')`)
	// The chart is drawn once per render: wait until the history holds
	// three seconds of both series, so that a 5-minute chart at a 1 s step
	// has lines and not dots however fast the steps above ran.
	waitHistory(t, promClient(t, m.HTTPAddr(), testToken), "ui_orders", 2, 4)
	b.do("the last 5 minutes", chromedp.SetValue(chromedp.CSS(`select[aria-label="Time range"]`), "5m"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('select[aria-label="Time range"]').dispatchEvent(new Event('change'))`))
	b.wait("a line over 5 minutes", `location.hash.includes('range=5m') && [...document.querySelectorAll('svg.chart path.line')].filter(p => (p.getAttribute('d').match(/L/g) || []).length >= 2).length === 2`)
	stop()
	b.shot("08-metrics")

	// Phone width.
	b.do("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(base+"/#/issues?project=backend"))
	b.wait("the issue list on a phone", hasRow("card declined", "regressed"))
	b.shot("09-phone-issues")
	b.do("open on a phone", chromedp.Click(chromedp.CSS(`.issue-row[data-issue="`+boom+`"] .issue-title`)))
	b.wait("the issue page on a phone", `document.querySelector('.frames')`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the issue page is %dpx wide on a 390px phone", w)
	}
	b.shot("10-phone-issue")
	b.do("metrics on a phone", chromedp.Navigate(base+"/#/metrics?expr=ui_orders&name=ui_orders&range=5m"))
	b.wait("the chart on a phone", `document.querySelectorAll('svg.chart path.line').length === 2`)
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the metrics page is %dpx wide on a 390px phone", w)
	}
	b.shot("11-phone-metrics")
	b.do("desktop", chromedp.EmulateViewport(1280, 900))

	// Sign out: the app is closed again.
	b.do("sign out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS("#token")))
	b.do("app after sign-out", chromedp.Navigate(base+"/#/issues"), chromedp.WaitVisible(chromedp.CSS("#token")))
}
