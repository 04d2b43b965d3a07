package ui

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

const testToken = "a-long-random-api-token-0123456789"

func newTestUI(t *testing.T) *UI {
	t.Helper()
	u, err := New(Config{
		CheckToken:   func(tok []byte) bool { return string(tok) == testToken },
		Organization: func() string { return "acme" },
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// request is one request to the UI; hdr holds header pairs.
type request struct {
	method, uri, body string
	hdr               []string
}

// do runs r through handler (u.Serve, or a wrapper of u.Authorize) and
// returns the context with the response.
func do(t *testing.T, handler func(*fasthttp.RequestCtx), r request) *fasthttp.RequestCtx {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(r.method)
	req.SetRequestURI(r.uri)
	req.Header.SetHost("telltale.example:8080")
	for i := 0; i+1 < len(r.hdr); i += 2 {
		req.Header.Set(r.hdr[i], r.hdr[i+1])
	}
	if r.body != "" {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString(r.body)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	handler(ctx)
	return ctx
}

func serve(u *UI) func(*fasthttp.RequestCtx) {
	return func(ctx *fasthttp.RequestCtx) {
		if !u.Serve(ctx) {
			ctx.SetStatusCode(999)
		}
	}
}

// signIn posts the token and returns the session cookie it sets.
func signIn(t *testing.T, u *UI, extra ...string) *fasthttp.Cookie {
	t.Helper()
	ctx := do(t, serve(u), request{method: "POST", uri: "/auth/login", body: "token=" + testToken + "&next=%23%2Fissues%2F7",
		hdr: append([]string{"Origin", "http://telltale.example:8080", "Sec-Fetch-Site", "same-origin"}, extra...)})
	if ctx.Response.StatusCode() != 303 {
		t.Fatalf("sign-in: status %d, body %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	if loc := string(ctx.Response.Header.Peek("Location")); loc != "/#/issues/7" {
		t.Errorf("sign-in sends to %q, want the route it was given", loc)
	}
	c := &fasthttp.Cookie{}
	c.SetKey(cookieName)
	if !ctx.Response.Header.Cookie(c) {
		t.Fatal("sign-in set no session cookie")
	}
	return c
}

// csrfOf reads the CSRF token from the app page of cookie's session.
func csrfOf(t *testing.T, u *UI, cookie *fasthttp.Cookie) string {
	t.Helper()
	ctx := do(t, serve(u), request{method: "GET", uri: "/", hdr: []string{"Cookie", cookieName + "=" + string(cookie.Value())}})
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("app page with a session: status %d", ctx.Response.StatusCode())
	}
	body := string(ctx.Response.Body())
	_, rest, ok := strings.Cut(body, `<meta name="csrf-token" content="`)
	tok, _, _ := strings.Cut(rest, `"`)
	if !ok || len(tok) < 32 {
		t.Fatalf("no CSRF token in the app page: %s", body)
	}
	if !strings.Contains(body, `<meta name="telltale-org" content="acme">`) {
		t.Error("the app page does not name the organization")
	}
	return tok
}

func TestSignInCookie(t *testing.T) {
	u := newTestUI(t)
	c := signIn(t, u)
	if !c.HTTPOnly() || c.SameSite() != fasthttp.CookieSameSiteStrictMode || string(c.Path()) != "/" || c.MaxAge() != int((12*time.Hour)/time.Second) {
		t.Errorf("cookie %s: want HttpOnly, SameSite=Strict, Path=/, Max-Age=43200", c)
	}
	if c.Secure() {
		t.Errorf("cookie %s: Secure over plain HTTP would never come back", c)
	}
	if len(c.Value()) < 40 {
		t.Errorf("session id %q is too short", c.Value())
	}
	// Behind a TLS-terminating proxy the cookie is Secure.
	if c := signIn(t, u, "X-Forwarded-Proto", "https"); !c.Secure() {
		t.Errorf("cookie %s: want Secure when X-Forwarded-Proto is https", c)
	}
	if n := u.sessions.count(); n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
}

func TestSignInRefused(t *testing.T) {
	u := newTestUI(t)
	for _, c := range []struct {
		name string
		r    request
		want int
	}{
		{"wrong token", request{method: "POST", uri: "/auth/login", body: "token=nope"}, 401},
		{"no token", request{method: "POST", uri: "/auth/login", body: "next=%23%2F"}, 401},
		{"prefix of the token", request{method: "POST", uri: "/auth/login", body: "token=" + testToken[:20]}, 401},
		{"cross-site form", request{method: "POST", uri: "/auth/login", body: "token=" + testToken, hdr: []string{"Origin", "https://evil.example"}}, 403},
		{"cross-site fetch", request{method: "POST", uri: "/auth/login", body: "token=" + testToken, hdr: []string{"Sec-Fetch-Site", "cross-site"}}, 403},
		{"wrong method", request{method: "PUT", uri: "/auth/login"}, 405},
	} {
		ctx := do(t, serve(u), c.r)
		if got := ctx.Response.StatusCode(); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
		if len(ctx.Response.Header.PeekCookie(cookieName)) != 0 {
			t.Errorf("%s: a cookie was set", c.name)
		}
	}
	if n := u.sessions.count(); n != 0 {
		t.Errorf("%d sessions after refused sign-ins", n)
	}
}

func TestAppNeedsSession(t *testing.T) {
	u := newTestUI(t)
	for _, cookie := range []string{"", cookieName + "=forged-session-id"} {
		ctx := do(t, serve(u), request{method: "GET", uri: "/", hdr: []string{"Cookie", cookie}})
		if ctx.Response.StatusCode() != 303 || string(ctx.Response.Header.Peek("Location")) != "/auth/login" {
			t.Errorf("app page with cookie %q: %d to %q, want 303 to the sign-in", cookie, ctx.Response.StatusCode(), ctx.Response.Header.Peek("Location"))
		}
	}
	login := do(t, serve(u), request{method: "GET", uri: "/auth/login"})
	if login.Response.StatusCode() != 200 || !bytes.Contains(login.Response.Body(), []byte(`name="token"`)) {
		t.Errorf("sign-in form: %d %s", login.Response.StatusCode(), login.Response.Body())
	}
	if csp := string(login.Response.Header.Peek("Content-Security-Policy")); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

// authorize runs u.Authorize as a handler: 200 when it passes, else 401
// or 403.
func authorize(u *UI) func(*fasthttp.RequestCtx) {
	return func(ctx *fasthttp.RequestCtx) {
		switch err := u.Authorize(ctx); {
		case err == nil:
			ctx.SetStatusCode(200)
		case errors.Is(err, ErrForbidden):
			ctx.SetStatusCode(403)
		case errors.Is(err, ErrNoSession):
			ctx.SetStatusCode(401)
		default:
			ctx.SetStatusCode(500)
		}
	}
}

func TestAuthorizeCSRF(t *testing.T) {
	u := newTestUI(t)
	c := signIn(t, u)
	cookie := cookieName + "=" + string(c.Value())
	csrf := csrfOf(t, u, c)
	other := signIn(t, u)
	otherCSRF := csrfOf(t, u, other)
	same := []string{"Origin", "http://telltale.example:8080", "Sec-Fetch-Site", "same-origin"}
	for _, tc := range []struct {
		name   string
		method string
		hdr    []string
		want   int
	}{
		{"no cookie", "GET", nil, 401},
		{"forged cookie", "GET", []string{"Cookie", cookieName + "=x"}, 401},
		{"GET", "GET", []string{"Cookie", cookie}, 200},
		{"GET from another site", "GET", []string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site"}, 200}, // SameSite=Strict keeps the cookie away
		{"PUT without CSRF", "PUT", append([]string{"Cookie", cookie}, same...), 403},
		{"PUT with another session's CSRF", "PUT", append([]string{"Cookie", cookie, csrfHeader, otherCSRF}, same...), 403},
		{"PUT with a wrong CSRF", "PUT", append([]string{"Cookie", cookie, csrfHeader, csrf[:len(csrf)-1] + "x"}, same...), 403},
		{"PUT with CSRF", "PUT", append([]string{"Cookie", cookie, csrfHeader, csrf}, same...), 200},
		{"DELETE with CSRF", "DELETE", append([]string{"Cookie", cookie, csrfHeader, csrf}, same...), 200},
		{"PUT with CSRF, no Origin (not a browser)", "PUT", []string{"Cookie", cookie, csrfHeader, csrf}, 200},
		{"PUT with CSRF from another origin", "PUT", []string{"Cookie", cookie, csrfHeader, csrf, "Origin", "https://evil.example"}, 403},
		{"POST with CSRF, cross-site", "POST", []string{"Cookie", cookie, csrfHeader, csrf, "Sec-Fetch-Site", "cross-site"}, 403},
		{"POST with CSRF, same-site but another origin", "POST", []string{"Cookie", cookie, csrfHeader, csrf, "Sec-Fetch-Site", "same-site"}, 403},
	} {
		ctx := do(t, authorize(u), request{method: tc.method, uri: "/api/0/issues/1/", hdr: tc.hdr})
		if got := ctx.Response.StatusCode(); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestLogout(t *testing.T) {
	u := newTestUI(t)
	c := signIn(t, u)
	cookie := cookieName + "=" + string(c.Value())
	csrf := csrfOf(t, u, c)
	// Without the CSRF token, or from another site, the session stays.
	for _, r := range []request{
		{method: "POST", uri: "/auth/logout", hdr: []string{"Cookie", cookie}},
		{method: "POST", uri: "/auth/logout", body: "csrf=" + csrf, hdr: []string{"Cookie", cookie, "Origin", "https://evil.example"}},
		{method: "GET", uri: "/auth/logout", hdr: []string{"Cookie", cookie}},
	} {
		if ctx := do(t, serve(u), r); ctx.Response.StatusCode() < 400 {
			t.Errorf("%s %s %s: %d, want refused", r.method, r.uri, r.hdr, ctx.Response.StatusCode())
		}
	}
	if ctx := do(t, authorize(u), request{method: "GET", uri: "/api/0/", hdr: []string{"Cookie", cookie}}); ctx.Response.StatusCode() != 200 {
		t.Fatal("a refused sign-out ended the session")
	}
	ctx := do(t, serve(u), request{method: "POST", uri: "/auth/logout", body: "csrf=" + csrf, hdr: []string{"Cookie", cookie, "Sec-Fetch-Site", "same-origin"}})
	if ctx.Response.StatusCode() != 303 {
		t.Fatalf("sign-out: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	gone := &fasthttp.Cookie{}
	gone.SetKey(cookieName)
	if !ctx.Response.Header.Cookie(gone) || len(gone.Value()) != 0 || !gone.Expire().Before(time.Now()) || !gone.HTTPOnly() {
		t.Errorf("sign-out cookie %s: want it emptied and expired", gone)
	}
	if ctx := do(t, authorize(u), request{method: "GET", uri: "/api/0/", hdr: []string{"Cookie", cookie}}); ctx.Response.StatusCode() != 401 {
		t.Errorf("the session outlived its sign-out: %d", ctx.Response.StatusCode())
	}
	if ctx := do(t, serve(u), request{method: "GET", uri: "/", hdr: []string{"Cookie", cookie}}); ctx.Response.StatusCode() != 303 {
		t.Errorf("app page after sign-out: %d, want 303 to the sign-in", ctx.Response.StatusCode())
	}
}

func TestSessionExpiryAndBound(t *testing.T) {
	ss := newSessions(time.Hour, 3)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ss.now = func() time.Time { return now }
	a := ss.create()
	now = now.Add(time.Minute)
	b := ss.create()
	now = now.Add(time.Minute)
	c := ss.create()
	d := ss.create() // the bound: a, the oldest, goes
	if _, ok := ss.get(a); ok {
		t.Error("the oldest session survived the bound")
	}
	for _, id := range [][]byte{b, c, d} {
		if _, ok := ss.get(id); !ok {
			t.Errorf("session %s lost", id)
		}
	}
	now = now.Add(time.Hour - time.Minute) // b expires exactly now
	if _, ok := ss.get(b); ok {
		t.Error("an expired session still answers")
	}
	if _, ok := ss.get(c); !ok {
		t.Error("a live session was lost")
	}
	now = now.Add(time.Hour)
	ss.create() // sweeps c and d
	if n := ss.count(); n != 1 {
		t.Errorf("%d sessions after expiry, want 1", n)
	}
}

func TestStaticAndPermalink(t *testing.T) {
	u := newTestUI(t)
	for _, c := range []struct{ path, ctype string }{
		{"/static/app.css", "text/css"},
		{"/static/js/app.js", "text/javascript"},
		{"/static/favicon.svg", "image/svg+xml"},
	} {
		ctx := do(t, serve(u), request{method: "GET", uri: c.path, hdr: []string{"Accept-Encoding", "gzip, br"}})
		if ctx.Response.StatusCode() != 200 || !strings.HasPrefix(string(ctx.Response.Header.ContentType()), c.ctype) {
			t.Errorf("%s: %d %s", c.path, ctx.Response.StatusCode(), ctx.Response.Header.ContentType())
			continue
		}
		body := ctx.Response.Body()
		if string(ctx.Response.Header.Peek("Content-Encoding")) == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(zr)
		}
		if want := u.assets[strings.TrimPrefix(c.path, "/static/")].body; !bytes.Equal(body, want) {
			t.Errorf("%s: body differs from the embedded file", c.path)
		}
		etag := string(ctx.Response.Header.Peek("ETag"))
		if ctx := do(t, serve(u), request{method: "GET", uri: c.path, hdr: []string{"If-None-Match", etag}}); ctx.Response.StatusCode() != 304 {
			t.Errorf("%s with its ETag: %d, want 304", c.path, ctx.Response.StatusCode())
		}
	}
	for path, want := range map[string]int{"/static/nope.js": 404, "/static/../ui.go": 999, "/issues/12/": 200, "/issues/x/": 999, "/api/0/": 999, "/metrics": 999} {
		if got := do(t, serve(u), request{method: "GET", uri: path}).Response.StatusCode(); got != want {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
	if body := do(t, serve(u), request{method: "GET", uri: "/issues/12/"}).Response.Body(); !bytes.Contains(body, []byte(`url=/#/issues/12"`)) {
		t.Errorf("permalink page %s does not send on to the issue", body)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"#/issues/3":             "#/issues/3",
		"#/metrics?expr=up":      "#/metrics?expr=up",
		"//evil.example":         "",
		"https://evil.example":   "",
		"#/x\r\nSet-Cookie: a=b": "",
		"":                       "",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
