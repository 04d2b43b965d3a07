// Package load generates a Sentry envelope load: realistic sentry-go shaped
// error events in K groups, sent over N keep-alive connections to
// POST /api/{project}/envelope/, with per-request latency and status counts.
// It is the library behind bench/sentryload, and also serves a null sink
// (NullSink) that answers every envelope at once, to measure the HTTP
// ceiling of the machine.
//
// Events are built from templates made once from the seed: per group, the
// exception (type, value and a 20-frame stack trace whose in-app frames
// differ between groups, so that default grouping makes one issue per
// group); per variant, the rest of the event (tags, user, contexts,
// breadcrumbs, modules, and an extra field that pads it to the configured
// size). Sending event i copies the templates of group i mod K and of a
// seeded variant, and writes its event_id (a bijection of i and the seed)
// and the current time into fixed-width slots.
package load

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("load: invalid config")

// Exception forms of GenConfig.Exception.
const (
	// ExceptionArray sends "exception":[...] as sentry-go does.
	ExceptionArray = "array"
	// ExceptionValues sends "exception":{"values":[...]} as other SDKs do.
	ExceptionValues = "values"
	// ExceptionMixed uses the array for even groups and values for odd ones.
	ExceptionMixed = "mixed"
)

// GenConfig says what events look like.
type GenConfig struct {
	// Groups is the number of distinct groups (issues) events fall into.
	Groups int
	// Size is the target size of the event item's payload in bytes; the
	// events are padded up to it (they are never smaller than about 4 KB,
	// the exception and a few breadcrumbs).
	Size int
	// Exception is ExceptionArray, ExceptionValues or ExceptionMixed.
	Exception string
	// Seed fixes the templates and the event ids.
	Seed uint64
	// DSN goes into the envelope header ("dsn"), as sentry-go sends it.
	DSN string
}

// Placeholders written into templates and overwritten per event.
const (
	idSlot = "EVENTIDEVENTIDEVENTIDEVENTID0000"
	tsSlot = "2000-01-01T00:00:00.000000Z"
	// tsLayout formats tsSlot's width exactly (UTC, microseconds).
	tsLayout = "2006-01-02T15:04:05.000000Z"
	// variantsTotal bounds the number of variant templates.
	variantsTotal = 64
)

// Generator builds envelopes. It is safe for concurrent use: Append only
// reads the templates.
type Generator struct {
	cfg      GenConfig
	groups   [][]byte // exception part of the payload, starting with `,"exception":`
	variants []variant
	envHead  []byte // envelope header line with slots, and the newline
	envID    int    // offset of the id slot in envHead
	envTS    int    // offset of the sent_at slot in envHead
	// Deflate-compressed copies of the parts without slots, for AppendGzip:
	// the envelope header after sent_at, and each group.
	envTailZ []byte
	groupsZ  [][]byte
}

// variant is the payload before the exception: `{"event_id":...` up to the
// last field before the exception, with slots for the id and timestamp.
type variant struct {
	body  []byte
	id    int
	ts    int
	tailZ []byte // body after the timestamp slot, compressed
}

// NewGenerator builds the templates for cfg.
func NewGenerator(cfg GenConfig) (*Generator, error) {
	if cfg.Groups < 1 || cfg.Groups > 1_000_000 {
		return nil, fmt.Errorf("%w: groups must be in [1, 1000000], got %d", ErrConfig, cfg.Groups)
	}
	if cfg.Size < 0 || cfg.Size > 1<<20 {
		return nil, fmt.Errorf("%w: size must be in [0, 1 MiB], got %d", ErrConfig, cfg.Size)
	}
	switch cfg.Exception {
	case "":
		cfg.Exception = ExceptionMixed
	case ExceptionArray, ExceptionValues, ExceptionMixed:
	default:
		return nil, fmt.Errorf("%w: unknown exception form %q", ErrConfig, cfg.Exception)
	}
	g := &Generator{cfg: cfg}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5e471))
	g.groups = make([][]byte, cfg.Groups)
	total := 0
	for i := range g.groups {
		g.groups[i] = buildGroup(rng, i, cfg.Exception)
		total += len(g.groups[i])
	}
	avgGroup := total / cfg.Groups

	head, err := json.Marshal(struct {
		EventID string  `json:"event_id"`
		SentAt  string  `json:"sent_at"`
		DSN     string  `json:"dsn,omitempty"`
		SDK     sdkInfo `json:"sdk"`
	}{idSlot, tsSlot, cfg.DSN, goSDK})
	if err != nil {
		return nil, err
	}
	g.envHead = append(head, '\n')
	g.envID = bytes.Index(g.envHead, []byte(idSlot))
	g.envTS = bytes.Index(g.envHead, []byte(tsSlot))
	g.envTailZ = deflateSegment(g.envHead[g.envTS+len(tsSlot):])
	g.groupsZ = make([][]byte, len(g.groups))
	for i, gp := range g.groups {
		g.groupsZ[i] = deflateSegment(gp)
	}

	nv := min(variantsTotal, max(1, 4096/cfg.Groups))
	g.variants = make([]variant, nv)
	for i := range g.variants {
		body, err := buildVariant(rng, i, cfg.Size-avgGroup-1)
		if err != nil {
			return nil, err
		}
		v := variant{
			body: body,
			id:   bytes.Index(body, []byte(idSlot)),
			ts:   bytes.Index(body, []byte(tsSlot)),
		}
		v.tailZ = deflateSegment(body[v.ts+len(tsSlot):])
		g.variants[i] = v
	}
	return g, nil
}

// Groups returns the number of groups.
func (g *Generator) Groups() int { return len(g.groups) }

// Group returns the group of event i.
func (g *Generator) Group(i uint64) int { return int(i % uint64(len(g.groups))) }

// EventID returns the 32-hex event id of event i, unique per i for a seed.
func (g *Generator) EventID(i uint64) [32]byte {
	a := mix64(i ^ g.cfg.Seed*0x9e3779b97f4a7c15)
	b := mix64(a ^ g.cfg.Seed ^ 0xd1b54a32d192ed03)
	var raw [16]byte
	for k := range 8 {
		raw[k] = byte(a >> (56 - 8*k))
		raw[8+k] = byte(b >> (56 - 8*k))
	}
	var out [32]byte
	hex.Encode(out[:], raw[:])
	return out
}

// Append appends the envelope of event i, sent at now, to dst and returns
// it with the event's group and the length of its event item's payload.
func (g *Generator) Append(dst []byte, i uint64, now time.Time) (env []byte, group, size int) {
	group = g.Group(i)
	v := &g.variants[mix64(i^g.cfg.Seed)%uint64(len(g.variants))]
	id := g.EventID(i)
	var tsBuf [64]byte
	ts := now.UTC().AppendFormat(tsBuf[:0], tsLayout)

	base := len(dst)
	dst = append(dst, g.envHead...)
	copy(dst[base+g.envID:], id[:])
	copy(dst[base+g.envTS:], ts)
	gp := g.groups[group]
	dst = append(dst, `{"type":"event","length":`...)
	size = len(v.body) + len(gp) + 1
	dst = strconv.AppendInt(dst, int64(size), 10)
	dst = append(dst, "}\n"...)
	p := len(dst)
	dst = append(dst, v.body...)
	copy(dst[p+v.id:], id[:])
	copy(dst[p+v.ts:], ts)
	dst = append(dst, gp...)
	dst = append(dst, '}', '\n')
	return dst, group, size
}

// AppendGzip appends the envelope of event i, sent at now, to raw (as
// Append does) and its gzip encoding to dst, and returns both, the group and
// the event size. It costs little more than Append: the parts without slots
// (envelope header tail, the bulk of the variant, the exception) were
// compressed once, each as a self-contained run of deflate blocks ending on
// a byte boundary (a sync flush, no back-reference before its start), and
// the short parts with the id and timestamp go in stored blocks between
// them; only the CRC-32 of the whole is computed per event. Any gzip reader
// inflates it to exactly the envelope Append builds.
func (g *Generator) AppendGzip(dst, raw []byte, i uint64, now time.Time) (gz, env []byte, group, size int) {
	base := len(raw)
	raw, group, size = g.Append(raw, i, now)
	env = raw[base:]
	v := &g.variants[mix64(i^g.cfg.Seed)%uint64(len(g.variants))]
	// The envelope, split at the compressed parts' ends.
	headEnd := g.envTS + len(tsSlot)                   // stored: header up to sent_at
	tailEnd := len(g.envHead)                          // compressed header tail
	bodyTS := len(env) - size - 1 + v.ts + len(tsSlot) // stored: item header, payload up to timestamp
	groupStart := len(env) - 2 - len(g.groups[group])

	dst = append(dst, 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff) // gzip header: deflate, no name, no mtime, unknown OS
	dst = appendStored(dst, env[:headEnd], false)
	dst = append(dst, g.envTailZ...)
	dst = appendStored(dst, env[tailEnd:bodyTS], false)
	dst = append(dst, v.tailZ...)
	dst = append(dst, g.groupsZ[group]...)
	dst = appendStored(dst, env[groupStart+len(g.groups[group]):], true)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(env))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(env)))
	return dst, raw, group, size
}

// deflateSegment compresses b into deflate blocks that end with a sync
// flush (byte-aligned, not final) and refer to nothing before b, so that
// segments compressed this way concatenate into one valid stream.
func deflateSegment(b []byte) []byte {
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	zw.Write(b)
	zw.Flush()
	return buf.Bytes()
}

// appendStored appends b as deflate stored blocks (at most 65 535 bytes
// each), starting on a byte boundary; final marks the last block.
func appendStored(dst, b []byte, final bool) []byte {
	for {
		n := min(len(b), 0xffff)
		last := final && n == len(b)
		if last {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n))
		dst = binary.LittleEndian.AppendUint16(dst, ^uint16(n))
		dst = append(dst, b[:n]...)
		b = b[n:]
		if len(b) == 0 && (last || !final) {
			return dst
		}
	}
}

// mix64 is SplitMix64's finaliser, a bijection of uint64.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type sdkInfo struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Integrations []string `json:"integrations,omitempty"`
	Packages     []pkg    `json:"packages,omitempty"`
}

type pkg struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

var goSDK = sdkInfo{
	Name:         "sentry.go",
	Version:      "0.50.0",
	Integrations: []string{"Environment", "GlobalTags", "IgnoreErrors", "IgnoreTransactions", "Modules"},
	Packages:     []pkg{{"sentry-go", "0.50.0"}},
}

// Word lists for names. Group i's crash function and exception type come
// from verbs[i%len(verbs)] and nouns[i/len(verbs)%len(nouns)] (with a
// numeric suffix past their product), so no two groups share them.
var (
	verbs = []string{"Validate", "Charge", "Render", "Fetch", "Encode", "Decode", "Save", "Load",
		"Publish", "Refund", "Sync", "Notify", "Parse", "Compute", "Resolve", "Schedule"}
	nouns = []string{"Invoice", "Cart", "Order", "Payment", "Ledger", "Session", "Token", "Queue",
		"Export", "Pricing", "Worker", "Search", "Index", "Webhook", "Billing", "Account",
		"Shipment", "Coupon", "Report", "Profile", "Tenant", "Catalog", "Review", "Upload"}
	errValues = []string{"connection reset by peer", "context deadline exceeded", "record not found",
		"invalid character 'x' looking for beginning of value", "assignment to entry in nil map",
		"duplicate key value violates unique constraint", "permission denied", "unexpected EOF",
		"i/o timeout", "index out of range [3] with length 3", "too many open files", "no such host"}
)

// systemFrames are the caller-side frames of a Go HTTP server, outermost
// first: runtime, net/http, a router, middleware (9 frames).
var systemFrames = []frame{
	{Function: "goexit", Module: "runtime", AbsPath: "/usr/local/go/src/runtime/asm_amd64.s", Lineno: 1700},
	{Function: "(*conn).serve", Module: "net/http", AbsPath: "/usr/local/go/src/net/http/server.go", Lineno: 2102},
	{Function: "serverHandler.ServeHTTP", Module: "net/http", AbsPath: "/usr/local/go/src/net/http/server.go", Lineno: 3301},
	{Function: "(*Mux).ServeHTTP", Module: "github.com/go-chi/chi/v5", AbsPath: "/root/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/mux.go", Lineno: 90},
	{Function: "HandlerFunc.ServeHTTP", Module: "net/http", AbsPath: "/usr/local/go/src/net/http/server.go", Lineno: 2220},
	{Function: "RequestID.func1", Module: "github.com/go-chi/chi/v5/middleware", AbsPath: "/root/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/middleware/request_id.go", Lineno: 76},
	{Function: "(*Handler).handle.func1", Module: "github.com/getsentry/sentry-go/http", AbsPath: "/root/go/pkg/mod/github.com/getsentry/sentry-go/http@v0.50.0/sentryhttp.go", Lineno: 119},
	{Function: "Recoverer.func1", Module: "github.com/go-chi/chi/v5/middleware", AbsPath: "/root/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/middleware/recoverer.go", Lineno: 45},
	{Function: "(*Mux).routeHTTP", Module: "github.com/go-chi/chi/v5", AbsPath: "/root/go/pkg/mod/github.com/go-chi/chi/v5@v5.1.0/mux.go", Lineno: 459},
}

type frame struct {
	Function string `json:"function"`
	Module   string `json:"module"`
	AbsPath  string `json:"abs_path"`
	Lineno   int    `json:"lineno"`
	InApp    bool   `json:"in_app"`
}

type exception struct {
	Type       string `json:"type"`
	Value      string `json:"value"`
	Stacktrace struct {
		Frames []frame `json:"frames"`
	} `json:"stacktrace"`
}

// groupNames returns the unique crash function and exception type parts of
// group i.
func groupNames(i int) (verb, noun, suffix string) {
	verb = verbs[i%len(verbs)]
	noun = nouns[i/len(verbs)%len(nouns)]
	if r := i / (len(verbs) * len(nouns)); r > 0 {
		suffix = strconv.Itoa(r + 1)
	}
	return verb, noun, suffix
}

// buildGroup returns `,"exception":...` for group i: 20 frames, caller
// first: 9 system frames (runtime, net/http, router, middleware), then 11
// in-app frames (handler, service, db helpers) ending at the crash site. Sentry groups on the in-app frames' module and
// function and the exception type: the crash frame's function and the type
// are unique per group.
func buildGroup(rng *rand.Rand, i int, form string) []byte {
	verb, noun, suffix := groupNames(i)
	pkgName := strings.ToLower(noun)
	mod := "github.com/acme/shop/internal/" + pkgName
	path := "/build/shop/internal/" + pkgName + "/"
	frames := make([]frame, 0, 20)
	frames = append(frames, systemFrames...)
	handler := nouns[rng.IntN(len(nouns))]
	frames = append(frames,
		frame{"(*Server).handle" + handler, "github.com/acme/shop/internal/api", "/build/shop/internal/api/" + strings.ToLower(handler) + ".go", 20 + rng.IntN(400), true},
		frame{"(*Server).authenticate.func1", "github.com/acme/shop/internal/api", "/build/shop/internal/api/auth.go", 40 + rng.IntN(80), true},
		frame{"(*Server).withTenant.func2", "github.com/acme/shop/internal/api", "/build/shop/internal/api/tenant.go", 30 + rng.IntN(60), true},
	)
	for k := range 4 {
		fn := "(*" + noun + "Service)." + verbs[rng.IntN(len(verbs))] + "Step" + strconv.Itoa(k)
		frames = append(frames, frame{fn, mod, path + "service.go", 50 + rng.IntN(600), true})
	}
	for k, fn := range []string{"withRetry", "(*Tx).run", "(*Repo).exec"} {
		frames = append(frames, frame{fn, "github.com/acme/shop/internal/db", "/build/shop/internal/db/db.go", 30 + 40*k + rng.IntN(40), true})
	}
	// The crash frame, last, unique per group.
	frames = append(frames, frame{"(*" + noun + "Store)." + verb + noun + suffix, mod, path + "store.go", 100 + rng.IntN(300), true})

	var chain []exception
	if i%3 == 0 {
		// A wrapped chain, as sentry-go sends for fmt.Errorf("...: %w"):
		// the cause first, without a stack.
		chain = append(chain, exception{Type: "*pgconn.PgError", Value: errValues[rng.IntN(len(errValues))]})
	}
	e := exception{
		Type:  "*" + pkgName + "." + verb + noun + "Error" + suffix,
		Value: strings.ToLower(verb) + " " + pkgName + " " + strconv.Itoa(rng.IntN(100000)) + ": " + errValues[rng.IntN(len(errValues))],
	}
	e.Stacktrace.Frames = frames
	chain = append(chain, e)
	body, _ := json.Marshal(chain)
	// The cause has no stack trace: drop its empty one.
	body = bytes.Replace(body, []byte(`,"stacktrace":{"frames":null}`), nil, 1)
	out := []byte(`,"exception":`)
	if form == ExceptionValues || (form == ExceptionMixed && i%2 == 1) {
		out = append(out, `{"values":`...)
		out = append(out, body...)
		return append(out, '}')
	}
	return append(out, body...)
}

type breadcrumb struct {
	Type      string         `json:"type,omitempty"`
	Category  string         `json:"category"`
	Message   string         `json:"message,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	Level     string         `json:"level"`
	Timestamp string         `json:"timestamp"`
}

// buildVariant returns the start of a payload, `{"event_id":...` up to the
// field before the exception (no closing brace), padded so that it plus
// room bytes of exception reach about the configured size: room is the
// target minus the exception's average length.
func buildVariant(rng *rand.Rand, v int, room int) ([]byte, error) {
	host := fmt.Sprintf("shop-api-%d", v%8)
	userID := rng.IntN(1_000_000)
	ev := map[string]any{
		"level":       "error",
		"platform":    "go",
		"server_name": host,
		"release":     fmt.Sprintf("shop@1.%d.%d", 4+v%3, rng.IntN(20)),
		"environment": []string{"production", "production", "production", "staging"}[v%4],
		"sdk":         goSDK,
		"transaction": "POST /api/v1/" + strings.ToLower(nouns[rng.IntN(len(nouns))]) + "s/{id}",
		"tags": map[string]string{
			"http.method": "POST", "region": []string{"eu-west-1", "us-east-1", "ap-south-1"}[v%3],
			"tenant": fmt.Sprintf("t-%04x", rng.IntN(1<<16)), "build": fmt.Sprintf("%08x", rng.Uint32()),
			"feature.new_checkout": strconv.FormatBool(v%2 == 0),
		},
		"user": map[string]any{
			"id": strconv.Itoa(userID), "email": fmt.Sprintf("user%d@example.com", userID),
			"ip_address": fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), rng.IntN(256)),
			"username":   fmt.Sprintf("user%d", userID),
		},
		"contexts": map[string]any{
			"device":  map[string]any{"arch": "amd64", "num_cpu": 8},
			"os":      map[string]any{"name": "linux"},
			"runtime": map[string]any{"go_maxprocs": 8, "go_numcgocalls": 1, "go_numroutines": 40 + rng.IntN(400), "name": "go", "version": "go1.26.8"},
			"trace":   map[string]any{"span_id": fmt.Sprintf("%016x", rng.Uint64()), "trace_id": fmt.Sprintf("%016x%016x", rng.Uint64(), rng.Uint64())},
		},
		"request": map[string]any{
			"method": "POST", "url": fmt.Sprintf("https://shop.example.com/api/v1/orders/%d", rng.IntN(1_000_000)),
			"headers": map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)", "Content-Type": "application/json", "Accept": "application/json"},
		},
		"modules": map[string]string{
			"github.com/getsentry/sentry-go": "v0.50.0", "github.com/go-chi/chi/v5": "v5.1.0",
			"github.com/jackc/pgx/v5": "v5.7.1", "golang.org/x/sync": "v0.12.0", "github.com/acme/shop": "(devel)",
		},
	}
	// Fields that precede the exception, in a fixed order: event_id and
	// timestamp first (their slots), then the rest sorted by json.Marshal.
	prefix := []byte(`{"event_id":"` + idSlot + `","timestamp":"` + tsSlot + `"`)
	rest, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	withCrumbs := func(crumbs []breadcrumb, pad string) ([]byte, error) {
		out := append([]byte(nil), prefix...)
		out = append(out, ',')
		out = append(out, rest[1:len(rest)-1]...)
		if len(crumbs) > 0 {
			b, err := json.Marshal(crumbs)
			if err != nil {
				return nil, err
			}
			out = append(out, `,"breadcrumbs":`...)
			out = append(out, b...)
		}
		if pad != "" {
			b, _ := json.Marshal(pad)
			out = append(out, `,"extra":{"payload_padding":`...)
			out = append(out, b...)
			out = append(out, '}')
		}
		return out, nil
	}
	// Breadcrumbs (at most 30) while they fit, then padding to the size.
	var crumbs []breadcrumb
	base := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Add(time.Duration(v) * time.Minute)
	body, err := withCrumbs(nil, "")
	if err != nil {
		return nil, err
	}
	for k := 0; k < 30; k++ {
		c := randomCrumb(rng, base.Add(time.Duration(k)*time.Second))
		next, err := withCrumbs(append(crumbs, c), "")
		if err != nil {
			return nil, err
		}
		if len(next) > room {
			break
		}
		crumbs, body = append(crumbs, c), next
	}
	const padOverhead = len(`,"extra":{"payload_padding":""}`)
	if n := room - len(body) - padOverhead; n > 0 {
		// Text-like padding (words and numbers), which compresses about
		// as well as the rest of an event.
		pad := make([]byte, 0, n+16)
		for len(pad) < n {
			switch rng.IntN(3) {
			case 0:
				pad = append(pad, strings.ToLower(nouns[rng.IntN(len(nouns))])...)
			case 1:
				pad = append(pad, strings.ToLower(verbs[rng.IntN(len(verbs))])...)
			default:
				pad = strconv.AppendInt(pad, int64(rng.IntN(100000)), 10)
			}
			pad = append(pad, ' ')
		}
		return withCrumbs(crumbs, string(pad[:n]))
	}
	return body, nil
}

func randomCrumb(rng *rand.Rand, ts time.Time) breadcrumb {
	table := strings.ToLower(nouns[rng.IntN(len(nouns))])
	c := breadcrumb{Level: "info", Timestamp: ts.Format(time.RFC3339Nano)}
	switch rng.IntN(3) {
	case 0:
		c.Type, c.Category = "http", "http"
		c.Data = map[string]any{"method": "GET", "url": fmt.Sprintf("http://%s-svc.internal:8080/v1/%ss/%d", table, table, rng.IntN(1_000_000)), "status_code": 200}
	case 1:
		c.Type, c.Category = "query", "db.query"
		c.Message = fmt.Sprintf("SELECT id, tenant_id, status, updated_at FROM %s WHERE id = $1 AND tenant_id = $2 -- %d", table, rng.IntN(1_000_000))
	default:
		c.Type, c.Category = "default", "log"
		c.Message = fmt.Sprintf("%s %d processed in %dms", table, rng.IntN(1_000_000), rng.IntN(500))
	}
	return c
}
