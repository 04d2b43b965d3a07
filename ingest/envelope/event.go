package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event is the subset of a Sentry error event that Telltale stores and
// groups, with the protocol's polymorphic fields normalised (see
// DecodeEvent). Strings are copies: an Event does not reference the payload
// it was decoded from.
type Event struct {
	// EventID is the payload's event_id normalised to 32 lowercase hex
	// digits, or "" when missing or not a UUID. The envelope header's
	// event_id wins when both are present (the caller decides).
	EventID string
	// Timestamp is when the event happened, from an RFC 3339 string or a
	// number of Unix seconds, in UTC; the zero time when missing or invalid
	// (the caller substitutes the receive time).
	Timestamp time.Time
	// Platform, Level, Logger, ServerName, Release, Dist, Environment and
	// Transaction are the top-level string attributes of the same names
	// ("" when missing or not a string; a numeric release is kept as text).
	Platform, Level, Logger, ServerName, Release, Dist, Environment, Transaction string
	// Message is "message" when sent as a plain string, or message.formatted
	// when sent as an object.
	Message string
	// LogTemplate is the message template: logentry.message, else
	// message.message (for example "user %s").
	LogTemplate string
	// LogFormatted is logentry.formatted.
	LogFormatted string
	// LogParams are the template parameters (logentry.params, else
	// message.params): strings as they are, other values as their JSON text.
	// Parameters given as an object are not kept.
	LogParams []string
	// Fingerprint is the custom fingerprint; numbers and booleans are kept
	// as their JSON text (as Relay does), other non-strings are dropped.
	Fingerprint []string
	// Tags are the tags in the order sent, from an object or a list of
	// [key, value] pairs. Pairs with a null or structured value are dropped;
	// numbers and booleans are kept as text.
	Tags []Tag
	// User is the user interface, or nil when missing, empty or not an
	// object.
	User *User
	// Exceptions are the exception chain as sent: root cause first, the
	// outermost (caught) exception last. Both {"values": [...]} and a bare
	// array (sentry-go) are accepted.
	Exceptions []Exception
	// Threads are the threads, from {"values": [...]} or a bare array.
	Threads []Thread
	// Breadcrumbs are the breadcrumbs, from {"values": [...]} or a bare array.
	Breadcrumbs []Breadcrumb
	// Request is the request interface, or nil when missing, empty or not
	// an object.
	Request *Request
	// Contexts and Extra are the contexts and extra objects as sent (raw
	// JSON, for display), or nil when missing or null.
	Contexts, Extra json.RawMessage
}

// Tag is one key/value pair of Event.Tags or Request.Headers.
type Tag struct{ Key, Value string }

// User is the user interface of an event. ID is kept as text when sent as
// a number. IPAddress may be "{{auto}}", which means "use the client IP".
type User struct {
	ID, Email, Username, IPAddress string
	// Data is user.data as sent, or nil.
	Data json.RawMessage
}

// Exception is one exception of an event's chain.
type Exception struct {
	// Type and Value are the exception type and message; a non-string value
	// is kept as its JSON text. Module is the type's module or package.
	Type, Value, Module string
	// Synthetic is mechanism.synthetic: the type and value were made up by
	// the SDK and should not be used for grouping.
	Synthetic bool
	// Handled is mechanism.handled, or nil when not sent.
	Handled *bool
	// MechanismType is mechanism.type ("generic", "chained", ...).
	MechanismType string
	// Frames is stacktrace.frames: caller first, crashing frame last.
	Frames []Frame
}

// Thread is one thread of an event.
type Thread struct {
	// ID is the thread id as text (SDKs send numbers or strings).
	ID   string
	Name string
	// Crashed and Current tell whether the thread crashed and whether it is
	// the one that captured the event.
	Crashed, Current bool
	// Frames is stacktrace.frames, caller first.
	Frames []Frame
}

// Frame is one stack frame. Its JSON tags are the protocol's, so a Frame
// marshals back to Sentry's frame shape. A field of the wrong JSON type
// ("lineno": "12") is left empty.
type Frame struct {
	Filename    string `json:"filename,omitempty"`
	AbsPath     string `json:"abs_path,omitempty"`
	Module      string `json:"module,omitempty"`
	Package     string `json:"package,omitempty"`
	Function    string `json:"function,omitempty"`
	RawFunction string `json:"raw_function,omitempty"`
	ContextLine string `json:"context_line,omitempty"`
	Platform    string `json:"platform,omitempty"`
	// InApp is in_app, or nil when the SDK did not say.
	InApp       *bool           `json:"in_app,omitempty"`
	Lineno      int             `json:"lineno,omitempty"`
	Colno       int             `json:"colno,omitempty"`
	PreContext  []string        `json:"pre_context,omitempty"`
	PostContext []string        `json:"post_context,omitempty"`
	Vars        json.RawMessage `json:"vars,omitempty"`
}

// Breadcrumb is one breadcrumb. Timestamp is zero when missing or invalid.
type Breadcrumb struct {
	Timestamp                      time.Time
	Type, Category, Message, Level string
	// Data is the breadcrumb's data as sent, or nil.
	Data json.RawMessage
}

// Request is the request interface of an event.
type Request struct {
	Method, URL string
	// QueryString is the query without its leading '?'; a query sent as an
	// object or a list of pairs is encoded as "k=v&k2=v2".
	QueryString string
	// Headers are the request headers in the order sent, from an object or
	// a list of pairs.
	Headers []Tag
	// Data is the request body as sent (string, object, ...), or nil.
	Data json.RawMessage
}

// DecodeEvent decodes an event (or transaction) payload.
//
// The top level is read by the package's validating JSON scanner, which
// also bounds the nesting to maxDepth (DefaultMaxDepth when <= 0) before any
// value reaches encoding/json (ErrTooDeep). Unknown fields (modules, sdk,
// debug_meta, ...) are only scanned, never decoded; the fields kept are
// decoded into concrete structs, never map[string]any. The payload must be
// one valid JSON object (ErrMalformed with reason "bad_json" otherwise).
// Within it, decoding is lenient like Relay: a field of the wrong JSON type
// ("lineno": "12", "level": 5, "exception": 3) is ignored instead of
// rejecting the event. Keys match exactly (encoding/json would also match
// "Level"); a repeated key takes its last value.
//
// Normalised forms (§1.8 of the protocol notes, from the Sentry develop docs
// and real captures):
//   - exception, threads and breadcrumbs as {"values": [...]} or a bare array;
//   - message as a string or {formatted, message, params}; logentry
//     {message, formatted, params} (see Event.Message, LogTemplate);
//   - timestamp as an RFC 3339 string, a number of Unix seconds, or a string
//     holding such a number;
//   - tags and request.headers as an object or [[key, value], ...];
//     request.query_string as a string, an object or pairs;
//   - event_id with or without dashes, any case.
func DecodeEvent(payload []byte, maxDepth int) (*Event, error) {
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

func nonNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	return raw
}

// firstByte returns the first byte of a JSON value (encoding/json hands
// unmarshalers values without leading white space).
func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
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
	switch c := firstByte(b); {
	case c == '"':
		s := b[1 : len(b)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			s = []byte(unquote(b, true))
		}
		if t, ok := parseRFC3339(s); ok {
			w.t = t
			return nil
		}
		if f, err := strconv.ParseFloat(string(s), 64); err == nil {
			w.t, _ = floatTime(f)
		}
	case c == '-' || isDigit(c):
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			w.t, _ = floatTime(f)
		}
	}
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
			m.params = renderArray(o.Params, false)
		}
	}
	return nil
}

// renderArray renders the elements of a JSON array as text: strings as they
// are, other values as their JSON text. With scalarsOnly, nulls, objects and
// arrays are dropped (fingerprints); otherwise only nulls become "null".
func renderArray(raw []byte, scalarsOnly bool) []string {
	s := scanner{b: raw, max: DefaultMaxDepth * 4}
	out := []string{}
	s.elems(0, func() bool {
		v, ok := s.value(1)
		if !ok {
			return false
		}
		if t, ok := scalarText(v); ok {
			out = append(out, t)
		} else if !scalarsOnly {
			out = append(out, string(v))
		}
		return true
	})
	return out
}

// wireStrings is a fingerprint: an array of strings (numbers and booleans
// kept as text).
type wireStrings []string

func (w *wireStrings) UnmarshalJSON(b []byte) error {
	if firstByte(b) == '[' {
		*w = renderArray(b, true)
	}
	return nil
}

// wirePairs is a tag or header list: an object or [[key, value], ...], kept
// in order.
type wirePairs []Tag

func (w *wirePairs) UnmarshalJSON(b []byte) error {
	*w = decodePairs(b)
	return nil
}

func decodePairs(b []byte) []Tag {
	s := scanner{b: b, max: DefaultMaxDepth * 4}
	var out []Tag
	switch firstByte(b) {
	case '{':
		s.members(0, func(key []byte, esc bool) bool {
			v, ok := s.value(1)
			if !ok {
				return false
			}
			if t, ok := scalarText(v); ok {
				out = append(out, Tag{Key: unquote(key, esc), Value: t})
			}
			return true
		})
	case '[':
		s.elems(0, func() bool {
			v, ok := s.value(1)
			if !ok {
				return false
			}
			if kv, ok := pair(v); ok {
				out = append(out, kv)
			}
			return true
		})
	}
	return out
}

// pair reads ["key", value] with a scalar value.
func pair(raw []byte) (Tag, bool) {
	if firstByte(raw) != '[' {
		return Tag{}, false
	}
	s := scanner{b: raw, max: DefaultMaxDepth * 4}
	var vals [2][]byte
	n := 0
	if !s.elems(0, func() bool {
		v, ok := s.value(1)
		if ok && n < 2 {
			vals[n] = v
		}
		n++
		return ok
	}) || n != 2 || firstByte(vals[0]) != '"' {
		return Tag{}, false
	}
	k, _ := scalarText(vals[0])
	v, ok := scalarText(vals[1])
	return Tag{Key: k, Value: v}, ok
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
	switch firstByte(b) {
	case '"':
		*q = wireQuery(strings.TrimPrefix(unquote(b, bytes.IndexByte(b, '\\') >= 0), "?"))
	case '{', '[':
		var sb strings.Builder
		for _, kv := range decodePairs(b) {
			if sb.Len() > 0 {
				sb.WriteByte('&')
			}
			sb.WriteString(url.QueryEscape(kv.Key))
			sb.WriteByte('=')
			sb.WriteString(url.QueryEscape(kv.Value))
		}
		*q = wireQuery(sb.String())
	}
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
