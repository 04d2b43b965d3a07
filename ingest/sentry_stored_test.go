package ingest

import (
	"fmt"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/ingest/envelope"
)

// TestStoredEventRoundTrip sends events through the handler into a real
// store, where they are kept as the payloads sent, and reads each back
// through the tracker: the document must be the one the payload makes on
// arrival (decoded in full, with the server's decisions applied), and
// those decisions (the header's event id, the receive time for an event
// without one, the client address for "{{auto}}") must survive.
func TestStoredEventRoundTrip(t *testing.T) {
	s, tr := newTestSentry(t)
	var payloads []string
	for _, p := range fixtureEvents(t) {
		payloads = append(payloads, string(p))
	}
	if len(payloads) < 4 {
		t.Fatalf("only %d event payloads in the fixtures", len(payloads))
	}
	// Decided by the server: no event_id, no timestamp, the client's IP.
	payloads = append(payloads, `{"platform":"python","user":{"id":"u1","ip_address":"{{auto}}"},`+
		`"logentry":{"message":"user %s failed %d times","params":["bob",3]},`+
		`"breadcrumbs":[{"message":"before","timestamp":1795680000.25}],"contexts":{"os":{"name":"Linux"}}}`)

	addr := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 4000}
	var docs []issues.Doc
	for i, payload := range payloads {
		headerID := fmt.Sprintf("%032x", i+1)
		// With a length: the store endpoint's payloads (python) span lines.
		body := `{"event_id":"` + headerID + `"}` + "\n" + fmt.Sprintf(`{"type":"event","length":%d}`, len(payload)) + "\n" + payload
		var req fasthttp.Request
		req.Header.SetMethod(fasthttp.MethodPost)
		req.SetRequestURI("/api/1/envelope/")
		req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+testKey+", sentry_version=7")
		req.SetBodyString(body)
		var ctx fasthttp.RequestCtx
		ctx.Init(&req, addr, nil)
		before := time.Now().UTC()
		if !s.Handle(&ctx) || ctx.Response.StatusCode() != fasthttp.StatusOK {
			t.Fatalf("payload %d: status %d: %s", i, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		after := time.Now().UTC()

		got, err := tr.Event(1, headerID)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		ev, err := envelope.DecodeEvent([]byte(payload), 0)
		if err != nil {
			t.Fatal(err)
		}
		meta := issues.PayloadMeta{EventID: headerID, Timestamp: ev.Timestamp, ClientIP: "10.1.2.3"}
		if meta.Timestamp.IsZero() {
			if ts := got.Doc.Timestamp; ts.Before(before) || ts.After(after) {
				t.Errorf("payload %d: timestamp %v, want the receive time", i, ts)
			}
			meta.Timestamp = got.Doc.Timestamp
		}
		normalize(ev, meta)
		if want := toDoc(new(issues.Doc), ev); !reflect.DeepEqual(&got.Doc, want) {
			t.Errorf("payload %d: read back\n%+v\nwant\n%+v", i, got.Doc, *want)
		}
		docs = append(docs, got.Doc)
	}
	// Once more at the end: the buffers an event went through (request,
	// compressed value) have served the later events since.
	for i, want := range docs {
		got, err := tr.Event(1, fmt.Sprintf("%032x", i+1))
		if err != nil || !reflect.DeepEqual(got.Doc, want) {
			t.Errorf("payload %d read back again: %v\n%+v\nwant\n%+v", i, err, got.Doc, want)
		}
	}
	lastID := fmt.Sprintf("%032x", len(payloads))
	last, err := tr.Event(1, lastID)
	if err != nil {
		t.Fatal(err)
	}
	d := last.Doc
	if d.EventID != lastID || d.User == nil || d.User.IPAddress != "10.1.2.3" ||
		d.LogFormatted != "user bob failed 3 times" || len(d.Breadcrumbs) != 1 || d.Breadcrumbs[0].Message != "before" ||
		string(d.Contexts) != `{"os":{"name":"Linux"}}` || d.Platform != "python" || d.Level != "error" {
		t.Errorf("the event the server completed reads back as %+v", d)
	}
}

// TestInPlaceBodiesReused sends events from several goroutines, each
// overwriting its request body with '#' as soon as the handler returns, as
// fasthttp reuses a connection's buffer: events are decoded in place, so
// any string the issue state kept without a copy would turn to '#'s.
func TestInPlaceBodiesReused(t *testing.T) {
	s, tr := newTestSentry(t)
	const workers, each = 4, 150
	colors := []string{"red", "green", "blue"}
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000 + w}
			for i := range each {
				n := w*each + i
				// Half the events repeat one of three exception values,
				// which then come from the exception cache; the other
				// half send values of their own.
				value := n
				if n%2 == 1 {
					value = n % 3
				}
				body := []byte(fmt.Sprintf(`{}`+"\n"+`{"type":"event"}`+"\n"+
					`{"event_id":"%032x","platform":"go","release":"r-%d","environment":"env-%d","logger":"log-%d",`+
					`"tags":{"color":"%s","worker":"w%d"},"user":{"id":"user-%d"},`+
					`"exception":[{"type":"Type%d","value":"failed %d","stacktrace":{"frames":[{"function":"fn%d","module":"mod%d","in_app":true}]}}]}`,
					n+1, n%5, n%2, n%3, colors[n%3], w, n%7, n%3, value, n%3, n%3))
				// A request of its own, so that the '#'s below stay.
				var req fasthttp.Request
				var ctx fasthttp.RequestCtx
				req.Header.SetMethod(fasthttp.MethodPost)
				req.SetRequestURI("/api/1/envelope/")
				req.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+testKey+", sentry_version=7")
				req.SetBody(body)
				ctx.Init(&req, addr, nil)
				s.Handle(&ctx)
				if c := ctx.Response.StatusCode(); c != fasthttp.StatusOK {
					errs <- fmt.Errorf("event %d: status %d: %s", n, c, ctx.Response.Body())
					return
				}
				// What fasthttp does to the buffer next (it writes the
				// next request there).
				b := ctx.Request.Body() // Init copied req there
				for j := range b {
					b[j] = '#'
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	page, total := tr.List(issues.Filter{}, issues.SortDate, 0, 10)
	if total != 3 {
		t.Fatalf("%d issues, want 3", total)
	}
	if hits, _ := s.exceptions.Stats(); hits == 0 {
		t.Error("no exception came from the cache")
	}
	if hits, _ := s.memos.Stats(); hits == 0 {
		t.Error("no grouping came from the cache")
	}
	var events uint64
	for _, listed := range page {
		is, ok := tr.Get(listed.ID)
		if !ok {
			t.Fatalf("issue %d is listed but not found", listed.ID)
		}
		events += is.Count
		strs := []string{is.Title, is.Culprit, is.Platform, is.Logger, is.Level, is.Metadata.Type, is.Metadata.Value, is.Metadata.Function}
		strs = append(append(strs, is.Releases...), is.Environments...)
		for k, vals := range is.Tags {
			strs = append(strs, k)
			for v := range vals {
				strs = append(strs, v)
			}
		}
		for _, c := range is.Components {
			strs = append(strs, c.Values...)
		}
		for _, s := range strs {
			if strings.Contains(s, "#") {
				t.Errorf("issue %d keeps %q, overwritten with its request body", is.ID, s)
			}
		}
		if is.Tags["color"] == nil || len(is.Tags["worker"]) != workers || len(is.Releases) == 0 {
			t.Errorf("issue %d: tags %v releases %v", is.ID, is.Tags, is.Releases)
		}
	}
	if events != workers*each {
		t.Errorf("the issues count %d events, want %d", events, workers*each)
	}
}
