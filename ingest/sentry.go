package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/ingest/envelope"
)

// SentryConfig holds the limits of the Sentry ingest endpoints.
type SentryConfig struct {
	// MaxBodySize bounds a request body after decompression; decompression
	// stops after this many bytes (a gzip bomb costs at most this much).
	// Default 20 MiB.
	MaxBodySize int
	// MaxEventSize bounds one event item (413 above). Default 1 MiB.
	MaxEventSize int
	// MaxItems bounds the items of one envelope. Default 100.
	MaxItems int
	// MaxDepth bounds JSON nesting. Default 64.
	MaxDepth int
	// SubmitTimeout bounds the wait for an event's durable commit.
	// Default 30 s.
	SubmitTimeout time.Duration
}

// Sentry answers the Sentry ingest endpoints, POST /api/{project}/envelope/
// and /api/{project}/store/, with CORS for browser SDKs. An event is
// answered 200 only once the tracker has made it durable.
type Sentry struct {
	cfg     SentryConfig
	tracker *issues.Tracker
	log     *slog.Logger

	limMu    sync.Mutex
	limiters map[uint32]*rate.Limiter

	zstdDec *zstd.Decoder

	// exceptions spares an event that repeats an earlier event's exception
	// value the decoding of its stack traces, and, through the memo of
	// each entry, their grouping (envelope.ExceptionCache, grouping's
	// memo.go); memos counts the groupings found there.
	exceptions *envelope.ExceptionCache
	memos      grouping.MemoStats

	requests *prometheus.CounterVec
	// okEnvelope and okStore count the 200 answers of requests: looked up
	// once rather than by label on every request.
	okEnvelope, okStore prometheus.Counter
	items               *prometheus.CounterVec
	rejected            *prometheus.CounterVec
	discarded           *prometheus.CounterVec
	// projectEvents counts events by project (slug) and outcome; projects
	// are configured, so the label is bounded.
	projectEvents *prometheus.CounterVec
}

// exceptionCacheSize is the size of a generation of the exception cache:
// up to twice as many distinct exception values, at some 15 KB each (with
// their grouping) for a 20-frame stack trace.
const exceptionCacheSize = 256

// NewSentry returns the ingest endpoints over tracker.
func NewSentry(cfg SentryConfig, tracker *issues.Tracker, reg prometheus.Registerer, log *slog.Logger) (*Sentry, error) {
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = 20 << 20
	}
	if cfg.MaxEventSize <= 0 {
		cfg.MaxEventSize = envelope.DefaultMaxEventSize
	}
	if cfg.MaxItems <= 0 {
		cfg.MaxItems = envelope.DefaultMaxItems
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = envelope.DefaultMaxDepth
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxMemory(uint64(cfg.MaxBodySize)+1))
	if err != nil {
		return nil, err
	}
	s := &Sentry{
		cfg: cfg, tracker: tracker, log: log, limiters: map[uint32]*rate.Limiter{}, zstdDec: dec,
		exceptions: envelope.NewExceptionCache(exceptionCacheSize),
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_requests_total",
		Help: "Sentry ingest requests by endpoint (envelope, store) and status code.",
	}, []string{"endpoint", "code"})
	s.items = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_items_total",
		Help: "Envelope items by type and outcome: stored (events), accepted (counted, not stored), rejected.",
	}, []string{"type", "outcome"})
	s.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_rejected_total",
		Help: "Sentry requests rejected, by reason.",
	}, []string{"reason"})
	s.discarded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_client_discarded_events_total",
		Help: "Events SDKs report (client reports) they discarded, by reason and category.",
	}, []string{"reason", "category"})
	s.projectEvents = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_sentry_project_events_total",
		Help: "Error events stored by project (slug), and requests to the project rejected or rate limited (each carries at most one event).",
	}, []string{"project", "outcome"})
	s.okEnvelope, s.okStore = s.requests.WithLabelValues("envelope", "200"), s.requests.WithLabelValues("store", "200")
	// Every project's series start at zero, so that the metric history
	// (and stats_v2 over it) counts the events of the first flush too.
	for _, p := range tracker.Projects() {
		for _, o := range []string{"stored", "rejected", "rate_limited"} {
			s.projectEvents.WithLabelValues(p.Slug, o)
		}
	}
	lookups := func(cache, result string, stats func() (uint64, uint64)) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "telltale_sentry_cache_lookups_total",
			Help:        "Lookups of events' exception values in the decoded-exceptions cache, and of their grouping in the memo of the cached exceptions, by result.",
			ConstLabels: prometheus.Labels{"cache": cache, "result": result},
		}, func() float64 {
			hits, misses := stats()
			if result == "hit" {
				return float64(hits)
			}
			return float64(misses)
		})
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{
			s.requests, s.items, s.rejected, s.discarded, s.projectEvents,
			lookups("exceptions", "hit", s.exceptions.Stats), lookups("exceptions", "miss", s.exceptions.Stats),
			lookups("grouping", "hit", s.memos.Stats), lookups("grouping", "miss", s.memos.Stats),
		} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("ingest: cannot register metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Close releases the decoders.
func (s *Sentry) Close() { s.zstdDec.Close() }

// ingestError is a rejection with its status and counter reason.
type ingestError struct {
	code   int
	reason string
	detail string
	// retryAfter is set for 429.
	retryAfter int
	scope      string
}

func (e *ingestError) Error() string { return e.detail }

func reject(code int, reason, format string, args ...any) *ingestError {
	return &ingestError{code: code, reason: reason, detail: fmt.Sprintf(format, args...)}
}

// Handle answers ctx if its path is a Sentry ingest endpoint and reports
// whether it did.
func (s *Sentry) Handle(ctx *fasthttp.RequestCtx) bool {
	// The path is read as bytes: every HTTP request comes through here,
	// and a string copy of it had cost an allocation per request.
	path := ctx.Path()
	i := bytes.Index(path, []byte("/api/"))
	if i < 0 {
		return false
	}
	rest := path[i+len("/api/"):]
	slash := bytes.IndexByte(rest, '/')
	if slash <= 0 {
		return false
	}
	var endpoint string
	switch string(bytes.Trim(rest[slash:], "/")) {
	case "envelope":
		endpoint = "envelope"
	case "store":
		endpoint = "store"
	default:
		return false
	}
	pid, err := strconv.ParseUint(string(rest[:slash]), 10, 32)
	if err != nil {
		return false
	}
	s.cors(ctx)
	if ctx.IsOptions() {
		ctx.SetStatusCode(fasthttp.StatusOK)
		return true
	}
	if !ctx.IsPost() {
		s.fail(ctx, endpoint, reject(fasthttp.StatusMethodNotAllowed, "method", "use POST"))
		return true
	}
	id, ierr := s.serve(ctx, uint32(pid), endpoint)
	if ierr != nil {
		s.fail(ctx, endpoint, ierr)
		return true
	}
	ctx.SetContentType("application/json")
	if id == "" {
		ctx.SetBodyString("{}")
	} else {
		ctx.Response.AppendBodyString(`{"id":"`)
		ctx.Response.AppendBodyString(id)
		ctx.Response.AppendBodyString(`"}`)
	}
	if endpoint == "store" {
		s.okStore.Inc()
	} else {
		s.okEnvelope.Inc()
	}
	return true
}

// CORS header names and values, as bytes: set with SetCanonical on every
// response, they skip fasthttp's normalising of a header name.
var (
	corsAllowOrigin    = []byte("Access-Control-Allow-Origin")
	corsVary           = []byte("Vary")
	corsOrigin         = []byte("Origin")
	corsAny            = []byte("*")
	corsExposeHeaders  = []byte("Access-Control-Expose-Headers")
	corsExposed        = []byte("x-sentry-error, x-sentry-rate-limits, retry-after")
	corsAllowMethods   = []byte("Access-Control-Allow-Methods")
	corsMethods        = []byte("POST, OPTIONS")
	corsAllowHeaders   = []byte("Access-Control-Allow-Headers")
	corsAllowedHeaders = []byte("x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, authentication, authorization, content-encoding, transfer-encoding, baggage, sentry-trace")
	corsMaxAge         = []byte("Access-Control-Max-Age")
	corsMaxAgeValue    = []byte("3600")
)

// cors adds the headers browser SDKs need (Relay's list): the allowed
// origin and the headers a script may read on every answer, and what may
// be sent only on a preflight (OPTIONS), the one answer a browser reads
// them from.
func (s *Sentry) cors(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	if origin := ctx.Request.Header.PeekBytes(corsOrigin); len(origin) > 0 {
		h.SetCanonical(corsAllowOrigin, origin)
		h.SetCanonical(corsVary, corsOrigin)
	} else {
		h.SetCanonical(corsAllowOrigin, corsAny)
	}
	h.SetCanonical(corsExposeHeaders, corsExposed)
	if ctx.IsOptions() {
		h.SetCanonical(corsAllowMethods, corsMethods)
		h.SetCanonical(corsAllowHeaders, corsAllowedHeaders)
		h.SetCanonical(corsMaxAge, corsMaxAgeValue)
	}
}

func (s *Sentry) fail(ctx *fasthttp.RequestCtx, endpoint string, e *ingestError) {
	s.rejected.WithLabelValues(e.reason).Inc()
	if e.code == fasthttp.StatusTooManyRequests {
		ra := strconv.Itoa(max(e.retryAfter, 1))
		ctx.Response.Header.Set("Retry-After", ra)
		ctx.Response.Header.Set("X-Sentry-Rate-Limits", ra+"::"+e.scope+":"+e.reason)
	}
	ctx.Response.Header.Set("X-Sentry-Error", e.detail)
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{e.detail})
	ctx.SetStatusCode(e.code)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	s.requests.WithLabelValues(endpoint, strconv.Itoa(e.code)).Inc()
}

// serve authenticates, decodes and stores one request; it returns the
// event id ("" for an envelope without an event).
func (s *Sentry) serve(ctx *fasthttp.RequestCtx, pid uint32, endpoint string) (id string, ierr *ingestError) {
	proj, ok := s.tracker.Project(pid)
	if !ok {
		return "", reject(fasthttp.StatusNotFound, "unknown_project", "project %d does not exist", pid)
	}
	defer func() {
		switch {
		case ierr != nil && ierr.reason == "rate_limited":
			s.projectEvents.WithLabelValues(proj.Slug, "rate_limited").Inc()
		case ierr != nil:
			s.projectEvents.WithLabelValues(proj.Slug, "rejected").Inc()
		case id != "":
			s.projectEvents.WithLabelValues(proj.Slug, "stored").Inc()
		}
	}()
	key, ierr := requestKey(ctx)
	if ierr != nil {
		return "", ierr
	}
	// The body (decompressed or not) is used up before serve returns: an
	// event is decoded in place, and its strings share the body's memory,
	// but the tracker no longer reads it once Submit has returned (which
	// is before store does), and what the issue state keeps is cloned.
	sc := getReqScratch()
	defer putReqScratch(sc)
	body, ierr := s.body(ctx, &sc.body)
	if ierr != nil {
		return "", ierr
	}
	var payload []byte
	if endpoint == "store" {
		if key == "" {
			return "", reject(fasthttp.StatusUnauthorized, "auth_missing", "missing authentication (X-Sentry-Auth or sentry_key)")
		}
		// MaxEventSize also stops the inflating of a base64+zlib body.
		p, err := envelope.StorePayload(body, s.cfg.MaxEventSize)
		if err != nil {
			if errors.Is(err, envelope.ErrTooLarge) {
				s.items.WithLabelValues("event", "rejected").Inc()
			}
			return "", parseReject(err)
		}
		payload = p
	}
	env := &sc.env
	if endpoint == "envelope" {
		err := env.Parse(body, envelope.Limits{MaxItems: s.cfg.MaxItems, MaxEventSize: s.cfg.MaxEventSize, MaxDepth: s.cfg.MaxDepth})
		if err != nil {
			return "", parseReject(err)
		}
		if env.Header.DSN != "" {
			dsn, err := sc.parseDSN(env.Header.DSN)
			if err != nil {
				return "", reject(fasthttp.StatusUnauthorized, "auth_invalid", "bad dsn in envelope header")
			}
			if key != "" && dsn.Key != key {
				return "", reject(fasthttp.StatusUnauthorized, "auth_invalid", "the envelope's dsn and the request's key differ")
			}
			key = dsn.Key
		}
		if key == "" {
			return "", reject(fasthttp.StatusUnauthorized, "auth_missing", "missing authentication (X-Sentry-Auth, sentry_key or envelope dsn)")
		}
	}
	if !proj.HasKey(key) {
		return "", reject(fasthttp.StatusForbidden, "auth_invalid", "unknown or revoked key for project %d", pid)
	}
	if lim := s.limiter(&proj); lim != nil && !lim.Allow() {
		e := reject(fasthttp.StatusTooManyRequests, "rate_limited", "project %d is over its rate limit", pid)
		e.retryAfter, e.scope = 1, "key"
		return "", e
	}

	var raw []byte
	headerID := ""
	if endpoint == "store" {
		raw = payload
	} else {
		headerID = env.Header.EventID
		for i := range env.Items {
			it := &env.Items[i]
			switch it.Type {
			case "event":
				if raw != nil {
					s.items.WithLabelValues("event", "rejected").Inc()
					return "", reject(fasthttp.StatusBadRequest, "duplicate_event", "more than one event item")
				}
				raw = it.Payload
			case "client_report":
				s.items.WithLabelValues(it.Type, "accepted").Inc()
				s.clientReport(it.Payload)
			default:
				s.items.WithLabelValues(itemType(it.Type), "accepted").Inc()
			}
		}
		if raw == nil {
			return "", nil
		}
	}
	id, ierr = s.store(ctx, sc, &proj, raw, headerID)
	if ierr != nil {
		s.items.WithLabelValues("event", "rejected").Inc()
		return "", ierr
	}
	s.items.WithLabelValues("event", "stored").Inc()
	return id, nil
}

// itemType bounds the type label of telltale_sentry_items_total.
func itemType(t string) string {
	if envelope.KnownItemType(t) {
		return t
	}
	return "unknown"
}

func parseReject(err error) *ingestError {
	switch {
	case errors.Is(err, envelope.ErrTooLarge), errors.Is(err, envelope.ErrTooManyItems):
		return reject(fasthttp.StatusRequestEntityTooLarge, envelope.Reason(err), "%v", err)
	default:
		return reject(fasthttp.StatusBadRequest, envelope.Reason(err), "%v", err)
	}
}

// requestKey returns the key of X-Sentry-Auth, Authorization: Sentry, or
// the query string, whichever is present ("" if none).
func requestKey(ctx *fasthttp.RequestCtx) (string, *ingestError) {
	for _, h := range []string{"X-Sentry-Auth", "Authorization"} {
		v := ctx.Request.Header.Peek(h)
		if len(v) == 0 || (h == "Authorization" && (len(v) < 7 || !bytes.EqualFold(v[:7], []byte("sentry ")))) {
			continue
		}
		// A view of the header, not a copy: the key is only compared
		// while the request is handled, and an error message is
		// formatted (copied) at once.
		a, err := envelope.ParseAuthHeader(unsafe.String(unsafe.SliceData(v), len(v)))
		if err != nil {
			return "", reject(fasthttp.StatusUnauthorized, "auth_invalid", "%v", err)
		}
		return a.Key, nil
	}
	if q := ctx.URI().QueryString(); bytes.Contains(q, []byte("sentry_key")) {
		a, err := envelope.ParseAuthQuery(string(q))
		if err != nil {
			return "", reject(fasthttp.StatusUnauthorized, "auth_invalid", "%v", err)
		}
		return a.Key, nil
	}
	return "", nil
}

// body returns the request body decompressed per Content-Encoding, reading
// at most MaxBodySize+1 bytes of output into buf.
func (s *Sentry) body(ctx *fasthttp.RequestCtx, buf *bytes.Buffer) ([]byte, *ingestError) {
	raw := ctx.Request.Body()
	enc := strings.ToLower(strings.TrimSpace(string(ctx.Request.Header.Peek("Content-Encoding"))))
	var r io.Reader
	var err error
	switch enc {
	case "", "identity":
		if len(raw) > s.cfg.MaxBodySize {
			return nil, reject(fasthttp.StatusRequestEntityTooLarge, "body_too_large", "body exceeds %d bytes", s.cfg.MaxBodySize)
		}
		if len(raw) == 0 {
			return nil, reject(fasthttp.StatusBadRequest, "empty_body", "empty body")
		}
		return raw, nil
	case "gzip", "x-gzip":
		var z *gzip.Reader
		if z, err = getGzipReader(raw); err == nil {
			defer putGzipReader(z)
			r = z
		}
	case "deflate":
		var z io.ReadCloser
		if z, err = getZlibReader(raw); err == nil {
			defer putZlibReader(z)
			r = z
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(raw))
	case "zstd":
		// DecodeAll is goroutine-safe (a stream Reset is not); the
		// decoder's max memory (MaxBodySize+1) stops a bomb.
		out, derr := s.zstdDec.DecodeAll(raw, nil)
		if derr != nil {
			if errors.Is(derr, zstd.ErrDecoderSizeExceeded) || errors.Is(derr, zstd.ErrWindowSizeExceeded) {
				return nil, reject(fasthttp.StatusRequestEntityTooLarge, "body_too_large", "decompressed body exceeds %d bytes", s.cfg.MaxBodySize)
			}
			return nil, reject(fasthttp.StatusBadRequest, "bad_encoding", "zstd: %v", derr)
		}
		if len(out) > s.cfg.MaxBodySize {
			return nil, reject(fasthttp.StatusRequestEntityTooLarge, "body_too_large", "decompressed body exceeds %d bytes", s.cfg.MaxBodySize)
		}
		return out, nil
	default:
		r = bytes.NewReader(raw) // Relay reads unknown encodings as identity
	}
	if err != nil {
		return nil, reject(fasthttp.StatusBadRequest, "bad_encoding", "%s: %v", enc, err)
	}
	if _, err := buf.ReadFrom(io.LimitReader(r, int64(s.cfg.MaxBodySize)+1)); err != nil {
		return nil, reject(fasthttp.StatusBadRequest, "bad_encoding", "%s: %v", enc, err)
	}
	out := buf.Bytes()
	if len(out) > s.cfg.MaxBodySize {
		return nil, reject(fasthttp.StatusRequestEntityTooLarge, "body_too_large", "decompressed body exceeds %d bytes", s.cfg.MaxBodySize)
	}
	if len(out) == 0 {
		return nil, reject(fasthttp.StatusBadRequest, "empty_body", "empty body")
	}
	return out, nil
}

// Decompression state is reused across requests: a new gzip or zlib
// reader allocates about 40 KB of tables, which had been most of what a
// gzipped event cost the allocator. Bodies are read into pooled buffers
// (one bigger than maxBodyBuf is not kept) and framed into pooled
// Envelopes, which Parse fills without allocating once they have grown (a
// fresh one had cost four or five allocations per request).
var (
	reqScratches = sync.Pool{New: func() any { return new(reqScratch) }}
	gzipReaders  sync.Pool // of *gzip.Reader
	zlibReaders  sync.Pool // of io.ReadCloser implementing zlib.Resetter
)

const maxBodyBuf = 256 << 10

// reqScratch is what a request reuses from earlier ones. The decoder,
// grouper and document hold the last event (strings into its body) until
// the next request that uses them: the tracker is done with them once
// Submit has returned.
type reqScratch struct {
	body bytes.Buffer
	env  envelope.Envelope
	dec  envelope.Decoder
	grp  grouping.Grouper
	gev  grouping.Event // what grp groups: Doc.GroupingInto
	doc  issues.Doc
	in   issues.Incoming
	// dsnText and dsn are the last envelope dsn parsed with this scratch:
	// an SDK sends the same one in every envelope, and url.Parse made 1 %
	// of a flood's CPU.
	dsnText string
	dsn     envelope.DSN
}

// parseDSN is envelope.ParseDSN, remembering the last valid dsn.
func (sc *reqScratch) parseDSN(s string) (envelope.DSN, error) {
	if s == sc.dsnText && s != "" {
		return sc.dsn, nil
	}
	// s may point into the request's body, which is reused: the parsed
	// fields must not, nor the text kept to compare.
	s = strings.Clone(s)
	d, err := envelope.ParseDSN(s)
	if err == nil {
		sc.dsnText, sc.dsn = s, d
	}
	return d, err
}

func getReqScratch() *reqScratch { return reqScratches.Get().(*reqScratch) }

func putReqScratch(sc *reqScratch) {
	if sc.body.Cap() > maxBodyBuf {
		return
	}
	sc.body.Reset()
	// Keep few references to the request's body (fasthttp's buffer when
	// it was not compressed): the items' payloads and the Incoming go; the
	// items' strings stay for reuse, and the decoder, grouper and document
	// let go of the event's strings when they next serve.
	for i := range sc.env.Items {
		sc.env.Items[i].Payload = nil
	}
	sc.in, sc.gev = issues.Incoming{}, grouping.Event{}
	reqScratches.Put(sc)
}

func getGzipReader(raw []byte) (*gzip.Reader, error) {
	if z, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := z.Reset(bytes.NewReader(raw)); err != nil {
			gzipReaders.Put(z)
			return nil, err
		}
		return z, nil
	}
	return gzip.NewReader(bytes.NewReader(raw))
}

func putGzipReader(z *gzip.Reader) { gzipReaders.Put(z) }

func getZlibReader(raw []byte) (io.ReadCloser, error) {
	if z, ok := zlibReaders.Get().(io.ReadCloser); ok {
		if err := z.(zlib.Resetter).Reset(bytes.NewReader(raw), nil); err != nil {
			zlibReaders.Put(z)
			return nil, err
		}
		return z, nil
	}
	return zlib.NewReader(bytes.NewReader(raw))
}

func putZlibReader(z io.ReadCloser) { zlibReaders.Put(z) }

func (s *Sentry) limiter(p *issues.Project) *rate.Limiter {
	if p.RateLimit <= 0 {
		return nil
	}
	s.limMu.Lock()
	defer s.limMu.Unlock()
	l, ok := s.limiters[p.ID]
	if !ok || l.Limit() != rate.Limit(p.RateLimit) {
		l = rate.NewLimiter(rate.Limit(p.RateLimit), max(p.RateLimit, 1))
		s.limiters[p.ID] = l
	}
	return l
}

// clientReport counts the discarded events an SDK reports.
func (s *Sentry) clientReport(payload []byte) {
	var rep struct {
		Discarded []struct {
			Reason   string  `json:"reason"`
			Category string  `json:"category"`
			Quantity float64 `json:"quantity"`
		} `json:"discarded_events"`
	}
	if json.Unmarshal(payload, &rep) != nil {
		return
	}
	for _, d := range rep.Discarded {
		if d.Quantity > 0 && len(d.Reason) <= 64 && len(d.Category) <= 32 {
			s.discarded.WithLabelValues(d.Reason, d.Category).Add(d.Quantity)
		}
	}
}

// store decodes, groups and submits one event payload.
func (s *Sentry) store(ctx *fasthttp.RequestCtx, sc *reqScratch, proj *issues.Project, raw []byte, headerID string) (string, *ingestError) {
	// Lean: what only the stored event shows is checked, not built; it is
	// decoded when the event is read (DecodeStoredEvent). In place: raw is
	// the request's memory, which outlives the event's use (see serve).
	sc.dec.Exceptions, sc.grp.Memos = s.exceptions, &s.memos
	ev, err := sc.dec.DecodeLeanInPlace(raw, s.cfg.MaxDepth)
	if err != nil {
		return "", parseReject(err)
	}
	meta := issues.PayloadMeta{EventID: ev.EventID, Timestamp: ev.Timestamp}
	if headerID != "" {
		meta.EventID = headerID
	}
	if meta.EventID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		meta.EventID = hex.EncodeToString(b[:])
	}
	now := time.Now().UTC()
	if meta.Timestamp.IsZero() || meta.Timestamp.After(now.Add(time.Minute)) {
		meta.Timestamp = now
	}
	if ev.User != nil && ev.User.IPAddress == "{{auto}}" {
		meta.ClientIP = ctx.RemoteIP().String()
	}
	normalize(ev, meta)
	// The payload is stored as sent, and the document is made of it again
	// when the event is read (DecodeStoredEvent): the ingest path neither
	// encodes a document nor decodes what only the stored event shows.
	in := &sc.in
	*in = issues.Incoming{Project: proj.ID, Doc: toDoc(&sc.doc, ev), Payload: raw, Meta: meta}
	if _, err := hex.Decode(in.EventID[:], []byte(ev.EventID)); err != nil {
		return "", reject(fasthttp.StatusBadRequest, "bad_event_id", "bad event id %q", ev.EventID)
	}
	in.Group = sc.grp.Group(in.Doc.GroupingInto(&sc.gev))
	// A timeout, not ctx: a context derived from a fasthttp.RequestCtx,
	// which is not one of the context package's own, costs a goroutine per
	// request watching its Done channel (measured: a goroutine wake-up per
	// event in the scheduler trace of a flood). That channel only closes at
	// shutdown, and then the event should still get the answer of its
	// commit, which Close drains.
	if _, err := s.tracker.SubmitTimeout(in, s.cfg.SubmitTimeout); err != nil {
		switch {
		case errors.Is(err, issues.ErrQueueFull):
			e := reject(fasthttp.StatusTooManyRequests, "queue_full", "ingest queue full, retry later")
			e.retryAfter, e.scope = 1, "organization"
			return "", e
		case errors.Is(err, issues.ErrClosed):
			return "", reject(fasthttp.StatusServiceUnavailable, "shutting_down", "shutting down")
		default:
			return "", reject(fasthttp.StatusServiceUnavailable, "storage", "event not stored: %v", err)
		}
	}
	return ev.EventID, nil
}

// normalize applies to a decoded event what the server decided about it
// (meta) and Sentry's defaults: the same on arrival and when the stored
// payload is read back.
func normalize(ev *envelope.Event, meta issues.PayloadMeta) {
	ev.EventID, ev.Timestamp = meta.EventID, meta.Timestamp
	if ev.Platform == "" {
		ev.Platform = "other"
	}
	if ev.Level == "" {
		ev.Level = "error"
	}
	if ev.LogFormatted == "" && ev.LogTemplate != "" && len(ev.LogParams) > 0 {
		ev.LogFormatted = formatLog(ev.LogTemplate, ev.LogParams)
	}
	if ev.User != nil && ev.User.IPAddress == "{{auto}}" && meta.ClientIP != "" {
		ev.User.IPAddress = meta.ClientIP
	}
}

// storedMaxDepth bounds the nesting of a stored payload when it is read
// back. It is generous: the payload passed the ingest limit of its day,
// which a later configuration may have lowered.
const storedMaxDepth = 1024

// DecodeStoredEvent makes the document of an event stored as its payload
// (issues.Config.DecodePayload): the document it had on arrival, with
// everything the SDK sent that the document shows.
func DecodeStoredEvent(payload []byte, meta issues.PayloadMeta) (*issues.Doc, error) {
	ev, err := envelope.DecodeEvent(payload, storedMaxDepth)
	if err != nil {
		return nil, err
	}
	normalize(ev, meta)
	return toDoc(new(issues.Doc), ev), nil
}

// formatLog fills a printf-style logging template (%s, %d, %r, %i, %f…) with
// params in order, as sentry-python's logentry expects the server to.
func formatLog(tmpl string, params []string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c != '%' || i+1 >= len(tmpl) {
			b.WriteByte(c)
			continue
		}
		verb := tmpl[i+1]
		switch {
		case verb == '%':
			b.WriteByte('%')
			i++
		case strings.IndexByte("sdrifgxe", verb) >= 0 && n < len(params):
			b.WriteString(params[n])
			n++
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// toDoc converts a decoded wire event into d, the document whose
// exceptions, threads and frames grouping reads. d's lists are reused (the
// ingest path keeps one Doc per request scratch); the rest is d's anew.
func toDoc(d *issues.Doc, ev *envelope.Event) *issues.Doc {
	exs, ths, tags, crumbs := d.Exceptions[:0], d.Threads[:0], d.Tags[:0], d.Breadcrumbs[:0]
	clear(exs[:cap(exs)])
	clear(ths[:cap(ths)])
	clear(tags[:cap(tags)])
	clear(crumbs[:cap(crumbs)])
	*d = issues.Doc{
		EventID: ev.EventID, Timestamp: ev.Timestamp,
		Platform: ev.Platform, Level: ev.Level, Logger: ev.Logger, ServerName: ev.ServerName,
		Release: ev.Release, Dist: ev.Dist, Environment: ev.Environment, Transaction: ev.Transaction,
		Message: ev.Message, LogTemplate: ev.LogTemplate, LogFormatted: ev.LogFormatted, LogParams: ev.LogParams,
		Fingerprint: ev.Fingerprint, Tags: toTags(tags, ev.Tags), Contexts: ev.Contexts, Extra: ev.Extra,
	}
	// The user is shared, not copied (the two types are the same struct),
	// like the frames: the decoded event is not used after toDoc.
	d.User = (*issues.User)(ev.User)
	if r := ev.Request; r != nil {
		d.Request = &issues.Request{Method: r.Method, URL: r.URL, QueryString: r.QueryString, Headers: toTags(nil, r.Headers), Data: r.Data}
	}
	// Lists stay nil when empty, as the stored JSON has always had them.
	if len(ev.Exceptions) > 0 {
		for _, ex := range ev.Exceptions {
			exs = append(exs, grouping.Exception{
				Type: ex.Type, Value: ex.Value, Module: ex.Module, Synthetic: ex.Synthetic,
				Handled: ex.Handled, MechanismType: ex.MechanismType, Frames: toFrames(ex.Frames),
			})
		}
		d.Exceptions, d.ExceptionsMemo = exs, ev.ExceptionsMemo
	}
	if len(ev.Threads) > 0 {
		for _, th := range ev.Threads {
			ths = append(ths, grouping.Thread{ID: th.ID, Name: th.Name, Crashed: th.Crashed, Current: th.Current, Frames: toFrames(th.Frames)})
		}
		d.Threads = ths
	}
	if len(ev.Breadcrumbs) > 0 {
		for _, b := range ev.Breadcrumbs {
			crumbs = append(crumbs, issues.Breadcrumb(b))
		}
		d.Breadcrumbs = crumbs
	}
	return d
}

// toTags converts ts into dst's memory.
func toTags(dst []issues.Tag, ts []envelope.Tag) []issues.Tag {
	out := slices.Grow(dst[:0], len(ts))
	if out == nil {
		out = []issues.Tag{} // empty, not nil, as the document has always had
	}
	for _, t := range ts {
		out = append(out, issues.Tag(t))
	}
	return out
}

// toFrames converts frames; the two Frame types have the same fields.
func toFrames(fs []envelope.Frame) []grouping.Frame {
	if len(fs) == 0 {
		return []grouping.Frame{}
	}
	// The frames are shared, not copied: the two types are the same struct
	// (the conversion below is what the compiler checks), and the decoded
	// event is not used after toDoc. Copying them had been 5 KB allocated
	// per event, an eighth of all.
	_ = grouping.Frame(fs[0])
	return unsafe.Slice((*grouping.Frame)(unsafe.Pointer(&fs[0])), len(fs))
}
