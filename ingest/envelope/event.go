package envelope

import (
	"bytes"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Event is the subset of a Sentry error event that Telltale stores and
// groups, with the protocol's polymorphic fields normalised (see
// DecodeEvent). An Event from DecodeEvent does not reference the payload's
// memory, but its strings share one copy of it; one from a Decoder shares
// the payload's memory itself (see Decoder).
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
	// ExceptionsMemo, when set, says that Exceptions came from the
	// Decoder's ExceptionCache: they are then shared and must not be
	// changed. It is their entry's memo, shared by every event with the
	// same Exceptions, where one consumer (grouping) keeps what it derives
	// from them alone; it goes when the entry leaves the cache.
	ExceptionsMemo *atomic.Value
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

// scratchPool holds the *scratch slices of finished decodes (getScratch,
// putScratch).
var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	sc.trim(maxScratch, true)
	scratchPool.Put(sc)
}

// DecodeEvent decodes an event (or transaction) payload.
//
// The payload is read in one pass by the package's validating JSON
// scanner, which bounds the nesting to maxDepth (DefaultMaxDepth when <= 0;
// ErrTooDeep). Unknown fields (modules, sdk, debug_meta, ...) are only
// scanned, never decoded; the fields kept are decoded into concrete
// structs, never map[string]any. The payload must be
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
//
// Memory: the payload is copied once into a string, and every string of
// the Event (at any depth) that was sent without JSON escapes is a
// substring of that copy; a string per value cost most of the decode's
// allocations. The json.RawMessage fields are copies of their own. The
// Event never aliases payload, which the caller may reuse as soon as
// DecodeEvent returns, but keeping any one of its strings keeps the whole
// payload-sized copy alive: a caller that holds a string for long (issue
// state, map keys) should strings.Clone it.
func DecodeEvent(payload []byte, maxDepth int) (*Event, error) {
	obj, err := eventObject(payload)
	if err != nil {
		return nil, err
	}
	sc := getScratch()
	defer putScratch(sc)
	st := eventState{mem: &eventMem{}, scratch: sc}
	return st.decode(obj, maxDepth)
}

// A Decoder decodes events for the ingest path, which stores the raw
// payload beside the issue and decodes it with DecodeEvent only when the
// event is read. It differs from DecodeEvent in three ways, which together
// let it decode events of the size it has grown to without allocating
// (strings that hold JSON escapes, and errors, excepted).
//
// It is lean: it decodes what grouping and the issue state read, and only
// checks the rest. Breadcrumbs, the request, contexts, extra, user.data and
// each frame's source context and vars are still scanned, so the payload's
// JSON grammar, string escapes and nesting bound are validated in full;
// they are only not built. Those values are most of a typical event's
// decoding time and allocations (see BenchmarkDecoder).
//
// It decodes in place: the Event's strings share the payload's memory
// instead of a copy of it, which saves a payload-sized allocation and copy
// per event, a third of what a flood allocates.
//
// It keeps and reuses its memory from one call to the next: the Event, its
// User, and the lists and booleans it points to, which DecodeEvent
// allocates for every event (copying each list, frames above all, out of a
// pooled scratch at its length). A list whose capacity grew past 4096
// elements in one decode is dropped after it, so that one huge event does
// not pin its memory for the Decoder's lifetime.
//
// The zero Decoder is ready to use. A Decoder is not safe for concurrent
// use: a server keeps one per request scratch or per goroutine.
type Decoder struct {
	mem eventMem
	// lists holds the Event's lists (frames, exceptions, threads, tags,
	// fingerprint and log params), one after the other in each slice (see
	// endList), and bools the block its in_app and handled values are
	// carved from.
	lists scratch
	bools []bool
	// Exceptions, when set, is the cache DecodeLeanInPlace takes an event's
	// exceptions from when an earlier event sent the same exception value
	// (see ExceptionCache). The Event's ExceptionsMemo is then set.
	Exceptions *ExceptionCache
}

// maxKept bounds the capacity, in elements, of a list a Decoder keeps for
// its next decode (4096 frames are about 900 KB; a typical event has tens).
const maxKept = 4096

// DecodeLeanInPlace decodes an event payload as DecodeEvent(payload,
// maxDepth) does, with the same error for every input, and returns the
// same Event except that Event.Breadcrumbs, Event.Request, Event.Contexts,
// Event.Extra, User.Data and, in every frame, Frame.PreContext,
// Frame.PostContext and Frame.Vars are left nil. A user sent with only
// data still gives a (then empty) User, as DecodeEvent gives one.
//
// The Event's strings share payload's memory: the caller must not change
// payload while the Event, or any string taken from it, is in use, and
// must clone what it keeps for longer. The returned Event, and every slice
// and pointer in it (exceptions, threads, frames, tags, fingerprint, log
// params, the user, in_app/handled booleans, ...), are owned by d and
// reused by its next call: the caller must be done with the Event before
// calling d again.
func (d *Decoder) DecodeLeanInPlace(payload []byte, maxDepth int) (*Event, error) {
	obj, err := eventObject(payload)
	if err != nil {
		return nil, err
	}
	// Nothing of the previous event survives: mem is zeroed, every list
	// element is appended as a zero value before it is decoded, and what
	// the previous event left past this one's elements is cleared after
	// (clearing the lists up front, with the collector's write barriers on,
	// had been a tenth of decoding); the bools carved from the block are
	// each set.
	d.mem = eventMem{}
	stale := d.lists.reset()
	st := eventState{mem: &d.mem, scratch: &d.lists, lean: true, bools: d.bools[:0], cache: d.Exceptions}
	ev, err := st.decode(obj, maxDepth)
	d.bools = trimList(st.bools, maxKept, false)
	d.lists.clearStale(stale)
	d.lists.trim(maxKept, false)
	return ev, err
}

// eventObject returns payload without its leading white space, or an error
// when it does not start a JSON object.
func eventObject(payload []byte) ([]byte, error) {
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, newError(ErrMalformed, reasonBadJSON, "event is not a JSON object: "+quote(payload))
	}
	return trimmed, nil
}

// decode decodes the event in obj (see eventObject) into st.mem.ev. Its
// strings are taken from obj itself in a lean decode (a Decoder's), from a
// copy of it otherwise.
func (st *eventState) decode(obj []byte, maxDepth int) (*Event, error) {
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	var src string
	if st.lean {
		src = unsafe.String(unsafe.SliceData(obj), len(obj))
	} else {
		src = string(obj)
	}
	s := scanner{b: obj, src: src, max: maxDepth}
	ok := s.object(0, func(key []byte) bool { return st.field(&s, key) })
	if ok {
		s.ws()
		ok = s.i == len(obj)
	}
	switch {
	case s.tooDeep:
		return nil, newError(ErrTooDeep, reasonTooDeep, "event nested deeper than "+itoa(maxDepth))
	case !ok:
		return nil, newError(ErrMalformed, reasonBadJSON, "invalid event JSON near byte "+itoa(s.i)+": "+quote(obj[min(s.i, len(obj)):]))
	}
	st.finish()
	return &st.mem.ev, nil
}
