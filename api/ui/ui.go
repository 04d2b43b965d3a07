// Package ui serves Telltale's web UI (DESIGN.md §2.7): a single-page app
// of hand-written HTML, CSS and JavaScript modules embedded in the binary
// (nothing from a CDN, no build step), and the sign-in that guards it.
//
// A user signs in with an API token (a form POST to /auth/login) and gets a
// session cookie: HttpOnly, SameSite=Strict, Secure when the request came
// over TLS. The app then calls the same /api/0/ and /api/v1/ endpoints that
// API clients call; package api accepts the cookie there through
// UI.Authorize, which also asks a state-changing request for the session's
// CSRF token and rejects a cross-site one.
//
// Routes: / (the app, which needs a session), /static/... (its files),
// /auth/login (GET the form, POST a token), /auth/logout (POST), and
// /issues/{id}/ (the permalinks of the issue API, sent on into the app).
package ui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

//go:embed static
var staticFS embed.FS

// Config configures the UI.
type Config struct {
	// CheckToken reports whether tok is one of the API tokens, in constant
	// time. Required.
	CheckToken func(tok []byte) bool
	// Organization returns the organization slug of /api/0/ paths; nil or
	// "" means "main".
	Organization func() string
	// SessionTTL is how long a session lasts after sign-in; 0 means 12h.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions held in memory; 0 means 10 000. At
	// the bound, a new sign-in ends the session closest to its expiry.
	MaxSessions int
}

// UI serves the web UI. Its methods are goroutine-safe.
type UI struct {
	cfg      Config
	log      *slog.Logger
	assets   map[string]*asset // by path under /static/
	index    *template.Template
	login    *template.Template
	sessions *sessions
	cop      *http.CrossOriginProtection
}

// asset is one embedded file, ready to send.
type asset struct {
	body, gz []byte // gz is nil when compressing does not pay
	ctype    string
	etag     string
}

// Paths of the UI's routes.
const (
	loginPath  = "/auth/login"
	logoutPath = "/auth/logout"
	staticPath = "/static/"
)

// New returns the UI for cfg; log nil discards logs.
func New(cfg Config, log *slog.Logger) (*UI, error) {
	if cfg.CheckToken == nil {
		return nil, errors.New("ui: Config.CheckToken is required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 10_000
	}
	u := &UI{cfg: cfg, log: log, assets: map[string]*asset{}, cop: http.NewCrossOriginProtection()}
	u.sessions = newSessions(cfg.SessionTTL, cfg.MaxSessions)
	root, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	if u.index, err = template.ParseFS(root, "index.html"); err != nil {
		return nil, err
	}
	if u.login, err = template.ParseFS(root, "login.html"); err != nil {
		return nil, err
	}
	// One compressor for every file: a new one allocates most of a
	// megabyte (measured: New allocated 10 MB in 18 ms with one per file,
	// 1 MB in 6 ms with this one; the output is the same).
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestCompression)
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".html") {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		u.assets[p] = newAsset(p, b, zw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// newAsset prepares file name with contents b, compressing it with zw.
func newAsset(name string, b []byte, zw *gzip.Writer) *asset {
	sum := sha256.Sum256(b)
	a := &asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: mime.TypeByExtension(path.Ext(name))}
	if a.ctype == "" {
		a.ctype = "application/octet-stream"
	}
	if strings.HasPrefix(a.ctype, "text/") || strings.Contains(a.ctype, "javascript") || strings.Contains(a.ctype, "svg") {
		var buf bytes.Buffer
		zw.Reset(&buf)
		zw.Write(b)
		zw.Close()
		if buf.Len() < len(b)*9/10 {
			a.gz = buf.Bytes()
		}
	}
	return a
}

// Serve answers the request if its path is one of the UI's, and reports
// whether it was.
func (u *UI) Serve(ctx *fasthttp.RequestCtx) bool {
	p := string(ctx.Path())
	var serve func(*fasthttp.RequestCtx)
	switch {
	case p == "/" || p == "/index.html":
		serve = u.serveApp
	case strings.HasPrefix(p, staticPath):
		serve = u.serveAsset
	case p == loginPath:
		serve = u.serveLogin
	case p == logoutPath:
		serve = u.serveLogout
	case strings.HasPrefix(p, "/issues/") && ctx.IsGet():
		serve = u.servePermalink
		if _, err := strconv.ParseUint(permalinkID(p), 10, 64); err != nil {
			return false
		}
	default:
		return false
	}
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	serve(ctx)
	return true
}

func permalinkID(path string) string {
	return strings.Trim(strings.TrimPrefix(path, "/issues/"), "/")
}

// contentSecurityPolicy lets the pages load only their own files and talk
// only to their own origin: no inline script or style, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// serveApp answers the app's page, which carries the session's CSRF token,
// or sends a visitor without a session to the sign-in form.
func (u *UI) serveApp(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.Error("method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s, ok := u.sessions.get(ctx.Request.Header.Cookie(cookieName))
	if !ok {
		ctx.Response.Header.Set("Cache-Control", "no-store")
		seeOther(ctx, loginPath)
		return
	}
	org := ""
	if u.cfg.Organization != nil {
		org = u.cfg.Organization()
	}
	if org == "" {
		org = "main"
	}
	u.render(ctx, u.index, http.StatusOK, map[string]string{"CSRF": s.csrf, "Org": org})
}

func (u *UI) render(ctx *fasthttp.RequestCtx, t *template.Template, code int, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		u.log.Error("cannot render a page", "page", t.Name(), "err", err)
		ctx.Error("internal error", http.StatusInternalServerError)
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetStatusCode(code)
	ctx.SetBody(buf.Bytes())
}

func (u *UI) serveAsset(ctx *fasthttp.RequestCtx) {
	a, ok := u.assets[strings.TrimPrefix(string(ctx.Path()), staticPath)]
	if !ok || (!ctx.IsGet() && !ctx.IsHead()) {
		ctx.Error("not found", http.StatusNotFound)
		return
	}
	h := &ctx.Response.Header
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if inm := ctx.Request.Header.Peek("If-None-Match"); len(inm) > 0 && string(inm) == a.etag {
		ctx.SetStatusCode(http.StatusNotModified)
		return
	}
	ctx.SetContentType(a.ctype)
	if a.gz != nil && bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip")) {
		h.Set("Content-Encoding", "gzip")
		ctx.SetBody(a.gz)
		return
	}
	ctx.SetBody(a.body)
}

// servePermalink sends a permalink (/issues/{id}/, as the issue API's
// permalink field names it) on to the app's route. It answers a page that
// refreshes rather than a redirect: a link followed from another site
// arrives without the SameSite=Strict cookie, and the refresh, made by this
// origin, brings it.
func (u *UI) servePermalink(ctx *fasthttp.RequestCtx) {
	id := permalinkID(string(ctx.Path()))
	target := "/#/issues/" + id
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=` + target +
		`"><title>Telltale</title><a href="` + target + `">Open issue ` + id + `</a>`)
}

// serveLogin answers the sign-in form (GET) and signs in (POST).
func (u *UI) serveLogin(ctx *fasthttp.RequestCtx) {
	switch {
	case ctx.IsGet() || ctx.IsHead():
		if _, ok := u.sessions.get(ctx.Request.Header.Cookie(cookieName)); ok {
			seeOther(ctx, "/") // signed in already
			return
		}
		u.render(ctx, u.login, http.StatusOK, map[string]string{})
	case ctx.IsPost():
		if err := u.crossOrigin(ctx); err != nil {
			u.render(ctx, u.login, http.StatusForbidden, map[string]string{"Error": "This sign-in came from another site and was refused."})
			return
		}
		tok := bytes.TrimSpace(ctx.PostArgs().Peek("token"))
		if len(tok) == 0 || !u.cfg.CheckToken(tok) {
			u.log.Info("UI sign-in refused", "remote", ctx.RemoteIP().String())
			u.render(ctx, u.login, http.StatusUnauthorized, map[string]string{"Error": "That token is not valid."})
			return
		}
		id := u.sessions.create()
		u.log.Info("UI sign-in", "remote", ctx.RemoteIP().String())
		u.setCookie(ctx, id, int(u.cfg.SessionTTL/time.Second))
		seeOther(ctx, "/"+safeNext(string(ctx.PostArgs().Peek("next"))))
	default:
		ctx.Error("method not allowed", http.StatusMethodNotAllowed)
	}
}

// safeNext keeps a hash route ("#/issues/3") to go to after sign-in, and
// drops anything else.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "#/") || len(next) > 512 || strings.ContainsAny(next, "\r\n\\") {
		return ""
	}
	return next
}

// serveLogout ends the session (POST with its CSRF token, from this
// origin) and sends the browser to the sign-in form.
func (u *UI) serveLogout(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Error("method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := u.crossOrigin(ctx); err != nil {
		ctx.Error(err.Error(), http.StatusForbidden)
		return
	}
	id := ctx.Request.Header.Cookie(cookieName)
	if s, ok := u.sessions.get(id); ok {
		tok := ctx.Request.Header.Peek(csrfHeader)
		if len(tok) == 0 {
			tok = ctx.PostArgs().Peek("csrf")
		}
		if !s.csrfMatches(tok) {
			ctx.Error(ErrForbidden.Error(), http.StatusForbidden)
			return
		}
		u.sessions.delete(id)
	}
	u.setCookie(ctx, nil, -1)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	seeOther(ctx, loginPath)
}

// setCookie sets the session cookie to id for maxAge seconds; a negative
// maxAge deletes it.
func (u *UI) setCookie(ctx *fasthttp.RequestCtx, id []byte, maxAge int) {
	c := fasthttp.AcquireCookie()
	defer fasthttp.ReleaseCookie(c)
	c.SetKey(cookieName)
	c.SetValueBytes(id)
	c.SetPath("/")
	c.SetHTTPOnly(true)
	c.SetSameSite(fasthttp.CookieSameSiteStrictMode)
	c.SetSecure(secureRequest(ctx))
	if maxAge < 0 {
		c.SetExpire(fasthttp.CookieExpireDelete)
	} else {
		c.SetMaxAge(maxAge)
	}
	ctx.Response.Header.SetCookie(c)
}

// seeOther answers 303 to path. The Location stays relative: fasthttp's
// Redirect would make it absolute with the scheme it saw, plain HTTP behind
// a proxy that terminates TLS.
func seeOther(ctx *fasthttp.RequestCtx, path string) {
	ctx.Response.Header.Set("Location", path)
	ctx.SetStatusCode(http.StatusSeeOther)
}

// secureRequest reports whether the request came over TLS, directly or
// through a proxy that says so.
func secureRequest(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsTLS() || strings.EqualFold(string(ctx.Request.Header.Peek("X-Forwarded-Proto")), "https")
}

// crossOrigin rejects a state-changing request that a browser made from
// another site, by Sec-Fetch-Site or else Origin against Host (the rules
// of net/http's CrossOriginProtection).
func (u *UI) crossOrigin(ctx *fasthttp.RequestCtx) error {
	req := &http.Request{Method: string(ctx.Method()), Host: string(ctx.Host()), Header: http.Header{}}
	for _, k := range []string{"Sec-Fetch-Site", "Origin"} {
		if v := ctx.Request.Header.Peek(k); len(v) > 0 {
			req.Header.Set(k, string(v))
		}
	}
	if err := u.cop.Check(req); err != nil {
		return ErrForbidden
	}
	return nil
}

// Errors of Authorize.
var (
	// ErrNoSession means the request carries no valid session cookie.
	ErrNoSession = errors.New("ui: no valid session")
	// ErrForbidden means a state-changing request with a session cookie
	// came from another site or without the session's CSRF token.
	ErrForbidden = errors.New("ui: cross-site request, or the CSRF token is missing or wrong")
)

// Authorize checks the session cookie of a request to the JSON APIs the
// app calls. It returns nil for a valid session and a safe method (GET,
// HEAD, OPTIONS), and for a state-changing method only when the request
// also carries the session's CSRF token in the X-CSRF-Token header and did
// not come from another site; else ErrNoSession or ErrForbidden.
func (u *UI) Authorize(ctx *fasthttp.RequestCtx) error {
	s, ok := u.sessions.get(ctx.Request.Header.Cookie(cookieName))
	if !ok {
		return ErrNoSession
	}
	if ctx.IsGet() || ctx.IsHead() || ctx.IsOptions() {
		return nil
	}
	if err := u.crossOrigin(ctx); err != nil {
		return err
	}
	if !s.csrfMatches(ctx.Request.Header.Peek(csrfHeader)) {
		return ErrForbidden
	}
	return nil
}
