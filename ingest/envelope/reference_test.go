package envelope

// The encoding/json-based event decoder that DecodeEvent replaced, kept as
// the reference FuzzEvent and TestDecodeEventReference compare it with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func decodeEventReference(payload []byte, maxDepth int) (*Event, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, newError(ErrMalformed, reasonBadJSON, "event is not a JSON object: "+quote(payload))
	}
	var w wireEvent
	s := scanner{b: trimmed, max: maxDepth}
	var ferr error
	ok := s.members(0, func(key []byte, esc bool) bool {
		raw, ok := s.value(1)
		if !ok {
			return false
		}
		k := key[1 : len(key)-1]
		if esc {
			k = []byte(unquote(key, esc))
		}
		ferr = w.field(k, raw)
		return ferr == nil
	})
	if ok {
		s.ws()
		ok = s.i == len(trimmed)
	}
	switch {
	case s.tooDeep:
		return nil, newError(ErrTooDeep, reasonTooDeep, "event nested deeper than "+itoa(maxDepth))
	case ferr != nil:
		return nil, newError(ErrMalformed, reasonBadJSON, "invalid event JSON: "+ferr.Error())
	case !ok:
		return nil, newError(ErrMalformed, reasonBadJSON, "invalid event JSON near byte "+itoa(s.i)+": "+quote(trimmed[min(s.i, len(trimmed)):]))
	}
	ev := &Event{
		Timestamp:   w.Timestamp.t,
		Platform:    w.Platform,
		Level:       w.Level,
		Logger:      w.Logger,
		ServerName:  w.ServerName,
		Release:     string(w.Release),
		Dist:        w.Dist,
		Environment: w.Environment,
		Transaction: w.Transaction,
		Fingerprint: w.Fingerprint,
		Tags:        w.Tags,
		Threads:     w.Threads,
		Breadcrumbs: w.Breadcrumbs,
		Contexts:    nonNull(w.Contexts),
		Extra:       nonNull(w.Extra),
	}
	if id, ok := NormalizeEventID(w.EventID); ok {
		ev.EventID = id
	}
	// message: a plain string, or an object like logentry.
	ev.Message = w.Message.plain
	if w.Message.isObject {
		ev.Message = w.Message.Formatted
		ev.LogTemplate = w.Message.Message
		ev.LogParams = w.Message.params
	}
	if w.LogEntry.isObject {
		ev.LogFormatted = w.LogEntry.Formatted
		if w.LogEntry.Message != "" {
			ev.LogTemplate = w.LogEntry.Message
		}
		if w.LogEntry.params != nil {
			ev.LogParams = w.LogEntry.params
		}
	}
	if u := w.User; u != nil && (u.ID != "" || u.Email != "" || u.Username != "" || u.IPAddress != "" || len(nonNull(u.Data)) > 0) {
		ev.User = &User{ID: string(u.ID), Email: u.Email, Username: u.Username, IPAddress: u.IPAddress, Data: nonNull(u.Data)}
	}
	if r := w.Request; r != nil && (r.Method != "" || r.URL != "" || r.QueryString != "" || len(r.Headers) > 0 || len(nonNull(r.Data)) > 0) {
		ev.Request = &Request{Method: r.Method, URL: r.URL, QueryString: string(r.QueryString), Headers: r.Headers, Data: nonNull(r.Data)}
	}
	if len(w.Exception) > 0 {
		ev.Exceptions = make([]Exception, len(w.Exception))
		for i, x := range w.Exception {
			e := &ev.Exceptions[i]
			e.Type, e.Value, e.Module = x.Type, string(x.Value), x.Module
			if m := x.Mechanism; m != nil {
				e.MechanismType, e.Handled, e.Synthetic = m.Type, m.Handled.ptr(), m.Synthetic
			}
			if x.Stacktrace != nil {
				e.Frames = x.Stacktrace.frames()
			}
		}
	}
	return ev, nil
}

// nonNull returns raw, or nil for a missing value or JSON null.
func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// lenientUnmarshal is json.Unmarshal that ignores fields of the wrong type:
// encoding/json skips such a field, finishes decoding the rest and reports
// the first mismatch as *json.UnmarshalTypeError, which we drop.
func lenientUnmarshal(b []byte, v any) error {
	err := json.Unmarshal(b, v)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return nil
	}
	return err
}

// wireEvent collects the fields DecodeEvent keeps, with custom types for
// the polymorphic ones.
type wireEvent struct {
	EventID, Platform, Level, Logger, ServerName string
	Dist, Environment, Transaction               string
	Timestamp                                    wireTime
	Release                                      lenientString
	Message, LogEntry                            wireMessage
	Fingerprint                                  wireStrings
	Tags                                         wirePairs
	User                                         *wireUser
	Exception                                    wireExceptions
	Threads                                      wireThreads
	Breadcrumbs                                  wireBreadcrumbs
	Request                                      *wireRequest
	Contexts, Extra                              json.RawMessage
}

// field sets the field named k from its raw (already validated) value.
// Unknown fields are ignored.
func (w *wireEvent) field(k, raw []byte) error {
	str := func(dst *string) {
		if raw[0] == '"' {
			*dst = unquote(raw, bytes.IndexByte(raw, '\\') >= 0)
		}
	}
	switch string(k) {
	case "event_id":
		str(&w.EventID)
	case "platform":
		str(&w.Platform)
	case "level":
		str(&w.Level)
	case "logger":
		str(&w.Logger)
	case "server_name":
		str(&w.ServerName)
	case "dist":
		str(&w.Dist)
	case "environment":
		str(&w.Environment)
	case "transaction":
		str(&w.Transaction)
	case "timestamp":
		w.Timestamp = wireTime{}
		return w.Timestamp.UnmarshalJSON(raw)
	case "release":
		w.Release = ""
		return w.Release.UnmarshalJSON(raw)
	case "message":
		w.Message = wireMessage{}
		return w.Message.UnmarshalJSON(raw)
	case "logentry":
		w.LogEntry = wireMessage{}
		return w.LogEntry.UnmarshalJSON(raw)
	case "fingerprint":
		w.Fingerprint = nil
		return w.Fingerprint.UnmarshalJSON(raw)
	case "tags":
		w.Tags = nil
		return w.Tags.UnmarshalJSON(raw)
	case "user":
		w.User = nil
		return lenientUnmarshal(raw, &w.User)
	case "exception":
		w.Exception = nil
		return w.Exception.UnmarshalJSON(raw)
	case "threads":
		w.Threads = nil
		return w.Threads.UnmarshalJSON(raw)
	case "breadcrumbs":
		w.Breadcrumbs = nil
		return w.Breadcrumbs.UnmarshalJSON(raw)
	case "request":
		w.Request = nil
		return lenientUnmarshal(raw, &w.Request)
	case "contexts":
		w.Contexts = bytes.Clone(raw)
	case "extra":
		w.Extra = bytes.Clone(raw)
	}
	return nil
}

// wireTime accepts an RFC 3339 string, a number of Unix seconds or a string
// holding such a number; anything else leaves it zero.
type wireTime struct{ t time.Time }

func (w *wireTime) UnmarshalJSON(b []byte) error {
	w.t = valueTime(b)
	return nil
}

// lenientString accepts any non-null value: a string's contents, or the JSON
// text of anything else (Relay's LenientString / JsonLenientString).
type lenientString string

func (l *lenientString) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case 'n':
	case '"':
		*l = lenientString(unquote(b, bytes.IndexByte(b, '\\') >= 0))
	default:
		*l = lenientString(b)
	}
	return nil
}

// wireMessage is a message or logentry: a plain string or an object.
type wireMessage struct {
	plain     string
	isObject  bool
	Formatted string
	Message   string
	params    []string
}

func (m *wireMessage) UnmarshalJSON(b []byte) error {
	switch firstByte(b) {
	case '"':
		m.plain = unquote(b, bytes.IndexByte(b, '\\') >= 0)
	case '{':
		var o struct {
			Formatted lenientString   `json:"formatted"`
			Message   lenientString   `json:"message"`
			Params    json.RawMessage `json:"params"`
		}
		if err := lenientUnmarshal(b, &o); err != nil {
			return err
		}
		m.isObject = true
		m.Formatted, m.Message = string(o.Formatted), string(o.Message)
		if firstByte(o.Params) == '[' {
			m.params = new(scanner).renderArray([]string{}, o.Params, false)
		}
	}
	return nil
}

// wireStrings is a fingerprint: an array of strings (numbers and booleans
// kept as text).
type wireStrings []string

func (w *wireStrings) UnmarshalJSON(b []byte) error {
	if firstByte(b) == '[' {
		*w = new(scanner).renderArray([]string{}, b, true)
	}
	return nil
}

// wirePairs is a tag or header list: an object or [[key, value], ...], kept
// in order.
type wirePairs []Tag

func (w *wirePairs) UnmarshalJSON(b []byte) error {
	*w = new(scanner).pairs(nil, b)
	return nil
}

type wireUser struct {
	ID        lenientString   `json:"id"`
	Email     string          `json:"email"`
	Username  string          `json:"username"`
	IPAddress string          `json:"ip_address"`
	Data      json.RawMessage `json:"data"`
}

type wireRequest struct {
	Method      string          `json:"method"`
	URL         string          `json:"url"`
	QueryString wireQuery       `json:"query_string"`
	Headers     wirePairs       `json:"headers"`
	Data        json.RawMessage `json:"data"`
}

// wireQuery is a query string: a string, an object or a list of pairs.
type wireQuery string

func (q *wireQuery) UnmarshalJSON(b []byte) error {
	*q = wireQuery(new(scanner).query(b))
	return nil
}

type wireStack struct {
	Frames []wireFrame `json:"frames"`
}

// wireFrame is Frame with a lenient in_app: decoding "in_app":"yes" into a
// *bool would leave a non-nil false behind.
type wireFrame struct {
	Filename    string          `json:"filename"`
	AbsPath     string          `json:"abs_path"`
	Module      string          `json:"module"`
	Package     string          `json:"package"`
	Function    string          `json:"function"`
	RawFunction string          `json:"raw_function"`
	ContextLine string          `json:"context_line"`
	Platform    string          `json:"platform"`
	InApp       optBool         `json:"in_app"`
	Lineno      int             `json:"lineno"`
	Colno       int             `json:"colno"`
	PreContext  []string        `json:"pre_context"`
	PostContext []string        `json:"post_context"`
	Vars        json.RawMessage `json:"vars"`
}

// frames converts the wire frames, with one allocation for all the in_app
// values.
func (st *wireStack) frames() []Frame {
	if len(st.Frames) == 0 {
		return nil
	}
	out := make([]Frame, len(st.Frames))
	var inApp []bool
	for i := range st.Frames {
		w := &st.Frames[i]
		out[i] = Frame{
			Filename: w.Filename, AbsPath: w.AbsPath, Module: w.Module, Package: w.Package,
			Function: w.Function, RawFunction: w.RawFunction, ContextLine: w.ContextLine, Platform: w.Platform,
			Lineno: w.Lineno, Colno: w.Colno, PreContext: w.PreContext, PostContext: w.PostContext, Vars: nonNull(w.Vars),
		}
		if w.InApp.set {
			if inApp == nil {
				inApp = make([]bool, 0, len(st.Frames))
			}
			inApp = append(inApp, w.InApp.v)
			out[i].InApp = &inApp[len(inApp)-1]
		}
	}
	return out
}

// optBool is a boolean that stays unset unless the JSON value is true or
// false.
type optBool struct{ set, v bool }

func (o *optBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*o = optBool{set: true, v: true}
	case "false":
		*o = optBool{set: true}
	}
	return nil
}

func (o optBool) ptr() *bool {
	if !o.set {
		return nil
	}
	return &o.v
}

type wireMechanism struct {
	Type      string  `json:"type"`
	Handled   optBool `json:"handled"`
	Synthetic bool    `json:"synthetic"`
}

type wireException struct {
	Type       string         `json:"type"`
	Value      lenientString  `json:"value"`
	Module     string         `json:"module"`
	Mechanism  *wireMechanism `json:"mechanism"`
	Stacktrace *wireStack     `json:"stacktrace"`
}

// valuesOrArray decodes {"values": [...]} or a bare array into *dst,
// ignoring anything else.
func valuesOrArray[T any](b []byte, dst *[]T) error {
	switch firstByte(b) {
	case '[':
		return lenientUnmarshal(b, dst)
	case '{':
		var o struct {
			Values []T `json:"values"`
		}
		err := lenientUnmarshal(b, &o)
		*dst = o.Values
		return err
	}
	return nil
}

type wireExceptions []wireException

func (w *wireExceptions) UnmarshalJSON(b []byte) error {
	return valuesOrArray(b, (*[]wireException)(w))
}

type wireThread struct {
	ID         lenientString `json:"id"`
	Name       string        `json:"name"`
	Crashed    bool          `json:"crashed"`
	Current    bool          `json:"current"`
	Stacktrace *wireStack    `json:"stacktrace"`
}

type wireThreads []Thread

func (w *wireThreads) UnmarshalJSON(b []byte) error {
	var ts []wireThread
	err := valuesOrArray(b, &ts)
	if len(ts) > 0 {
		out := make([]Thread, len(ts))
		for i, t := range ts {
			out[i] = Thread{ID: string(t.ID), Name: t.Name, Crashed: t.Crashed, Current: t.Current}
			if t.Stacktrace != nil {
				out[i].Frames = t.Stacktrace.frames()
			}
		}
		*w = out
	}
	return err
}

type wireBreadcrumb struct {
	Timestamp wireTime        `json:"timestamp"`
	Type      string          `json:"type"`
	Category  string          `json:"category"`
	Message   lenientString   `json:"message"`
	Level     string          `json:"level"`
	Data      json.RawMessage `json:"data"`
}

type wireBreadcrumbs []Breadcrumb

func (w *wireBreadcrumbs) UnmarshalJSON(b []byte) error {
	var bs []wireBreadcrumb
	err := valuesOrArray(b, &bs)
	if len(bs) > 0 {
		out := make([]Breadcrumb, len(bs))
		for i, c := range bs {
			out[i] = Breadcrumb{Timestamp: c.Timestamp.t, Type: c.Type, Category: c.Category, Message: string(c.Message), Level: c.Level, Data: nonNull(c.Data)}
		}
		*w = out
	}
	return err
}

// referenceComparable reports whether DecodeEvent and decodeEventReference must
// agree on in: valid UTF-8, and object keys that are lowercase ASCII and
// unique in their object. encoding/json, under the reference, also matches
// keys case-insensitively and merges repeated keys into the value decoded
// before; DecodeEvent matches exactly and lets the last value win.
func referenceComparable(in []byte) bool {
	if !utf8.Valid(in) {
		return false
	}
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	type frame struct {
		object, wantKey bool
		keys            map[string]bool
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err != nil {
			return err == io.EOF
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if k, ok := tok.(string); ok {
				if k != strings.ToLower(k) || top.keys[k] {
					return false
				}
				top.keys[k] = true
				top.wantKey = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, wantKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// checkReference fails t when DecodeEvent and the reference decoder differ
// on in (where they must agree).
func checkReference(t *testing.T, in []byte, maxDepth int) {
	t.Helper()
	got, gerr := DecodeEvent(in, maxDepth)
	want, werr := decodeEventReference(in, maxDepth)
	if (gerr == nil) != (werr == nil) {
		t.Fatalf("DecodeEvent(%q): error %v, reference %v", in, gerr, werr)
	}
	if gerr != nil || !referenceComparable(in) {
		return
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("DecodeEvent(%q):\n got %s\nwant %s", in, g, w)
	}
}

// TestDecodeEventReference compares DecodeEvent with the encoding/json
// decoder it replaced on every fixture and seed.
func TestDecodeEventReference(t *testing.T) {
	var e Envelope
	n := 0
	for _, fx := range loadFixtures(t) {
		if strings.HasSuffix(fx.meta.Path, "/store/") {
			if p, err := StorePayload(fx.body, 0); err == nil {
				checkReference(t, p, 0)
				n++
			}
			continue
		}
		if e.Parse(fx.body, Limits{}) != nil {
			continue
		}
		for _, it := range e.Items {
			if it.Type == "event" || it.Type == "transaction" {
				checkReference(t, it.Payload, 0)
				n++
			}
		}
	}
	for _, s := range eventSeeds {
		checkReference(t, []byte(s), 0)
	}
	if n < 15 {
		t.Fatalf("compared only %d fixture events", n)
	}
}
