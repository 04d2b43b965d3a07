package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unsafe"
)

// maxFuzzInput caps fuzz inputs (the largest fixture is 57 KB).
const maxFuzzInput = 1 << 17

var envelopeSeeds = []string{
	"{}",
	"{}\n",
	"{}\n\n",
	"{\"event_id\":\"9EC79C33-EC99-42AB-8353-589FCB2E04DC\",\"sent_at\":\"2020-02-07T14:16:00+02:00\",\"sdk\":{\"name\":\"a\\u0062\"}}\n{\"type\":\"event\",\"length\":2}\n{}\n",
	"{}\n{\"type\":\"session\"}\r\n{\"sid\":1}\r\n",
	"{}\n{\"type\":\"attachment\",\"length\":3,\"filename\":\"f\",\"attachment_type\":\"event.attachment\"}\na\nb\n{\"type\":\"x\"}",
	"{}\n{\"type\":\"a\",\"length\":2}\nabc\n",
	"{}\n{\"type\":\"a\",\"length\":5}\nabc",
	"{}\n{\"type\":\"a\",\"length\":-1}\n",
	"{}\n{\"type\":\"a\",\"type\":\"b\"}\n",
	"{\"sent_at\":1,\"sent_at\":2}",
	"{\"a\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]}",
	"{}\n{\"type\":\"log\",\"item_count\":2,\"content_type\":\"application/vnd.sentry.items.log+json\"}\n{\"items\":[]}",
}

// FuzzEnvelope checks that Parse never panics, never changes its input,
// returns only payloads that lie inside the input and fit the limits, gives
// every error a reason, and parses the same body the same way into a reused
// Envelope. Each input is also parsed cut in two at a position taken from
// its first byte. Seeds are the captured requests and envelopeSeeds. The
// fixtures are large (up to 57 KB), and minimizing each new interesting input
// for the default 60 s stalls the fuzzer, hence -fuzzminimizetime; run with
//
//	go test -run='^$' -fuzz=FuzzEnvelope -fuzztime=60s -fuzzminimizetime=200x ./ingest/envelope/
func FuzzEnvelope(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		f.Add(fx.body)
	}
	for _, s := range envelopeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > maxFuzzInput {
			return
		}
		var e Envelope
		for _, lim := range []Limits{{}, {MaxItems: 4, MaxEventSize: 64, MaxDepth: 4}} {
			checkEnvelope(t, &e, in, lim)
			if len(in) > 0 {
				k := int(in[0]) % (len(in) + 1)
				checkEnvelope(t, &e, in[:k], lim)
				checkEnvelope(t, &e, in[k:], lim)
			}
		}
	})
}

func checkEnvelope(t *testing.T, e *Envelope, in []byte, lim Limits) {
	t.Helper()
	orig := bytes.Clone(in)
	err := e.Parse(in, lim)
	if !bytes.Equal(in, orig) {
		t.Fatalf("Parse(%q) changed its input", orig)
	}
	if err != nil {
		if r := Reason(err); r == "" || r == "other" {
			t.Fatalf("Parse(%q): error %v without a reason", in, err)
		}
		return
	}
	lim = lim.withDefaults()
	if len(e.Items) > lim.MaxItems {
		t.Fatalf("Parse(%q): %d items over the limit %d", in, len(e.Items), lim.MaxItems)
	}
	if id := e.Header.EventID; id != "" {
		if n, ok := NormalizeEventID(id); !ok || n != id {
			t.Fatalf("Parse(%q): event id %q not normalised", in, id)
		}
	}
	total := 0
	for i, it := range e.Items {
		if it.Type == "" || cap(it.Payload) != len(it.Payload) {
			t.Fatalf("Parse(%q): item %d: bad item %+v", in, i, it)
		}
		if len(it.Payload) > 0 && !inside(it.Payload, in) {
			t.Fatalf("Parse(%q): item %d payload %q is not a sub-slice of the input", in, i, it.Payload)
		}
		if (it.Type == "event" || it.Type == "transaction") && len(it.Payload) > lim.MaxEventSize {
			t.Fatalf("Parse(%q): item %d: %d-byte event over the limit", in, i, len(it.Payload))
		}
		total += len(it.Payload)
	}
	if total > len(in) {
		t.Fatalf("Parse(%q): payloads total %d bytes, input %d", in, total, len(in))
	}
	// Parsing again into the used Envelope gives the same result.
	h, items := e.Header, append([]Item(nil), e.Items...)
	if err := e.Parse(in, lim); err != nil || e.Header != h || len(e.Items) != len(items) {
		t.Fatalf("Parse(%q) again: got %v, %+v", in, err, e)
	}
	for i := range items {
		a, b := items[i], e.Items[i]
		if a.Type != b.Type || a.ContentType != b.ContentType || a.Filename != b.Filename || a.AttachmentType != b.AttachmentType ||
			a.ItemCount != b.ItemCount || a.HasLength != b.HasLength || !bytes.Equal(a.Payload, b.Payload) {
			t.Fatalf("Parse(%q) again: item %d: got %+v, want %+v", in, i, b, a)
		}
	}
}

// inside reports whether sub lies within buf's memory.
func inside(sub, buf []byte) bool {
	if len(buf) == 0 {
		return false
	}
	s, b := uintptr(unsafe.Pointer(unsafe.SliceData(sub))), uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	return s >= b && s+uintptr(len(sub)) <= b+uintptr(len(buf))
}

var eventSeeds = []string{
	`{}`,
	`{"exception":[{"type":"E","value":{"a":1},"mechanism":{"handled":"no"},"stacktrace":{"frames":[{"lineno":"12","in_app":"yes","vars":null}]}}]}`,
	`{"exception":{"values":[{"type":"E"}]},"breadcrumbs":{"values":[{"timestamp":1.5}]},"threads":[{"id":1}]}`,
	`{"message":{"message":"a %s","params":["x",1,null]},"logentry":{"formatted":"f","params":{"a":1}}}`,
	`{"tags":[["a","b"],["c"],[1,2],"x"],"request":{"headers":{"a":1},"query_string":[["a","b"]]},"user":{"id":1}}`,
	`{"timestamp":"2026-11-26T00:22:00.327260369+01:00","fingerprint":["{{ default }}",1,true,null]}`,
	`{"a":"[[[[","b":"\"{{{"}`,
	`{"a":[[[[[[[[[[[[]]]]]]]]]]]]}`,
	`{"message":"\ud83d\ude00 \u0000"}`,
	`{"timestamp":1e999,"x":[-0.5e-3]}`,
	`{"exception":[{"type":"a\"b\/","stacktrace":{"frames":[{"filename":"C:\\x\\y.py","function":"\ud83d\ude00\ud800x\udc00\ud83d\ud83d\ude00\u00e9\b\f\n\r\t","pre_context":["\u0000\u001F","é\u0041"]}]}}]}`,
}

// leanSeeds are inputs where a Decoder skips values: alone, repeated,
// or malformed or too deep inside a skipped value.
var leanSeeds = []string{
	`{"user":{"data":{"plan":"gold"}}}`,
	`{"user":{"data":null,"id":""}}`,
	`{"user":{"data":[1],"data":null},"user":{"data":"x","data":{}}}`,
	`{"user":{"data":1},"user":{"email":"a@b"}}`,
	`{"request":{"headers":{"a":"\q"}}}`,
	`{"request":{"url":"/","headers":[["a","b"]]},"request":5}`,
	`{"breadcrumbs":{"values":[{"timestamp":"2026-11-26T00:22:00Z","data":[[[[[]]]]]}]}}`,
	`{"breadcrumbs":[{"timestamp":1.5,"message":tru}]}`,
	`{"contexts":{"os":{"name":"\u12"}},"extra":{"a":1,}}`,
	`{"extra":{"a":[[[{}]]]},"contexts":null}`,
	`{"exception":[{"type":"E","stacktrace":{"frames":[{"function":"f","pre_context":["a",null,1],"post_context":[],"vars":{"i":{"j":[0]}},"lineno":3}]}}]}`,
	`{"exception":[{"stacktrace":{"frames":[{"pre_context":["a",tru],"lineno":1}]}}]}`,
	`{"threads":[{"id":1,"stacktrace":{"frames":[{"vars":{"a":[[[[1]]]]},"post_context":"x","context_line":"y"}]}}]}`,
}

// eventPayloads returns the seeds of FuzzEvent and FuzzEventLean: the
// payloads of the fixtures' items (events and the rest) and store bodies,
// and eventSeeds.
func eventPayloads(tb testing.TB) [][]byte {
	tb.Helper()
	var e Envelope
	var out [][]byte
	for _, fx := range loadFixtures(tb) {
		if strings.HasSuffix(fx.meta.Path, "/store/") {
			if p, err := StorePayload(fx.body, 0); err == nil {
				out = append(out, bytes.Clone(p))
			}
			continue
		}
		if e.Parse(fx.body, Limits{}) == nil {
			for _, it := range e.Items {
				out = append(out, bytes.Clone(it.Payload))
			}
		}
	}
	for _, s := range eventSeeds {
		out = append(out, []byte(s))
	}
	return out
}

// FuzzEvent checks that DecodeEvent never panics, that it accepts exactly
// the JSON objects whose nesting is within maxDepth (a wrong field type never
// rejects an event) and that ErrTooDeep is returned for deeper input. Seeds
// are the fixtures' event payloads and eventSeeds; run with
//
//	go test -run='^$' -fuzz=FuzzEvent -fuzztime=60s -fuzzminimizetime=200x ./ingest/envelope/
func FuzzEvent(f *testing.F) {
	for _, p := range eventPayloads(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > maxFuzzInput {
			return
		}
		const maxDepth = 8
		ev, err := DecodeEvent(in, maxDepth)
		trimmed := bytes.TrimLeft(in, " \t\r\n")
		isObject := len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(in)
		if !isObject {
			if err == nil {
				t.Fatalf("DecodeEvent(%q): accepted input that is not a JSON object", in)
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooDeep) {
				t.Fatalf("DecodeEvent(%q): got %v, want ErrMalformed or ErrTooDeep", in, err)
			}
			return
		}
		depth := jsonDepth(t, in)
		switch {
		case depth > maxDepth && !errors.Is(err, ErrTooDeep):
			t.Fatalf("DecodeEvent(%q): depth %d over %d, got %v, want ErrTooDeep", in, depth, maxDepth, err)
		case depth <= maxDepth && err != nil:
			t.Fatalf("DecodeEvent(%q): got %v for a valid object of depth %d", in, err, depth)
		case err == nil:
			checkReference(t, in, maxDepth)
		}
		if err == nil && ev.EventID != "" {
			if n, ok := NormalizeEventID(ev.EventID); !ok || n != ev.EventID {
				t.Fatalf("DecodeEvent(%q): event id %q not normalised", in, ev.EventID)
			}
		}
	})
}

// jsonDepth returns the nesting depth of valid JSON, computed by
// encoding/json's tokenizer (independent of exceedsDepth).
func jsonDepth(t *testing.T, in []byte) int {
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber() // numbers like 1e999 are valid JSON but overflow float64
	depth, maxd := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return maxd
		}
		if err != nil {
			t.Fatalf("Token(%q): %v", in, err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			maxd = max(maxd, depth)
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
}

// FuzzAuth checks that ParseAuthHeader, ParseAuthQuery and ParseDSN never
// panic, that what they accept has a key, and that a parsed DSN survives a
// round trip through DSN.String. Run with
//
//	go test -run='^$' -fuzz=FuzzAuth -fuzztime=60s -fuzzminimizetime=200x ./ingest/envelope/
func FuzzAuth(f *testing.F) {
	for _, s := range []string{
		"Sentry sentry_version=7, sentry_client=sentry.go/0.50.0, sentry_key=abc123def456",
		"Sentry sentry_key=abc123def456, sentry_version=7, sentry_client=sentry.python/1.9.10",
		"sentry key=k,secret=s,,version=9",
		"sentry_version=7&sentry_key=abc123def456&sentry_client=sentry.javascript.node%2F11.12.0",
		"http://abc123def456@127.0.0.1:9777/42",
		"https://pub:sec@o1.ingest.sentry.io/sentry/sub/1234/",
		"HTTPS://k@[::1]:9000/7?x=1#f",
		"http://k%20x:s%2F@h/p%2Fq/1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseAuthHeader(s); err == nil && a.Key == "" {
			t.Fatalf("ParseAuthHeader(%q): accepted without a key", s)
		} else if err != nil && !errors.Is(err, ErrInvalidAuth) {
			t.Fatalf("ParseAuthHeader(%q): got %v", s, err)
		}
		if a, err := ParseAuthQuery(s); err == nil && a.Key == "" {
			t.Fatalf("ParseAuthQuery(%q): accepted without a key", s)
		}
		d, err := ParseDSN(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDSN) {
				t.Fatalf("ParseDSN(%q): got %v", s, err)
			}
			return
		}
		if d.Key == "" || d.Host == "" || d.ProjectID == "" {
			t.Fatalf("ParseDSN(%q): incomplete %+v", s, d)
		}
		if again, err := ParseDSN(d.String()); err != nil || again != d {
			t.Fatalf("ParseDSN(%q) = %+v; String %q parses as %+v, %v", s, d, d.String(), again, err)
		}
	})
}

// FuzzEventLean checks that a Decoder returns what DecodeEvent returns with
// the fields it leaves out cleared, and the same error (sentinel, reason
// and message), for every input at a maxDepth taken from the input (0, the
// default, to 15; see checkLean). The Decoder lives as long as the fuzz
// worker and decodes every input it is given, so that whatever one input
// leaves in its memory would show in the next. Seeds are FuzzEvent's and
// leanSeeds; run with
//
//	go test -run='^$' -fuzz=FuzzEventLean -fuzztime=60s -fuzzminimizetime=200x ./ingest/envelope/
func FuzzEventLean(f *testing.F) {
	for _, p := range eventPayloads(f) {
		f.Add(p, uint8(8))
	}
	for _, s := range leanSeeds {
		f.Add([]byte(s), uint8(8))
		f.Add([]byte(s), uint8(4))
	}
	// The fuzz function is called for one input at a time in each process.
	var d Decoder
	// dc decodes each input three times with a small cache that lives
	// across inputs, so that entries come and go (checkCached).
	dc := Decoder{Exceptions: NewExceptionCache(4)}
	f.Fuzz(func(t *testing.T, in []byte, maxDepth uint8) {
		if len(in) > maxFuzzInput {
			return
		}
		checkLean(t, &d, in, int(maxDepth%16))
		checkCached(t, &dc, in, int(maxDepth%16))
	})
}
