package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/pprofhandler"

	"github.com/telltale-dev/telltale/aggregate"
	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/api/ui"
)

// Exposer writes the current value of every statsd series; satisfied by
// *aggregate.Aggregator.
type Exposer interface {
	WriteExposition(w io.Writer, format aggregate.Format) error
}

// Config configures the HTTP server.
type Config struct {
	// Addr is the listen address, host:port.
	Addr string
	// MaxRequestBodySize bounds request bodies, in bytes.
	MaxRequestBodySize int
	// WriteTimeout bounds writing one response; a /metrics scrape of a
	// million series needs seconds.
	WriteTimeout time.Duration
	// Tokens are the Bearer tokens that /api/v1/ accepts, compared in
	// constant time. Empty leaves it open: cmd always sets at least one
	// (the configured tokens, or the admin token made at first start).
	Tokens []string
}

// Validate reports the first invalid setting.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("api: bad listen address %q: %w", c.Addr, err)
	}
	return nil
}

// Server is Telltale's HTTP server. Its methods are goroutine-safe.
type Server struct {
	cfg      Config
	log      *slog.Logger
	gatherer prometheus.Gatherer
	series   Exposer
	srv      *fasthttp.Server
	ready    atomic.Bool
	ln       net.Listener
	prom     *promAPI   // nil until EnableQuery
	sentry   *sentryAPI // nil until EnableIssues
	// ingest answers the Sentry ingest endpoints (SetIngest).
	ingest func(*fasthttp.RequestCtx) bool
	ui     *ui.UI // the web UI at /, and its session cookie

	requests *prometheus.CounterVec
	// reqCounters caches the children of requests (requestKey →
	// prometheus.Counter); handlers and codes are few.
	reqCounters sync.Map
}

// New returns a Server that exposes gatherer's metrics and then series' on
// /metrics. series may be nil. It registers its own metrics on reg.
func New(cfg Config, gatherer prometheus.Gatherer, series Exposer, reg prometheus.Registerer, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxRequestBodySize == 0 {
		cfg.MaxRequestBodySize = 1 << 20
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = time.Minute
	}
	s := &Server{cfg: cfg, log: log, gatherer: gatherer, series: series}
	var err error
	s.ui, err = ui.New(ui.Config{CheckToken: s.tokenOK, Organization: func() string {
		if s.sentry == nil {
			return ""
		}
		return s.sentry.cfg.Organization
	}}, log)
	if err != nil {
		return nil, err
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_http_requests_total", Help: "HTTP requests by handler and status code.",
	}, []string{"handler", "code"})
	if reg != nil {
		reg.MustRegister(s.requests)
	}
	s.srv = &fasthttp.Server{
		Handler:            s.handle,
		Name:               "telltale",
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       cfg.WriteTimeout,
		IdleTimeout:        2 * time.Minute,
		MaxRequestBodySize: cfg.MaxRequestBodySize,
		// 16 KiB: a typical Sentry event request (headers and a 7 KB body)
		// is then read in one system call instead of three (measured:
		// 2.9 reads per event with the default 4 KiB). It is a
		// connection's buffer while a request is read.
		ReadBufferSize: 16 << 10,
		Logger:         fasthttpLogger{log},
		// The default "Server" date cache and header normalisation stay on.
	}
	return s, nil
}

// Start listens on Config.Addr and serves in the background.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: cannot listen: %w", err)
	}
	s.ln = ln
	go func() {
		if err := s.srv.Serve(ln); err != nil {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// Addr returns the address the server listens on, after Start.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// SetReady sets what /readyz answers: 200 when ready, 503 otherwise.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests under way. fasthttp's Serve returns nil after it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.SetReady(false)
	return s.srv.ShutdownWithContext(ctx)
}

func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	var name string
	switch string(ctx.Path()) {
	case "/metrics":
		name = "metrics"
		s.metrics(ctx)
	case "/healthz":
		name = "healthz"
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok\n")
	case "/readyz":
		name = "readyz"
		ctx.SetContentType("text/plain; charset=utf-8")
		if s.ready.Load() {
			ctx.SetBodyString("ready\n")
		} else {
			writeError(ctx, errNotReady)
		}
	default:
		switch {
		case s.sentry != nil && bytes.HasPrefix(ctx.Path(), []byte("/api/0/")):
			// The Sentry web API subset (issues.go).
			name = s.withToken(ctx, s.sentry.serve)
		case s.ingest != nil && s.ingest(ctx):
			name = "sentry_ingest"
		case s.prom != nil && bytes.HasPrefix(ctx.Path(), []byte("/api/v1/")):
			// The Prometheus query API (promql.go), with its own error shape.
			name = s.withToken(ctx, s.prom.serve)
		case s.ui.Serve(ctx):
			name = "ui"
		case bytes.HasPrefix(ctx.Path(), []byte("/debug/pprof/")):
			// Profiles of a live server are how a performance problem gets
			// found; like Prometheus and VictoriaMetrics we serve them on
			// the (loopback by default) HTTP listener.
			name = "pprof"
			pprofhandler.PprofHandler(ctx)
		default:
			name = "other"
			writeError(ctx, errNotFound)
		}
	}
	s.requestCounter(name, ctx.Response.StatusCode()).Inc()
}

// requestKey names a child of the requests counter.
type requestKey struct {
	handler string
	code    int
}

// requestCounter returns the requests counter of handler and code, looked
// up once: WithLabelValues formats the code and hashes both labels, on
// every request of an event flood.
func (s *Server) requestCounter(handler string, code int) prometheus.Counter {
	k := requestKey{handler, code}
	if c, ok := s.reqCounters.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := s.requests.WithLabelValues(handler, strconv.Itoa(code))
	s.reqCounters.Store(k, c)
	return c
}

// withToken runs serve if the request carries one of the Bearer tokens or
// the web UI's session cookie (with, on a change, its CSRF token), and
// answers 401 (403 for a cross-site or CSRF-less change) otherwise; it
// returns the handler name.
func (s *Server) withToken(ctx *fasthttp.RequestCtx, serve func(*fasthttp.RequestCtx) string) string {
	if !s.authorized(ctx) {
		err := s.ui.Authorize(ctx)
		if errors.Is(err, ui.ErrForbidden) {
			writeError(ctx, &apiError{http.StatusForbidden, err.Error()})
			return "forbidden"
		} else if err != nil {
			writeError(ctx, errUnauthorized)
			return "unauthorized"
		}
	}
	return serve(ctx)
}

// Errors the handlers answer with; writeError maps them to status codes.
var (
	errNotFound     = errors.New("not found")
	errNotReady     = errors.New("not ready")
	errUnauthorized = errors.New("a valid Bearer token is required")
)

// authorized reports whether the request carries one of Config.Tokens as
// "Authorization: Bearer <token>". Every token is compared, in constant
// time, so that the answer's timing says nothing about which came close.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	tok, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	return len(s.cfg.Tokens) == 0 || ok && s.tokenOK(tok)
}

// tokenOK reports whether tok is one of Config.Tokens (any tok when there
// are none).
func (s *Server) tokenOK(tok []byte) bool {
	if len(s.cfg.Tokens) == 0 {
		return true
	}
	match := 0
	for _, t := range s.cfg.Tokens {
		match |= subtle.ConstantTimeCompare(tok, []byte(t))
	}
	return match == 1
}

// writeError answers err as JSON {"detail": ...} with its status code. It is
// the one place that maps errors to statuses; unknown errors answer 500
// without their text, which may hold internals, and are logged by the caller.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	code, detail := http.StatusInternalServerError, "internal error"
	var ae *apiError
	switch {
	case errors.Is(err, errNotFound):
		code, detail = http.StatusNotFound, err.Error()
	case errors.Is(err, errNotReady):
		code, detail = http.StatusServiceUnavailable, err.Error()
	case errors.Is(err, errUnauthorized):
		code, detail = http.StatusUnauthorized, err.Error()
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="telltale"`)
	case errors.As(err, &ae):
		code, detail = ae.code, ae.detail
	case errors.Is(err, issues.ErrNotFound):
		code, detail = http.StatusNotFound, err.Error()
	}
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{detail})
	ctx.SetStatusCode(code)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// metrics streams the self-metrics and then every statsd series, so that a
// scrape of a million series never holds its whole text in memory.
func (s *Server) metrics(ctx *fasthttp.RequestCtx) {
	// Only the text formats: the statsd series are streamed as text, so a
	// scraper that prefers protobuf gets the text format it also accepts.
	format := expfmt.NegotiateAccept(http.Header{"Accept": {string(ctx.Request.Header.Peek("Accept"))}},
		expfmt.FmtOpenMetrics_1_0_0, expfmt.FmtOpenMetrics_0_0_1, expfmt.FmtText)
	families, err := s.gatherer.Gather()
	if err != nil && len(families) == 0 {
		s.log.Error("cannot gather self-metrics", "err", err)
		writeError(ctx, err)
		return
	}
	openMetrics := format.FormatType() == expfmt.TypeOpenMetrics
	gz := bytes.Contains(ctx.Request.Header.Peek("Accept-Encoding"), []byte("gzip"))
	ctx.SetContentType(string(format))
	if gz {
		ctx.Response.Header.Set("Content-Encoding", "gzip")
	}
	ctx.SetBodyStreamWriter(func(bw *bufio.Writer) {
		var w io.Writer = bw
		var zw *gzip.Writer
		if gz {
			zw, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
			w = zw
		}
		if err := s.writeMetrics(w, format, openMetrics, families); err != nil {
			s.log.Warn("metrics scrape cut short", "err", err)
		}
		if zw != nil {
			zw.Close()
		}
	})
}

func (s *Server) writeMetrics(w io.Writer, format expfmt.Format, openMetrics bool, families []*dto.MetricFamily) error {
	enc := expfmt.NewEncoder(w, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	if s.series != nil {
		f := aggregate.FormatText
		if openMetrics {
			f = aggregate.FormatOpenMetrics
		}
		if err := s.series.WriteExposition(w, f); err != nil {
			return err
		}
	}
	if openMetrics {
		_, err := io.WriteString(w, "# EOF\n")
		return err
	}
	return nil
}

type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Warn("fasthttp", "msg", fmt.Sprintf(format, args...))
}
