package envelope

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const fixtureDir = "../testdata/sentry"

// fixtureMeta is the part of a capture's .meta.json the tests use.
type fixtureMeta struct {
	Path           string              `json:"path"`
	Query          string              `json:"query"`
	Headers        map[string][]string `json:"headers"`
	EnvelopeHeader *struct {
		EventID string `json:"event_id"`
		DSN     string `json:"dsn"`
		SentAt  string `json:"sent_at"`
		SDK     struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"sdk"`
	} `json:"envelope_header"`
	Items []struct {
		Header struct {
			Type        string `json:"type"`
			Length      *int   `json:"length"`
			ContentType string `json:"content_type"`
			ItemCount   int    `json:"item_count"`
		} `json:"header"`
		PayloadLen int `json:"payload_len"`
	} `json:"items"`
	ResponseStatus int `json:"response_status"`
}

// fixture is one captured request: its metadata and its decompressed body.
type fixture struct {
	name      string // e.g. "go/0001-panic-nil-map"
	meta      fixtureMeta
	body      []byte // after Content-Encoding
	truncated bool   // only the first 4 KiB of the body were kept
}

// loadFixtures reads every capture under testdata/sentry (and the flood
// envelope, which has no .meta.json).
func loadFixtures(tb testing.TB) []fixture {
	tb.Helper()
	metas, err := filepath.Glob(filepath.Join(fixtureDir, "*", "*.meta.json"))
	if err != nil || len(metas) == 0 {
		tb.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	var fs []fixture
	for _, m := range metas {
		base := strings.TrimSuffix(m, ".meta.json")
		f := fixture{name: strings.TrimPrefix(filepath.ToSlash(base), fixtureDir+"/")}
		raw, err := os.ReadFile(m)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(raw, &f.meta); err != nil {
			tb.Fatalf("%s: %v", m, err)
		}
		body, err := os.ReadFile(base + ".body")
		if errors.Is(err, os.ErrNotExist) {
			body, err = os.ReadFile(base + ".body-first-4KiB")
			f.truncated = true
		}
		if err != nil {
			tb.Fatal(err)
		}
		if enc := f.meta.Headers["Content-Encoding"]; len(enc) > 0 && enc[0] == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				tb.Fatalf("%s: %v", f.name, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				tb.Fatalf("%s: %v", f.name, err)
			}
			if dec, err := os.ReadFile(base + ".decoded"); err == nil && !bytes.Equal(dec, body) {
				tb.Fatalf("%s: gunzipped body differs from .decoded", f.name)
			}
		}
		f.body = body
		fs = append(fs, f)
	}
	flood, err := os.ReadFile(filepath.Join(fixtureDir, "flood", "flood-event-envelope.body"))
	if err != nil {
		tb.Fatal(err)
	}
	return append(fs, fixture{name: "flood/flood-event-envelope", meta: fixtureMeta{Path: "/api/1/envelope/"}, body: flood})
}

// TestFixtures parses every captured request like the server will, checks
// the framing against what the capturing sink recorded, decodes every event
// and checks concrete values per capture.
func TestFixtures(t *testing.T) {
	checked := map[string]bool{}
	var e Envelope
	for _, f := range loadFixtures(t) {
		t.Run(f.name, func(t *testing.T) {
			var events []*Event
			if strings.HasSuffix(f.meta.Path, "/store/") {
				payload, err := StorePayload(f.body, 0)
				if err != nil {
					t.Fatalf("StorePayload: %v", err)
				}
				ev, err := DecodeEvent(payload, 0)
				if err != nil {
					t.Fatalf("DecodeEvent: %v", err)
				}
				events = append(events, ev)
			} else {
				err := e.Parse(f.body, Limits{})
				if f.truncated {
					// 0048: a 1.25 MiB event item, which the sink (like
					// Relay) answered with 413; only its head was kept, and
					// the length header alone must give ErrTooLarge.
					if !errors.Is(err, ErrTooLarge) || f.meta.ResponseStatus != 413 {
						t.Fatalf("got %v, want ErrTooLarge (sink answered %d)", err, f.meta.ResponseStatus)
					}
					checked[f.name] = true
					return
				}
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkFraming(t, &f, &e)
				for _, it := range e.Items {
					if it.Type != "event" && it.Type != "transaction" {
						continue
					}
					ev, err := DecodeEvent(it.Payload, 0)
					if err != nil {
						t.Fatalf("DecodeEvent(%s): %v", it.Type, err)
					}
					if it.Type == "event" {
						if ev.EventID != e.Header.EventID {
							t.Errorf("got payload event id %q, header %q", ev.EventID, e.Header.EventID)
						}
						events = append(events, ev)
					}
				}
			}
			if check := fixtureChecks[f.name]; check != nil {
				check(t, events)
				checked[f.name] = true
			} else if len(events) > 0 {
				t.Errorf("no concrete checks for a fixture with %d events", len(events))
			}
		})
	}
	for name := range fixtureChecks {
		if !checked[name] {
			t.Errorf("fixture %s checked by no run", name)
		}
	}
}

// checkFraming compares a parsed envelope with the sink's record.
func checkFraming(t *testing.T, f *fixture, e *Envelope) {
	t.Helper()
	if h := f.meta.EnvelopeHeader; h != nil {
		if e.Header.EventID != h.EventID || e.Header.DSN != h.DSN || e.Header.SDKName != h.SDK.Name || e.Header.SDKVersion != h.SDK.Version {
			t.Errorf("got header %+v, want %+v", e.Header, *h)
		}
		want, err := time.Parse(time.RFC3339Nano, h.SentAt)
		if err != nil || !e.Header.SentAt.Equal(want) {
			t.Errorf("got sent_at %v, want %v (%v)", e.Header.SentAt, want, err)
		}
	}
	if f.meta.Items == nil { // flood
		return
	}
	if len(e.Items) != len(f.meta.Items) {
		t.Fatalf("got %d items, want %d", len(e.Items), len(f.meta.Items))
	}
	for i, w := range f.meta.Items {
		it := e.Items[i]
		if it.Type != w.Header.Type || len(it.Payload) != w.PayloadLen || it.HasLength != (w.Header.Length != nil) ||
			it.ContentType != w.Header.ContentType || it.ItemCount != w.Header.ItemCount {
			t.Errorf("item %d: got %+v, want %+v", i, it, w)
		}
		if !json.Valid(it.Payload) {
			t.Errorf("item %d: payload is not JSON: %q", i, it.Payload)
		}
	}
}

// Helpers for the per-fixture checks.

func wantEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func wantDeep(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
}

func oneEvent(t *testing.T, evs []*Event) *Event {
	t.Helper()
	if len(evs) != 1 {
		t.Fatalf("got %d events, want 1", len(evs))
	}
	return evs[0]
}

func tagValue(ev *Event, key string) string {
	for _, tg := range ev.Tags {
		if tg.Key == key {
			return tg.Value
		}
	}
	return "<missing>"
}

func inApps(fr []Frame) string {
	var b strings.Builder
	for _, f := range fr {
		switch {
		case f.InApp == nil:
			b.WriteByte('?')
		case *f.InApp:
			b.WriteByte('T')
		default:
			b.WriteByte('F')
		}
	}
	return b.String()
}

// checkGoEvent checks what every sentry-go capture shares.
func checkGoEvent(t *testing.T, ev *Event, level, label string) {
	t.Helper()
	wantEq(t, "platform", ev.Platform, "go")
	wantEq(t, "level", ev.Level, level)
	wantEq(t, "release", ev.Release, "sdkcheck@1.4.2")
	wantEq(t, "environment", ev.Environment, "sdkcheck-staging")
	wantEq(t, "server_name", ev.ServerName, "sdkcheck-host")
	wantEq(t, "tag sdkcheck.label", tagValue(ev, "sdkcheck.label"), label)
	wantEq(t, "tag sdkcheck.run", tagValue(ev, "sdkcheck.run"), "f7b3c338")
	if ev.Timestamp.Year() != 2026 || ev.Timestamp.Nanosecond()%1000 == 0 {
		t.Errorf("got timestamp %v, want a nanosecond RFC 3339 time in 2026", ev.Timestamp)
	}
	if !bytes.Contains(ev.Contexts, []byte(`"go_maxprocs":2`)) {
		t.Errorf("contexts not kept raw: %s", ev.Contexts)
	}
	for _, x := range ev.Exceptions {
		for _, fr := range x.Frames {
			if fr.Filename != "" || fr.ContextLine != "" || fr.AbsPath == "" || fr.Module != "main" {
				t.Errorf("sentry-go frame shape: got %+v", fr)
			}
		}
	}
}

// checkNodeEvent checks what every @sentry/node event capture shares.
func checkNodeEvent(t *testing.T, ev *Event, level, label string) {
	t.Helper()
	wantEq(t, "platform", ev.Platform, "node")
	wantEq(t, "level", ev.Level, level)
	wantEq(t, "release", ev.Release, "sendjs@2.0.1")
	wantEq(t, "environment", ev.Environment, "sendjs-staging")
	wantEq(t, "tag sdkcheck.label", tagValue(ev, "sdkcheck.label"), label)
	wantEq(t, "tag sdkcheck.run", tagValue(ev, "sdkcheck.run"), "15472a91")
	// @sentry/node sends float seconds with millisecond precision.
	if ev.Timestamp.Year() != 2026 || ev.Timestamp.Nanosecond()%int(time.Millisecond) != 0 || ev.Timestamp.Unix() < 1795652703 || ev.Timestamp.Unix() > 1795652704 {
		t.Errorf("got timestamp %v, want float seconds 1795652703.xxx", ev.Timestamp)
	}
	if len(ev.Exceptions) != 1 {
		t.Fatalf("got %d exceptions, want 1", len(ev.Exceptions))
	}
	x := ev.Exceptions[0]
	wantEq(t, "mechanism", x.MechanismType, "generic")
	if x.Handled == nil || !*x.Handled {
		t.Errorf("got handled %v, want true", x.Handled)
	}
	for _, fr := range x.Frames {
		if fr.Filename == "" || fr.Function == "" || fr.Lineno == 0 || fr.Colno == 0 || fr.InApp == nil {
			t.Errorf("node frame shape: got %+v", fr)
		}
	}
}

func checkNodeException(t *testing.T, ev *Event, typ, value, inApp string) {
	t.Helper()
	x := ev.Exceptions[0]
	wantEq(t, "type", x.Type, typ)
	wantEq(t, "value", x.Value, value)
	wantEq(t, "in_app", inApps(x.Frames), inApp)
}

func checkPython(t *testing.T, ev *Event, level string) {
	t.Helper()
	wantEq(t, "platform", ev.Platform, "python")
	wantEq(t, "level", ev.Level, level)
	wantEq(t, "release", ev.Release, "pysend@0.3.0")
	wantEq(t, "server_name", ev.ServerName, "vm")
	if ev.Timestamp.Nanosecond()%1000 != 0 || ev.Timestamp.Nanosecond() == 0 {
		t.Errorf("got timestamp %v, want microseconds", ev.Timestamp)
	}
	if len(ev.Breadcrumbs) != 0 {
		t.Errorf("got %d breadcrumbs from {\"values\":[]}", len(ev.Breadcrumbs))
	}
	if !bytes.Contains(ev.Extra, []byte(`"sys.argv"`)) {
		t.Errorf("extra not kept raw: %s", ev.Extra)
	}
}

var fixtureChecks = map[string]func(t *testing.T, evs []*Event){
	"go/0001-panic-nil-map": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkGoEvent(t, ev, "fatal", "panic-nil-map")
		wantEq(t, "timestamp", ev.Timestamp, time.Date(2026, 11, 26, 0, 25, 2, 462808707, time.UTC))
		// sentry-go sends "exception" as a bare array.
		if len(ev.Exceptions) != 1 {
			t.Fatalf("got %d exceptions, want 1", len(ev.Exceptions))
		}
		x := ev.Exceptions[0]
		wantEq(t, "type", x.Type, "runtime.plainError")
		wantEq(t, "value", x.Value, "assignment to entry in nil map")
		wantEq(t, "in_app", inApps(x.Frames), "TTTTT")
		wantEq(t, "last frame", x.Frames[4].Function, "panicNilMap")
		wantEq(t, "last lineno", x.Frames[4].Lineno, 62)
		wantEq(t, "abs_path", x.Frames[4].AbsPath, "/home/devs/src/tools/sentry-load/cmd/sdkcheck/scenarios.go")
	},
	"go/0020-err-wrapped-chain": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkGoEvent(t, ev, "error", "err-wrapped-chain")
		if len(ev.Exceptions) != 2 {
			t.Fatalf("got %d exceptions, want 2", len(ev.Exceptions))
		}
		root, outer := ev.Exceptions[0], ev.Exceptions[1]
		wantEq(t, "root type", root.Type, "*main.DBError")
		wantEq(t, "root mechanism", root.MechanismType, "chained")
		wantEq(t, "root frames", len(root.Frames), 0)
		wantEq(t, "outer type", outer.Type, "*fmt.wrapError")
		wantEq(t, "outer value", outer.Value, "load user 7: db: deadlock detected (code 1205)")
		wantEq(t, "outer mechanism", outer.MechanismType, "generic")
		wantEq(t, "outer frames", inApps(outer.Frames), "TTTT")
		if outer.Handled != nil {
			t.Errorf("got handled %v, want nil (not sent)", *outer.Handled)
		}
	},
	"go/0036-fingerprint-custom": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkGoEvent(t, ev, "error", "fingerprint-custom")
		if len(ev.Fingerprint) != 1 || ev.Fingerprint[0] != "sdkcheck-payment-gateway-timeout" {
			t.Errorf("got fingerprint %q", ev.Fingerprint)
		}
		wantEq(t, "type", ev.Exceptions[0].Type, "*main.GatewayError")
		wantEq(t, "frames", len(ev.Exceptions[0].Frames), 5)
	},
	"go/0047-rich-context": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkGoEvent(t, ev, "warning", "rich-context")
		wantEq(t, "tags", len(ev.Tags), 4)
		wantEq(t, "tag region", tagValue(ev, "region"), "eu-west-1")
		wantEq(t, "tag customer_tier", tagValue(ev, "customer_tier"), "gold")
		if ev.User == nil {
			t.Fatal("no user")
		}
		wantDeep(t, "user", *ev.User, User{ID: "u-4242", Email: "alice@example.com", Username: "alice", IPAddress: "203.0.113.7"})
		r := ev.Request
		if r == nil {
			t.Fatal("no request")
		}
		wantEq(t, "method", r.Method, "POST")
		wantEq(t, "url", r.URL, "http://shop.example.com/checkout")
		wantEq(t, "query", r.QueryString, "cart=77")
		if len(r.Headers) != 2 || r.Headers[0] != (Tag{"Host", "shop.example.com"}) || r.Headers[1] != (Tag{"User-Agent", "sdkcheck-browser/1.0"}) {
			t.Errorf("got headers %v", r.Headers)
		}
		// sentry-go sends breadcrumbs as a bare list.
		if len(ev.Breadcrumbs) != 3 {
			t.Fatalf("got %d breadcrumbs, want 3", len(ev.Breadcrumbs))
		}
		wantDeep(t, "breadcrumb", ev.Breadcrumbs[2], Breadcrumb{Timestamp: time.Date(2026, 11, 26, 0, 25, 2, 464124060, time.UTC), Category: "http", Message: "GET /api/cart/2", Level: "info"})
		wantEq(t, "type", ev.Exceptions[0].Type, "*main.OrderError")
		wantEq(t, "function", ev.Exceptions[0].Frames[3].Function, "1")
	},
	"go/0049-transaction+client_report": func(t *testing.T, evs []*Event) {
		wantEq(t, "events", len(evs), 0)
	},
	"node/0003-node-range-error-numbers": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-range-error-numbers")
		wantEq(t, "timestamp", ev.Timestamp, time.UnixMilli(1795652703859).UTC())
		checkNodeException(t, ev, "RangeError", "index 0 out of range for length 3 (request 1000)", "TTFFFFTTTT")
		fr := ev.Exceptions[0].Frames[0]
		wantEq(t, "filename", fr.Filename, "/home/devs/src/tools/sentry-node/send.js")
		wantEq(t, "module", fr.Module, "send")
		wantEq(t, "context_line", fr.ContextLine, "    labelled('node-range-error-numbers', () => siteRange(i));")
		wantEq(t, "pre_context", len(fr.PreContext), 5)
		wantEq(t, "post_context", len(fr.PostContext), 5)
		wantEq(t, "colno", fr.Colno, 5)
	},
	"node/0004-node-null-deref": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-null-deref")
		checkNodeException(t, ev, "TypeError", "Cannot read properties of null (reading 'name')", "TTTFFFFTTT")
	},
	"node/0007-node-msg-cache-miss": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "info", "node-msg-cache-miss")
		wantEq(t, "message", ev.Message, "cache miss for key user:4000 after 12ms")
		// captureMessage with attachStacktrace: a synthetic exception
		// without a type.
		checkNodeException(t, ev, "", "cache miss for key user:4000 after 12ms", "TFFFFTTT")
		if !ev.Exceptions[0].Synthetic {
			t.Error("got synthetic false, want true")
		}
	},
	"node/0008-node-large-gzip": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-large-gzip")
		wantEq(t, "type", ev.Exceptions[0].Type, "Error")
		wantEq(t, "value", ev.Exceptions[0].Value, "large event from send.js (gzip path)")
		wantEq(t, "frames", len(ev.Exceptions[0].Frames), 10)
		if len(ev.Contexts) < 40000 {
			t.Errorf("got %d bytes of contexts, want the large blob", len(ev.Contexts))
		}
	},
	"node/0009-node-rich-context": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "warning", "node-rich-context")
		checkNodeException(t, ev, "Error", "rich context error from send.js", "FFFTTFFFFT")
		wantEq(t, "tag region", tagValue(ev, "region"), "us-east-1")
		wantEq(t, "tag customer_tier", tagValue(ev, "customer_tier"), "platinum")
		if ev.User == nil {
			t.Fatal("no user")
		}
		wantDeep(t, "user", *ev.User, User{ID: "u-77", Email: "bob@example.com", Username: "bob"})
		if len(ev.Breadcrumbs) != 3 {
			t.Fatalf("got %d breadcrumbs, want 3", len(ev.Breadcrumbs))
		}
		wantDeep(t, "breadcrumb", ev.Breadcrumbs[0], Breadcrumb{Timestamp: time.UnixMilli(1795652703864).UTC(), Category: "ui", Message: "clicked button 0"})
	},
	"node/0010-node-fingerprint-custom": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-fingerprint-custom")
		checkNodeException(t, ev, "TypeError", "refund gateway returned garbage", "FFFTTFFFFT")
		if len(ev.Fingerprint) != 1 || ev.Fingerprint[0] != "sendjs-gateway-timeout" {
			t.Errorf("got fingerprint %q", ev.Fingerprint)
		}
	},
	"node/0012-node-type-error-same-site": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-type-error-same-site")
		checkNodeException(t, ev, "TypeError", "order payload must be an object", "TTFFFFTTTT")
	},
	"node/0013-node-syntax-error-same-site": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkNodeEvent(t, ev, "error", "node-syntax-error-same-site")
		checkNodeException(t, ev, "SyntaxError", "unexpected token } in order payload", "TTFFFFTTTT")
	},
	"python/0001-store-exception": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkPython(t, ev, "error")
		wantEq(t, "event id", ev.EventID, "bfd01a7e72cd42c0b93ab485fbda0e84")
		wantEq(t, "timestamp", ev.Timestamp, time.Date(2026, 11, 26, 0, 24, 53, 410730000, time.UTC))
		x := ev.Exceptions[0]
		wantEq(t, "exceptions", len(ev.Exceptions), 1)
		wantEq(t, "type", x.Type, "FileNotFoundError")
		wantEq(t, "module", x.Module, "") // sent as null
		wantEq(t, "value", x.Value, "[Errno 2] No such file or directory: '/nonexistent/pysend/0.ini'")
		wantEq(t, "in_app", inApps(x.Frames), "TT")
		fr := x.Frames[1]
		wantEq(t, "function", fr.Function, "read_config")
		wantEq(t, "module", fr.Module, "__main__")
		wantEq(t, "filename", fr.Filename, "send.py")
		wantEq(t, "context_line", fr.ContextLine, "    return open(path)")
		wantEq(t, "vars", string(fr.Vars), `{"path":"'/nonexistent/pysend/0.ini'"}`)
		wantEq(t, "pre_context", len(fr.PreContext), 5)
	},
	"python/0003-store-message": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkPython(t, ev, "info")
		wantEq(t, "message", ev.Message, "invoice 42 could not be rendered")
		wantEq(t, "template", ev.LogTemplate, "")
		wantEq(t, "exceptions", len(ev.Exceptions), 0)
	},
	"python/0004-store-billing": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		checkPython(t, ev, "error")
		wantEq(t, "logger", ev.Logger, "billing")
		wantEq(t, "message", ev.Message, "")
		wantEq(t, "template", ev.LogTemplate, "charge failed for customer %s amount %d")
		if len(ev.LogParams) != 2 || ev.LogParams[0] != "cus_123" || ev.LogParams[1] != "4200" {
			t.Errorf("got params %q", ev.LogParams)
		}
	},
	"python/0005-transaction": func(t *testing.T, evs []*Event) {
		wantEq(t, "events", len(evs), 0)
	},
	"flood/flood-event-envelope": func(t *testing.T, evs []*Event) {
		ev := oneEvent(t, evs)
		wantEq(t, "event id", ev.EventID, "0123456789abcdef0123456789abcdef")
		wantEq(t, "platform", ev.Platform, "python")
		wantEq(t, "logger", ev.Logger, "flood")
		wantEq(t, "transaction", ev.Transaction, "/api/v1/index/{id}/sync")
		wantEq(t, "timestamp", ev.Timestamp, time.UnixMicro(1795652711720805).UTC())
		wantEq(t, "tags", len(ev.Tags), 3)
		if len(ev.Breadcrumbs) == 0 || ev.Breadcrumbs[0].Category != "query" {
			t.Errorf("got breadcrumbs %+v", ev.Breadcrumbs)
		}
		if x := ev.Exceptions; len(x) != 1 || x[0].Handled == nil || *x[0].Handled || len(x[0].Frames) == 0 {
			t.Errorf("got exceptions %+v", x)
		}
		if ev.User == nil || ev.User.ID != "u-646172" || ev.Request == nil || ev.Request.Method != "POST" {
			t.Errorf("got user %+v request %+v", ev.User, ev.Request)
		}
	},
}
