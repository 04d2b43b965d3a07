package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func ptr[T any](v T) *T { return &v }

// decodeEventCase is a case of TestDecodeEvent: an event payload and the
// Event it decodes to.
type decodeEventCase struct {
	name string
	in   string
	want Event
}

// decodeEventCases returns the cases of TestDecodeEvent, which cover each
// polymorphic field in each of its forms (TestDecoderLean decodes them
// too).
func decodeEventCases() []decodeEventCase {
	ts := time.Date(2026, 11, 26, 0, 22, 0, 327260369, time.UTC)
	frames := []Frame{{Function: "main", Module: "main", AbsPath: "/a.go", Lineno: 3, InApp: ptr(true)}}
	framesJSON := `{"frames":[{"function":"main","module":"main","abs_path":"/a.go","lineno":3,"in_app":true}]}`
	return []decodeEventCase{
		{"empty object", `{}`, Event{}},
		{"scalars", `{"platform":"go","level":"fatal","logger":"l","server_name":"h","release":"r@1","dist":"d","environment":"prod","transaction":"GET /"}`,
			Event{Platform: "go", Level: "fatal", Logger: "l", ServerName: "h", Release: "r@1", Dist: "d", Environment: "prod", Transaction: "GET /"}},
		{"numeric release", `{"release":12}`, Event{Release: "12"}},
		{"wrong scalar types ignored", `{"level":5,"platform":["go"],"logger":{},"environment":"e"}`, Event{Environment: "e"}},
		{"event id plain", `{"event_id":"50e0c092dc1240e5950cc21ef374bd3e"}`, Event{EventID: "50e0c092dc1240e5950cc21ef374bd3e"}},
		{"event id dashed", `{"event_id":"50E0C092-DC12-40E5-950C-C21EF374BD3E"}`, Event{EventID: "50e0c092dc1240e5950cc21ef374bd3e"}},
		{"event id invalid", `{"event_id":"xyz","level":"info"}`, Event{Level: "info"}},
		{"timestamp rfc3339", `{"timestamp":"2026-11-26T00:22:00.327260369Z"}`, Event{Timestamp: ts}},
		{"timestamp float", `{"timestamp":1795652703.86}`, Event{Timestamp: time.UnixMilli(1795652703860).UTC()}},
		{"timestamp int", `{"timestamp":1795652703}`, Event{Timestamp: time.Unix(1795652703, 0).UTC()}},
		{"timestamp numeric string", `{"timestamp":"1795652703.5"}`, Event{Timestamp: time.UnixMilli(1795652703500).UTC()}},
		{"timestamp invalid", `{"timestamp":"soon","level":"x"}`, Event{Level: "x"}},
		{"timestamp negative", `{"timestamp":-5}`, Event{}},
		{"timestamp bool", `{"timestamp":true}`, Event{}},
		{"message string", `{"message":"invoice 42 could not be rendered"}`, Event{Message: "invoice 42 could not be rendered"}},
		{"message escaped", `{"message":"a\nb \u00e9"}`, Event{Message: "a\nb é"}},
		{"message object", `{"message":{"message":"user %s","formatted":"user bob","params":["bob"]}}`,
			Event{Message: "user bob", LogTemplate: "user %s", LogParams: []string{"bob"}}},
		{"message number ignored", `{"message":5}`, Event{}},
		{"logentry", `{"logentry":{"message":"charge failed for customer %s amount %d","params":["cus_123",4200,null,{"a":1}]}}`,
			Event{LogTemplate: "charge failed for customer %s amount %d", LogParams: []string{"cus_123", "4200", "null", `{"a":1}`}}},
		{"logentry formatted", `{"logentry":{"formatted":"hello bob"}}`, Event{LogFormatted: "hello bob"}},
		{"logentry named params dropped", `{"logentry":{"message":"%(a)s","params":{"a":1}}}`, Event{LogTemplate: "%(a)s"}},
		{"logentry wins over message object", `{"message":{"message":"m %s","params":["x"]},"logentry":{"message":"l %s","params":["y"]}}`,
			Event{LogTemplate: "l %s", LogParams: []string{"y"}}},
		{"message string and logentry", `{"message":"plain","logentry":{"message":"t %s","formatted":"t x"}}`,
			Event{Message: "plain", LogTemplate: "t %s", LogFormatted: "t x"}},
		{"fingerprint", `{"fingerprint":["{{ default }}","a",1,true,null,{}]}`, Event{Fingerprint: []string{"{{ default }}", "a", "1", "true"}}},
		{"fingerprint not array", `{"fingerprint":"x"}`, Event{}},
		{"tags object", `{"tags":{"b":"2","a":"1","n":3,"t":false,"x":null,"o":{}}}`,
			Event{Tags: []Tag{{"b", "2"}, {"a", "1"}, {"n", "3"}, {"t", "false"}}}},
		{"tags pairs", `{"tags":[["b","2"],["a","1"],["bad"],["k",null],[1,"v"],"s",["k2","v2","extra"],["e\u0073c","v"]]}`,
			Event{Tags: []Tag{{"b", "2"}, {"a", "1"}, {"esc", "v"}}}},
		{"tags wrong type", `{"tags":"a:b"}`, Event{}},
		{"user", `{"user":{"id":"u-1","email":"a@b","username":"alice","ip_address":"{{auto}}","data":{"plan":"gold"}}}`,
			Event{User: &User{ID: "u-1", Email: "a@b", Username: "alice", IPAddress: "{{auto}}", Data: []byte(`{"plan":"gold"}`)}}},
		{"user numeric id", `{"user":{"id":42}}`, Event{User: &User{ID: "42"}}},
		{"user wrong type", `{"user":"bob"}`, Event{}},
		{"exception bare array", `{"exception":[{"type":"*main.DBError","value":"deadlock","mechanism":{"type":"chained","exception_id":1}},{"type":"*fmt.wrapError","value":"load: deadlock","stacktrace":` + framesJSON + `,"mechanism":{"type":"generic","handled":false}}]}`,
			Event{Exceptions: []Exception{
				{Type: "*main.DBError", Value: "deadlock", MechanismType: "chained"},
				{Type: "*fmt.wrapError", Value: "load: deadlock", MechanismType: "generic", Handled: ptr(false), Frames: frames},
			}}},
		{"exception values", `{"exception":{"values":[{"type":"RangeError","value":"x","module":"m","stacktrace":` + framesJSON + `,"mechanism":{"type":"generic","handled":true,"synthetic":true}}]}}`,
			Event{Exceptions: []Exception{{Type: "RangeError", Value: "x", Module: "m", MechanismType: "generic", Handled: ptr(true), Synthetic: true, Frames: frames}}}},
		{"exception value object", `{"exception":{"values":[{"type":"E","value":{"code":1}}]}}`,
			Event{Exceptions: []Exception{{Type: "E", Value: `{"code":1}`}}}},
		{"exception wrong type", `{"exception":"boom","level":"error"}`, Event{Level: "error"}},
		{"exception values wrong type", `{"exception":{"values":{}}}`, Event{}},
		{"exception element wrong type", `{"exception":["x",{"type":"E"}]}`, Event{Exceptions: []Exception{{}, {Type: "E"}}}},
		{"frame lenient fields", `{"exception":[{"type":"E","stacktrace":{"frames":[{"function":"f","lineno":"12","in_app":"yes","colno":3,"pre_context":["a",null],"vars":{"i":"0"},"filename":"a.py","context_line":"x","post_context":["b"],"raw_function":"r","package":"p","platform":"python"}]}}]}`,
			Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{Function: "f", Colno: 3, PreContext: []string{"a", ""}, Vars: []byte(`{"i":"0"}`), Filename: "a.py", ContextLine: "x", PostContext: []string{"b"}, RawFunction: "r", Package: "p", Platform: "python"}}}}}},
		{"frames wrong type", `{"exception":[{"type":"E","stacktrace":{"frames":{}}}]}`, Event{Exceptions: []Exception{{Type: "E"}}}},
		{"threads values", `{"threads":{"values":[{"id":1,"name":"main","crashed":true,"current":true,"stacktrace":` + framesJSON + `}]}}`,
			Event{Threads: []Thread{{ID: "1", Name: "main", Crashed: true, Current: true, Frames: frames}}}},
		{"threads bare array", `{"threads":[{"id":"t-2"}]}`, Event{Threads: []Thread{{ID: "t-2"}}}},
		{"breadcrumbs list", `{"breadcrumbs":[{"timestamp":"2026-11-26T00:22:00.327260369Z","type":"http","category":"c","message":"m","level":"info","data":{"url":"/"}}]}`,
			Event{Breadcrumbs: []Breadcrumb{{Timestamp: ts, Type: "http", Category: "c", Message: "m", Level: "info", Data: []byte(`{"url":"/"}`)}}}},
		{"breadcrumbs values", `{"breadcrumbs":{"values":[{"timestamp":1795652703.86,"category":"ui"},{"timestamp":"bad","data":null}]}}`,
			Event{Breadcrumbs: []Breadcrumb{{Timestamp: time.UnixMilli(1795652703860).UTC(), Category: "ui"}, {}}}},
		{"breadcrumbs empty values", `{"breadcrumbs":{"values":[]}}`, Event{}},
		{"request headers object", `{"request":{"method":"POST","url":"http://x/c","query_string":"?cart=77","headers":{"Host":"x","X-N":1},"data":"a=b"}}`,
			Event{Request: &Request{Method: "POST", URL: "http://x/c", QueryString: "cart=77", Headers: []Tag{{"Host", "x"}, {"X-N", "1"}}, Data: []byte(`"a=b"`)}}},
		{"request headers pairs", `{"request":{"headers":[["Accept","*/*"],["Accept","text/html"]],"query_string":[["a","1 2"],["b","&"]]}}`,
			Event{Request: &Request{Headers: []Tag{{"Accept", "*/*"}, {"Accept", "text/html"}}, QueryString: "a=1+2&b=%26"}}},
		{"request query object", `{"request":{"query_string":{"q":"x"}}}`, Event{Request: &Request{QueryString: "q=x"}}},
		{"contexts and extra raw", `{"contexts":{"os":{"name":"linux"}},"extra":{"a":[1]}}`,
			Event{Contexts: []byte(`{"os":{"name":"linux"}}`), Extra: []byte(`{"a":[1]}`)}},
		{"contexts null", `{"contexts":null,"extra":null}`, Event{}},
		{"leading space", " \n{\"level\":\"info\"}", Event{Level: "info"}},
		{"unknown fields skipped", `{"modules":{"a":"1"},"debug_meta":{"images":[]},"sdk":{"name":"x"},"level":"debug"}`, Event{Level: "debug"}},
	}
}

// TestDecodeEvent decodes each of decodeEventCases and compares the whole
// Event with the case's.
func TestDecodeEvent(t *testing.T) {
	for _, tc := range decodeEventCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeEvent([]byte(tc.in), 0)
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

// decodeEventErrorCases are the cases of TestDecodeEventErrors: a payload,
// the maxDepth it is decoded with, and the error expected (nil for none).
var decodeEventErrorCases = []struct {
	name, in string
	depth    int
	err      error
	reason   string
}{
	{"empty", "", 0, ErrMalformed, "bad_json"},
	{"array", `[{}]`, 0, ErrMalformed, "bad_json"},
	{"string", `"x"`, 0, ErrMalformed, "bad_json"},
	{"null", `null`, 0, ErrMalformed, "bad_json"},
	{"truncated", `{"a":`, 0, ErrMalformed, "bad_json"},
	{"trailing junk", `{} x`, 0, ErrMalformed, "bad_json"},
	{"two objects", `{}{}`, 0, ErrMalformed, "bad_json"},
	{"bad string", `{"a":"\q"}`, 0, ErrMalformed, "bad_json"},
	{"too deep", `{"a":{"b":[{}]}}`, 3, ErrTooDeep, "too_deep"},
	{"too deep default", strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65), 0, ErrTooDeep, "too_deep"},
	{"brackets in strings do not count", `{"a":"[[[[[[","b":"\"{{{{{{"}`, 2, nil, ""},
	{"depth at limit", `{"a":{"b":[{}]}}`, 4, nil, ""},
	{"default depth at limit", strings.Repeat(`{"a":`, 64) + "1" + strings.Repeat("}", 64), 0, nil, ""},
}

func TestDecodeEventErrors(t *testing.T) {
	for _, tc := range decodeEventErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tc.in), tc.depth)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("got error %v, want none", err)
				}
				return
			}
			if !errors.Is(err, tc.err) || Reason(err) != tc.reason {
				t.Fatalf("got error %v (reason %q), want %v (reason %q)", err, Reason(err), tc.err, tc.reason)
			}
		})
	}
}

// TestDecodeEventDoesNotAliasPayload checks that an Event stays intact when
// the caller reuses the payload buffer after DecodeEvent returns: its
// strings are taken from a copy of the payload, never from the buffer.
func TestDecodeEventDoesNotAliasPayload(t *testing.T) {
	var e Envelope
	if err := e.Parse(readFixture(t, "flood/flood-event-envelope.body"), Limits{}); err != nil {
		t.Fatal(err)
	}
	for _, in := range append([][]byte{e.Items[0].Payload}, []byte(eventSeeds[len(eventSeeds)-1])) {
		want, err := DecodeEvent(in, 0)
		if err != nil {
			t.Fatal(err)
		}
		buf := append([]byte(nil), in...)
		got, err := DecodeEvent(buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 'x'
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event changed with its payload buffer:\ngot  %+v\nwant %+v", got, want)
		}
	}
}

// TestDecoderInPlace checks that a Decoder takes its strings from the
// payload itself, as it says (checkLean holds its result to DecodeEvent's):
// without a copy there is nothing to save.
func TestDecoderInPlace(t *testing.T) {
	var e Envelope
	if err := e.Parse(readFixture(t, "flood/flood-event-envelope.body"), Limits{}); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte(nil), e.Items[0].Payload...)
	var d Decoder
	ev, err := d.DecodeLeanInPlace(payload, 0)
	if err != nil {
		t.Fatal(err)
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(payload)))
	inside := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return p >= lo && p < lo+uintptr(len(payload))
	}
	if len(ev.Exceptions) == 0 || len(ev.Exceptions[0].Frames) == 0 {
		t.Fatal("the fixture has no stack trace")
	}
	for what, s := range map[string]string{
		"platform": ev.Platform, "release": ev.Release, "exception type": ev.Exceptions[0].Type,
		"function": ev.Exceptions[0].Frames[0].Function,
	} {
		if s == "" || !inside(s) {
			t.Errorf("%s %q is not taken from the payload", what, s)
		}
	}
}

// withoutLean returns a copy of ev with the fields a Decoder leaves out
// cleared; ev is not changed.
func withoutLean(ev *Event) *Event {
	e := *ev
	e.Breadcrumbs, e.Request, e.Contexts, e.Extra = nil, nil, nil, nil
	if e.User != nil {
		u := *e.User
		u.Data = nil
		e.User = &u
	}
	e.Exceptions = slices.Clone(e.Exceptions)
	for i := range e.Exceptions {
		e.Exceptions[i].Frames = framesWithoutLean(e.Exceptions[i].Frames)
	}
	e.Threads = slices.Clone(e.Threads)
	for i := range e.Threads {
		e.Threads[i].Frames = framesWithoutLean(e.Threads[i].Frames)
	}
	return &e
}

func framesWithoutLean(frames []Frame) []Frame {
	frames = slices.Clone(frames)
	for i := range frames {
		frames[i].PreContext, frames[i].PostContext, frames[i].Vars = nil, nil, nil
	}
	return frames
}

// sameError reports whether a and b are both nil, or the same error: same
// message, reason and sentinel.
func sameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	same := a.Error() == b.Error() && Reason(a) == Reason(b)
	for _, sentinel := range []error{ErrMalformed, ErrTooDeep, ErrTooLarge} {
		same = same && errors.Is(a, sentinel) == errors.Is(b, sentinel)
	}
	return same
}

// checkLean fails t unless d.DecodeLeanInPlace(in, maxDepth), from a copy
// of in of its own, returns what DecodeEvent returns with the lean fields
// cleared (see withoutLean), or the same error: same sentinel, reason and
// message, and no Event. d may have decoded other events before, whose
// memory it reuses: nothing of them may show. It returns DecodeEvent's
// Event (nil on error).
func checkLean(t *testing.T, d *Decoder, in []byte, maxDepth int) *Event {
	t.Helper()
	full, ferr := DecodeEvent(in, maxDepth)
	lean, lerr := d.DecodeLeanInPlace(bytes.Clone(in), maxDepth)
	if ferr != nil || lerr != nil {
		if !sameError(lerr, ferr) {
			t.Fatalf("Decoder.DecodeLeanInPlace(%q, %d): got error %v (reason %q), want %v (reason %q)", in, maxDepth, lerr, Reason(lerr), ferr, Reason(ferr))
		}
		if lean != nil {
			t.Fatalf("Decoder.DecodeLeanInPlace(%q, %d): got an event with error %v", in, maxDepth, lerr)
		}
		return nil
	}
	if want := withoutLean(full); !reflect.DeepEqual(lean, want) {
		g, _ := json.Marshal(lean)
		w, _ := json.Marshal(want)
		t.Fatalf("Decoder.DecodeLeanInPlace(%q, %d):\n got %s\nwant %s", in, maxDepth, g, w)
	}
	return full
}

// leanInput is a payload of leanInputs and the maxDepth it is decoded
// with.
type leanInput struct {
	name  string
	in    []byte
	depth int
}

// leanInputs returns every payload the package's tests decode: the
// fixtures' items, eventSeeds, the cases of TestDecodeEvent and
// TestDecodeEventErrors, and leanSeeds. The fixtures and leanSeeds come
// with the default maxDepth and with 5, which some fail.
func leanInputs(tb testing.TB) []leanInput {
	tb.Helper()
	var ins []leanInput
	for i, p := range eventPayloads(tb) {
		ins = append(ins, leanInput{fmt.Sprintf("payload%d", i), p, 0}, leanInput{fmt.Sprintf("payload%d-depth5", i), p, 5})
	}
	for _, tc := range decodeEventCases() {
		ins = append(ins, leanInput{"TestDecodeEvent/" + tc.name, []byte(tc.in), 0})
	}
	for _, tc := range decodeEventErrorCases {
		ins = append(ins, leanInput{"TestDecodeEventErrors/" + tc.name, []byte(tc.in), tc.depth})
	}
	for i, s := range leanSeeds {
		ins = append(ins, leanInput{fmt.Sprintf("lean%d", i), []byte(s), 0}, leanInput{fmt.Sprintf("lean%d-depth5", i), []byte(s), 5})
	}
	return ins
}

// TestDecoderLean checks one Decoder, used for every payload of leanInputs
// in turn, against DecodeEvent (see checkLean). At least one fixture must
// have something that a Decoder leaves out, or the comparison would prove
// nothing.
func TestDecoderLean(t *testing.T) {
	var d Decoder
	var crumbs, context, errs int
	for _, in := range leanInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			ev := checkLean(t, &d, in.in, in.depth)
			if ev == nil {
				errs++
				return
			}
			if len(ev.Breadcrumbs) > 0 {
				crumbs++
			}
			for _, x := range ev.Exceptions {
				if slices.ContainsFunc(x.Frames, func(f Frame) bool { return len(f.PreContext) > 0 }) {
					context++
					break
				}
			}
		})
	}
	if crumbs == 0 || context == 0 || errs == 0 {
		t.Errorf("got %d events with breadcrumbs, %d with pre_context and %d errors, want some of each", crumbs, context, errs)
	}
}

// TestDecoder decodes every payload of leanInputs with one Decoder, in
// several orders (forward, reversed, largest first, smallest first, and
// alternately large and small), and checks each result against
// DecodeEvent with the lean fields cleared (see checkLean): whatever the
// previous event left in the Decoder's memory, nothing of it may show in
// the next.
func TestDecoder(t *testing.T) {
	ins := leanInputs(t)
	reversed := func(ins []leanInput) []leanInput {
		out := slices.Clone(ins)
		slices.Reverse(out)
		return out
	}
	bySize := slices.Clone(ins)
	slices.SortStableFunc(bySize, func(a, b leanInput) int { return len(b.in) - len(a.in) })
	var alternate []leanInput
	for i, j := 0, len(bySize)-1; i <= j; i, j = i+1, j-1 {
		alternate = append(alternate, bySize[i])
		if i < j {
			alternate = append(alternate, bySize[j])
		}
	}
	for _, order := range []struct {
		name string
		ins  []leanInput
	}{
		{"forward", ins},
		{"reversed", reversed(ins)},
		{"largest-first", bySize},
		{"smallest-first", reversed(bySize)},
		{"alternate", alternate},
	} {
		t.Run(order.name, func(t *testing.T) {
			var d Decoder
			for i, in := range order.ins {
				t.Run(fmt.Sprintf("%d-%s", i, in.name), func(t *testing.T) { checkLean(t, &d, in.in, in.depth) })
			}
		})
	}
}

// TestDecoderClearsStale decodes the largest payload and then each of the
// others with one Decoder, and checks that its lists hold nothing past
// the elements of the last event: what a larger event left is cleared,
// so that the Decoder does not keep its payload alive.
func TestDecoderClearsStale(t *testing.T) {
	ins := leanInputs(t)
	largest := slices.MaxFunc(ins, func(a, b leanInput) int { return len(a.in) - len(b.in) })
	zeroTail := func(name string, list reflect.Value) {
		t.Helper()
		for i := list.Len(); i < list.Cap(); i++ {
			if !list.Slice(0, list.Cap()).Index(i).IsZero() {
				t.Fatalf("%s[%d] is left from an earlier event (length %d)", name, i, list.Len())
			}
		}
	}
	var d Decoder
	for _, in := range ins {
		d.DecodeLeanInPlace(largest.in, 0)
		d.DecodeLeanInPlace(in.in, in.depth)
		sc := reflect.ValueOf(&d.lists).Elem()
		for i := range sc.NumField() {
			zeroTail(in.name+": "+sc.Type().Field(i).Name, sc.Field(i))
		}
	}
}

// TestDecoderAllocs checks that a Decoder, once warmed up, decodes the
// flood event without allocating, into the same memory each time.
func TestDecoderAllocs(t *testing.T) {
	var e Envelope
	if err := e.Parse(readFixture(t, "flood/flood-event-envelope.body"), Limits{}); err != nil {
		t.Fatal(err)
	}
	payload := e.Items[0].Payload
	var d Decoder
	first, err := d.DecodeLeanInPlace(payload, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Exceptions) == 0 || len(first.Exceptions[0].Frames) == 0 || first.User == nil || len(first.Tags) == 0 {
		t.Fatal("the fixture has no stack trace, user or tags")
	}
	frame := &first.Exceptions[0].Frames[0]
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.DecodeLeanInPlace(payload, 0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per decode, want 0", allocs)
	}
	ev, err := d.DecodeLeanInPlace(payload, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ev != first || &ev.Exceptions[0].Frames[0] != frame {
		t.Errorf("the Decoder did not reuse its memory")
	}
}

// TestDecoderDropsHugeLists checks that a Decoder does not keep a list
// that grew past maxKept elements for its next call, and still decodes
// the event that grew it, and the next, right.
func TestDecoderDropsHugeLists(t *testing.T) {
	huge := []byte(`{"exception":[{"stacktrace":{"frames":[` + strings.Repeat(`{"function":"f","in_app":true},`, maxKept) + `{}]}}]}`)
	var d Decoder
	checkLean(t, &d, []byte(eventSeeds[1]), 0)
	checkLean(t, &d, huge, 0)
	if c := cap(d.lists.frames); c != 0 {
		t.Errorf("got frames capacity %d after %d frames, want 0 (dropped)", c, maxKept+1)
	}
	checkLean(t, &d, huge, 0)
	checkLean(t, &d, []byte(eventSeeds[1]), 0)
	if c := cap(d.lists.frames); c == 0 || c > maxKept {
		t.Errorf("got frames capacity %d after a small event, want 1 to %d", c, maxKept)
	}
}
