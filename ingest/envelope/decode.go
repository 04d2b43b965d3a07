package envelope

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The event decoder walks the payload once with the scanner, decoding the
// fields it keeps in place and skipping the rest. encoding/json, which it
// replaced, took three quarters of an event's ingest time: it re-scans
// every nested value it is handed and fills structs through reflection.
//
// Each method below reads the value at the cursor (after white space);
// depth is the number of containers already open around that value. A value
// of an unexpected JSON type is skipped, as Relay's lenient decoding does,
// and leaves the destination alone; only malformed JSON or nesting past the
// scanner's bound fails.

// object calls fn for each member of the object at the cursor, with the
// member's key (unescaped) and the cursor before the value, which fn must
// consume at depth+1. Other values are skipped.
func (s *scanner) object(depth int, fn func(key []byte) bool) bool {
	s.ws()
	if s.peek() != '{' {
		return s.skip(depth)
	}
	return s.members(depth, func(tok []byte, esc bool) bool {
		if esc {
			return fn([]byte(unquote(tok, true)))
		}
		return fn(tok[1 : len(tok)-1])
	})
}

// array calls fn before each element of the array at the cursor; fn must
// consume the element at depth+1. Other values are skipped.
func (s *scanner) array(depth int, fn func() bool) bool {
	s.ws()
	if s.peek() != '[' {
		return s.skip(depth)
	}
	return s.elems(depth, fn)
}

// list reads a bare array or {"values": [...]}, the two forms SDKs send
// exceptions, threads and breadcrumbs in. start is called when an array
// begins (a repeated "values" replaces the earlier one), elem before each
// element, which it must consume at the depth it is given.
func (s *scanner) list(depth int, start func(), elem func(depth int) bool) bool {
	s.ws()
	switch s.peek() {
	case '[':
		start()
		return s.elems(depth, func() bool { return elem(depth + 1) })
	case '{':
		return s.object(depth, func(key []byte) bool {
			if string(key) != "values" || s.peekNonWS() != '[' {
				return s.skipValue(depth + 1)
			}
			start()
			return s.elems(depth+1, func() bool { return elem(depth + 2) })
		})
	}
	return s.skip(depth)
}

// peekNonWS skips white space and returns the byte at the cursor.
func (s *scanner) peekNonWS() byte {
	s.ws()
	return s.peek()
}

// skipValue skips the value at the cursor.
func (s *scanner) skipValue(depth int) bool {
	s.ws()
	return s.skip(depth)
}

// text reads a string into *dst.
func (s *scanner) text(depth int, dst *string) bool {
	if s.peekNonWS() != '"' {
		return s.skip(depth)
	}
	tok, esc, ok := s.str()
	if ok {
		*dst = s.contents(tok, esc)
	}
	return ok
}

// lenient reads any value but null as text into *dst: a string's contents,
// or the JSON text of anything else (Relay's LenientString).
func (s *scanner) lenient(depth int, dst *string) bool {
	switch s.peekNonWS() {
	case '"':
		return s.text(depth, dst)
	case 'n':
		return s.skip(depth)
	}
	raw, ok := s.value(depth)
	if ok {
		*dst = s.substr(raw)
	}
	return ok
}

// raw reads any value as a copy of its JSON text, or nil for null.
func (s *scanner) raw(depth int, dst *json.RawMessage) bool {
	v, ok := s.value(depth)
	if ok {
		*dst = nil
		if string(v) != "null" {
			*dst = bytes.Clone(v)
		}
	}
	return ok
}

// boolean reads true or false; isBool is false for other values.
func (s *scanner) boolean(depth int) (v, isBool, ok bool) {
	switch s.peekNonWS() {
	case 't':
		return true, true, s.lit("true")
	case 'f':
		return false, true, s.lit("false")
	}
	return false, false, s.skip(depth)
}

// integer reads an integer into *dst; a fraction, an exponent or a value
// out of range leaves *dst zero, as encoding/json's type error did.
func (s *scanner) integer(depth int, dst *int) bool {
	if c := s.peekNonWS(); c != '-' && !isDigit(c) {
		return s.skip(depth)
	}
	tok, ok := s.num()
	if ok {
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			n = 0
		}
		*dst = int(n)
	}
	return ok
}

// eventMem is an Event with room for the user and request it may point
// to, so that the three take one allocation.
type eventMem struct {
	ev      Event
	user    User
	request Request
}

// eventState holds what DecodeEvent or a Decoder reads before it
// assembles the Event.
type eventState struct {
	mem               *eventMem
	eventID           string
	message, logEntry message
	user              *User
	request           *Request
	scratch           *scratch
	// lean is set by a Decoder (see Decoder). Where the values it leaves
	// out are decoded (request, breadcrumbs, contexts, extra, user.data, a
	// frame's pre_context, post_context and vars), they are skipped
	// instead, with the same scanner routine that skips unknown fields and
	// still validates them, so both decoders fail on the same input,
	// alike. The strings are taken from the payload itself (see decode).
	// The lists are decoded into scratch, which is then the Decoder's own,
	// and left there as the Event's (see endList and renderArray).
	lean bool
	// cache, when set (a Decoder's Exceptions), gives the exceptions of an
	// exception value decoded before (see ExceptionCache).
	cache *ExceptionCache
	// userData records, in a lean decode, that user.data was sent and not
	// null: a User holding only data is kept (empty), as DecodeEvent keeps
	// it, so that the two return the same User apart from Data.
	userData bool
	// strs and bools are blocks that the event's string lists (source
	// context, which only DecodeEvent decodes) and optional booleans
	// (in_app, handled) are carved from, instead of one allocation each
	// (see carve). A Decoder lends its bools block.
	strs  []string
	bools []bool
}

// texts reads an array of strings; an element of another type reads as "".
func (st *eventState) texts(s *scanner, depth int, dst *[]string) bool {
	switch s.peekNonWS() {
	case 'n':
		*dst = nil
		return s.skip(depth)
	case '[':
	default:
		return s.skip(depth)
	}
	list, n := st.scratch.strs, len(st.scratch.strs)
	ok := s.elems(depth, func() bool {
		list = append(list, "")
		return s.text(depth+1, &list[len(list)-1])
	})
	*dst, st.scratch.strs = carve(&st.strs, list[n:]), list[:n]
	return ok
}

// renderArray is scanner.renderArray into a new slice, or, for a Decoder,
// into its strs list, where it stays as endList leaves a kept list (but
// empty rather than nil when sent empty, as for DecodeEvent).
func (st *eventState) renderArray(s *scanner, raw []byte, scalarsOnly bool) []string {
	if !st.lean {
		return s.renderArray([]string{}, raw, scalarsOnly)
	}
	n := len(st.scratch.strs)
	list := s.renderArray(st.scratch.strs, raw, scalarsOnly)
	st.scratch.strs = list
	if len(list) == n {
		return []string{}
	}
	return list[n:len(list):len(list)]
}

// pairs reads tags or headers (see scanner.pairs) into a scratch slice and
// copies them out at their length (see endList), instead of growing a
// slice pair by pair.
func (st *eventState) pairs(s *scanner, raw []byte) []Tag {
	n := len(st.scratch.tags)
	return endList(&st.scratch.tags, s.pairs(st.scratch.tags, raw), n, st.lean)
}

// newBool returns a pointer to a copy of v.
func (st *eventState) newBool(v bool) *bool {
	return &carve(&st.bools, []bool{v})[0]
}

// scratch holds the slices lists are decoded into before they are copied
// out at their final length: growing a slice of large structs element by
// element cost a quarter of decoding. DecodeEvent reuses them through
// getScratch and putScratch. A Decoder has one of its own, where the lists
// stay (see endList); it never decodes breadcrumbs, so that slice stays
// empty there.
type scratch struct {
	frames      []Frame
	exceptions  []Exception
	threads     []Thread
	breadcrumbs []Breadcrumb
	strs        []string
	tags        []Tag
}

// maxScratch bounds the elements of a scratch slice kept for reuse, so
// that one event with thousands of frames does not pin their memory.
const maxScratch = 256

// trim drops the slices of sc whose capacity grew past limit. With empty,
// it also empties the others for reuse, clearing what they hold (so that
// no pointer into an earlier event survives; exact already cleared what a
// pooled decode used); without, it leaves them as they are.
func (sc *scratch) trim(limit int, empty bool) {
	sc.frames = trimList(sc.frames, limit, empty)
	sc.exceptions = trimList(sc.exceptions, limit, empty)
	sc.threads = trimList(sc.threads, limit, empty)
	sc.breadcrumbs = trimList(sc.breadcrumbs, limit, empty)
	sc.strs = trimList(sc.strs, limit, empty)
	sc.tags = trimList(sc.tags, limit, empty)
}

// reset empties the slices of sc for reuse without clearing them, and
// returns their lengths for clearStale, to be called once they are
// filled again.
func (sc *scratch) reset() [6]int {
	n := [6]int{len(sc.frames), len(sc.exceptions), len(sc.threads), len(sc.breadcrumbs), len(sc.strs), len(sc.tags)}
	sc.frames, sc.exceptions, sc.threads = sc.frames[:0], sc.exceptions[:0], sc.threads[:0]
	sc.breadcrumbs, sc.strs, sc.tags = sc.breadcrumbs[:0], sc.strs[:0], sc.tags[:0]
	return n
}

// clearStale clears the elements a use before reset left past the slices'
// lengths now (the new use wrote over the others), so that no pointer
// into an earlier event survives.
func (sc *scratch) clearStale(n [6]int) {
	clearTail(sc.frames, n[0])
	clearTail(sc.exceptions, n[1])
	clearTail(sc.threads, n[2])
	clearTail(sc.breadcrumbs, n[3])
	clearTail(sc.strs, n[4])
	clearTail(sc.tags, n[5])
}

// clearTail clears list[len(list):n].
func clearTail[T any](list []T, n int) {
	if n > len(list) {
		clear(list[len(list):n])
	}
}

// trimList returns nil when the capacity of list is over limit, else list,
// emptied and cleared when empty is set.
func trimList[T any](list []T, limit int, empty bool) []T {
	if cap(list) > limit {
		return nil
	}
	if empty {
		clear(list)
		list = list[:0]
	}
	return list
}

// endList ends a list that was decoded by appending to *block from its
// length n: list is the grown block and list[n:] the decoded elements,
// which it returns, nil when there are none. Without keep (a pooled
// scratch, where n is 0), it returns a copy at their length (exact) and
// gives the block back empty. With keep (a Decoder's scratch), it returns
// list[n:] itself, capped so that appending to it cannot overwrite what
// follows, and leaves it in the block, where the next list goes after it:
// nothing is copied or allocated once the block has grown.
func endList[T any](block *[]T, list []T, n int, keep bool) []T {
	if !keep {
		*block = list[:n]
		return exact(list[n:])
	}
	*block = list
	if len(list) == n {
		return nil
	}
	return list[n:len(list):len(list)]
}

// exact returns a copy of list at its length, or nil when it is empty, and
// clears list for reuse (so that the pool holds no pointers into events).
func exact[T any](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	out := make([]T, len(list))
	copy(out, list)
	clear(list)
	return out
}

// carve returns a copy of list (empty but not nil when list is empty) made
// in the free capacity of *block, which is replaced by a new block, twice
// as large, when list does not fit. The copy's capacity is its length, so
// that appending to it cannot overwrite the next copy. Like exact, it
// clears list.
func carve[T any](block *[]T, list []T) []T {
	if len(list) == 0 {
		return []T{}
	}
	if cap(*block)-len(*block) < len(list) {
		*block = make([]T, 0, max(len(list), 2*cap(*block), 32))
	}
	b := *block
	n := len(b)
	b = append(b, list...)
	*block = b
	clear(list)
	return b[n:len(b):len(b)]
}

// field decodes the top-level member named key (depth 1).
func (st *eventState) field(s *scanner, key []byte) bool {
	ev := &st.mem.ev
	switch string(key) {
	case "event_id":
		return s.text(1, &st.eventID)
	case "platform":
		return s.text(1, &ev.Platform)
	case "level":
		return s.text(1, &ev.Level)
	case "logger":
		return s.text(1, &ev.Logger)
	case "server_name":
		return s.text(1, &ev.ServerName)
	case "dist":
		return s.text(1, &ev.Dist)
	case "environment":
		return s.text(1, &ev.Environment)
	case "transaction":
		return s.text(1, &ev.Transaction)
	case "release":
		ev.Release = ""
		return s.lenient(1, &ev.Release)
	case "timestamp":
		v, ok := s.value(1)
		ev.Timestamp = valueTime(v)
		return ok
	case "message":
		st.message = message{}
		return st.message.decode(s, st, 1)
	case "logentry":
		st.logEntry = message{}
		return st.logEntry.decode(s, st, 1)
	case "fingerprint":
		v, ok := s.value(1)
		ev.Fingerprint = nil
		if firstByte(v) == '[' {
			ev.Fingerprint = st.renderArray(s, v, true)
		}
		return ok
	case "tags":
		v, ok := s.value(1)
		ev.Tags = st.pairs(s, v)
		return ok
	case "user":
		st.user, st.userData = nil, false
		if s.peekNonWS() != '{' {
			return s.skip(1)
		}
		st.user = &st.mem.user
		*st.user = User{}
		return st.user.decode(s, st, 1)
	case "request":
		if st.lean {
			return s.skipValue(1)
		}
		st.request = nil
		if s.peekNonWS() != '{' {
			return s.skip(1)
		}
		st.request = &st.mem.request
		*st.request = Request{}
		return st.request.decode(s, st, 1)
	case "exception":
		ev.ExceptionsMemo = nil
		if st.cache != nil {
			return st.cachedExceptions(s, ev)
		}
		return st.exceptions(s, ev)
	case "threads":
		list, n := st.scratch.threads, len(st.scratch.threads)
		ok := s.list(1, func() { list = list[:n] }, func(d int) bool {
			list = append(list, Thread{})
			return list[len(list)-1].decode(s, st, d)
		})
		ev.Threads = endList(&st.scratch.threads, list, n, st.lean)
		return ok
	case "breadcrumbs":
		if st.lean {
			return s.skipValue(1)
		}
		list, n := st.scratch.breadcrumbs, len(st.scratch.breadcrumbs)
		ok := s.list(1, func() { list = list[:n] }, func(d int) bool {
			list = append(list, Breadcrumb{})
			return list[len(list)-1].decode(s, d)
		})
		ev.Breadcrumbs = endList(&st.scratch.breadcrumbs, list, n, st.lean)
		return ok
	case "contexts":
		if st.lean {
			return s.skipValue(1)
		}
		return s.raw(1, &ev.Contexts)
	case "extra":
		if st.lean {
			return s.skipValue(1)
		}
		return s.raw(1, &ev.Extra)
	}
	return s.skipValue(1)
}

// finish assembles the parts of the Event that depend on several fields.
func (st *eventState) finish() {
	ev := &st.mem.ev
	if id, ok := NormalizeEventID(st.eventID); ok {
		ev.EventID = id
	}
	// message: a plain string, or an object like logentry.
	ev.Message = st.message.plain
	if st.message.isObject {
		ev.Message = st.message.formatted
		ev.LogTemplate = st.message.template
		ev.LogParams = st.message.params
	}
	if st.logEntry.isObject {
		ev.LogFormatted = st.logEntry.formatted
		if st.logEntry.template != "" {
			ev.LogTemplate = st.logEntry.template
		}
		if st.logEntry.params != nil {
			ev.LogParams = st.logEntry.params
		}
	}
	if u := st.user; u != nil && (u.ID != "" || u.Email != "" || u.Username != "" || u.IPAddress != "" || len(u.Data) > 0 || st.userData) {
		ev.User = u
	}
	if r := st.request; r != nil && (r.Method != "" || r.URL != "" || r.QueryString != "" || len(r.Headers) > 0 || len(r.Data) > 0) {
		ev.Request = r
	}
}

// message is a message or logentry: a plain string or an object.
type message struct {
	plain, formatted, template string
	params                     []string
	isObject                   bool
}

func (m *message) decode(s *scanner, st *eventState, depth int) bool {
	switch s.peekNonWS() {
	case '"':
		return s.text(depth, &m.plain)
	case '{':
		m.isObject = true
		return s.object(depth, func(key []byte) bool {
			switch string(key) {
			case "formatted":
				m.formatted = ""
				return s.lenient(depth+1, &m.formatted)
			case "message":
				m.template = ""
				return s.lenient(depth+1, &m.template)
			case "params":
				v, ok := s.value(depth + 1)
				m.params = nil
				if firstByte(v) == '[' {
					m.params = st.renderArray(s, v, false)
				}
				return ok
			}
			return s.skipValue(depth + 1)
		})
	}
	return s.skip(depth)
}

func (u *User) decode(s *scanner, st *eventState, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "id":
			u.ID = ""
			return s.lenient(d, &u.ID)
		case "email":
			return s.text(d, &u.Email)
		case "username":
			return s.text(d, &u.Username)
		case "ip_address":
			return s.text(d, &u.IPAddress)
		case "data":
			if st.lean {
				// raw keeps null as nil, and any other value as its text.
				v, ok := s.value(d)
				st.userData = ok && string(v) != "null"
				return ok
			}
			return s.raw(d, &u.Data)
		}
		return s.skipValue(d)
	})
}

func (r *Request) decode(s *scanner, st *eventState, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "method":
			return s.text(d, &r.Method)
		case "url":
			return s.text(d, &r.URL)
		case "query_string":
			v, ok := s.value(d)
			r.QueryString = s.query(v)
			return ok
		case "headers":
			v, ok := s.value(d)
			r.Headers = st.pairs(s, v)
			return ok
		case "data":
			return s.raw(d, &r.Data)
		}
		return s.skipValue(d)
	})
}

func (x *Exception) decode(s *scanner, st *eventState, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "type":
			return s.text(d, &x.Type)
		case "value":
			return s.lenient(d, &x.Value)
		case "module":
			return s.text(d, &x.Module)
		case "mechanism":
			x.MechanismType, x.Handled, x.Synthetic = "", nil, false
			return s.object(d, func(key []byte) bool {
				switch string(key) {
				case "type":
					return s.text(d+1, &x.MechanismType)
				case "handled":
					v, isBool, ok := s.boolean(d + 1)
					if isBool {
						x.Handled = st.newBool(v)
					}
					return ok
				case "synthetic":
					v, isBool, ok := s.boolean(d + 1)
					if isBool {
						x.Synthetic = v
					}
					return ok
				}
				return s.skipValue(d + 1)
			})
		case "stacktrace":
			x.Frames = nil
			return decodeStack(s, st, d, &x.Frames)
		}
		return s.skipValue(d)
	})
}

func (t *Thread) decode(s *scanner, st *eventState, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "id":
			t.ID = ""
			return s.lenient(d, &t.ID)
		case "name":
			return s.text(d, &t.Name)
		case "crashed":
			v, isBool, ok := s.boolean(d)
			if isBool {
				t.Crashed = v
			}
			return ok
		case "current":
			v, isBool, ok := s.boolean(d)
			if isBool {
				t.Current = v
			}
			return ok
		case "stacktrace":
			t.Frames = nil
			return decodeStack(s, st, d, &t.Frames)
		}
		return s.skipValue(d)
	})
}

func (c *Breadcrumb) decode(s *scanner, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "timestamp":
			v, ok := s.value(d)
			c.Timestamp = valueTime(v)
			return ok
		case "type":
			return s.text(d, &c.Type)
		case "category":
			return s.text(d, &c.Category)
		case "message":
			return s.lenient(d, &c.Message)
		case "level":
			return s.text(d, &c.Level)
		case "data":
			return s.raw(d, &c.Data)
		}
		return s.skipValue(d)
	})
}

// exceptions reads the exception value into ev.Exceptions.
func (st *eventState) exceptions(s *scanner, ev *Event) bool {
	list, n := st.scratch.exceptions, len(st.scratch.exceptions)
	ok := s.list(1, func() { list = list[:n] }, func(d int) bool {
		list = append(list, Exception{})
		return list[len(list)-1].decode(s, st, d)
	})
	ev.Exceptions = endList(&st.scratch.exceptions, list, n, st.lean)
	return ok
}

// cachedExceptions reads the exception value through st.cache (see
// ExceptionCache): found by its prefix, it is neither decoded nor skipped;
// else it is decoded, then looked up by its whole text, and cached on its
// second sighting.
func (st *eventState) cachedExceptions(s *scanner, ev *Event) bool {
	c := st.cache
	s.ws()
	start := s.i
	if e := c.lookupPrefix(s.b[start:], s.max); e != nil {
		s.i += len(e.text)
		ev.Exceptions, ev.ExceptionsMemo = e.exceptions, &e.memo
		return true
	}
	if !st.exceptions(s, ev) {
		return false
	}
	text := s.b[start:s.i]
	if len(text) > maxCachedException || len(ev.Exceptions) == 0 {
		return true
	}
	h := maphash.Bytes(exceptionSeed, text)
	e, admit := c.lookup(text, h)
	if e == nil && admit {
		e = c.put(text, h, s.max, ev.Exceptions)
	}
	if e != nil {
		ev.Exceptions, ev.ExceptionsMemo = e.exceptions, &e.memo
	}
	return true
}

// decodeStack reads a stacktrace object's frames into *dst (nil when there
// are none).
func decodeStack(s *scanner, st *eventState, depth int, dst *[]Frame) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		if string(key) != "frames" {
			return s.skipValue(d)
		}
		frames, n := st.scratch.frames, len(st.scratch.frames)
		ok := s.array(d, func() bool {
			frames = append(frames, Frame{})
			return frames[len(frames)-1].decode(s, st, d+1)
		})
		*dst = endList(&st.scratch.frames, frames, n, st.lean)
		return ok
	})
}

func (f *Frame) decode(s *scanner, st *eventState, depth int) bool {
	return s.object(depth, func(key []byte) bool {
		d := depth + 1
		switch string(key) {
		case "filename":
			return s.text(d, &f.Filename)
		case "abs_path":
			return s.text(d, &f.AbsPath)
		case "module":
			return s.text(d, &f.Module)
		case "package":
			return s.text(d, &f.Package)
		case "function":
			return s.text(d, &f.Function)
		case "raw_function":
			return s.text(d, &f.RawFunction)
		case "context_line":
			return s.text(d, &f.ContextLine)
		case "platform":
			return s.text(d, &f.Platform)
		case "in_app":
			v, isBool, ok := s.boolean(d)
			if isBool {
				f.InApp = st.newBool(v)
			}
			return ok
		case "lineno":
			return s.integer(d, &f.Lineno)
		case "colno":
			return s.integer(d, &f.Colno)
		case "pre_context", "post_context", "vars":
			if st.lean {
				return s.skipValue(d)
			}
			switch string(key) {
			case "pre_context":
				return st.texts(s, d, &f.PreContext)
			case "post_context":
				return st.texts(s, d, &f.PostContext)
			}
			return s.raw(d, &f.Vars)
		}
		return s.skipValue(d)
	})
}

// valueTime reads a timestamp: an RFC 3339 string, a number of Unix
// seconds, or a string holding such a number; anything else is the zero
// time.
func valueTime(b []byte) time.Time {
	switch c := firstByte(b); {
	case c == '"':
		s := b[1 : len(b)-1]
		if bytes.IndexByte(s, '\\') >= 0 {
			s = []byte(unquote(b, true))
		}
		if t, ok := parseRFC3339(s); ok {
			return t
		}
		if f, err := strconv.ParseFloat(string(s), 64); err == nil {
			t, _ := floatTime(f)
			return t
		}
	case c == '-' || isDigit(c):
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			t, _ := floatTime(f)
			return t
		}
	}
	return time.Time{}
}

// query reads a query string, a value read by s: a string (without its
// leading '?'), or an object or list of pairs encoded as "k=v&k2=v2".
func (s *scanner) query(b []byte) string {
	switch firstByte(b) {
	case '"':
		return strings.TrimPrefix(s.contents(b, bytes.IndexByte(b, '\\') >= 0), "?")
	case '{', '[':
		var sb strings.Builder
		for _, kv := range s.pairs(nil, b) {
			if sb.Len() > 0 {
				sb.WriteByte('&')
			}
			sb.WriteString(url.QueryEscape(kv.Key))
			sb.WriteByte('=')
			sb.WriteString(url.QueryEscape(kv.Value))
		}
		return sb.String()
	}
	return ""
}

// firstByte returns the first byte of a JSON value (encoding/json hands
// unmarshalers values without leading white space).
func firstByte(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

// The helpers below read a value that s has already read and validated
// (raw, a sub-slice of s.b) with a scanner of their own, and take its text
// from s. The reference decoder in the tests calls them on a zero scanner,
// which copies the text instead.

// renderArray appends to out the elements of a JSON array rendered as text:
// strings as they are, other values as their JSON text. With scalarsOnly,
// nulls, objects and arrays are dropped (fingerprints); otherwise only nulls
// become "null".
func (s *scanner) renderArray(out []string, raw []byte, scalarsOnly bool) []string {
	r := scanner{b: raw, max: DefaultMaxDepth * 4}
	r.elems(0, func() bool {
		v, ok := r.value(1)
		if !ok {
			return false
		}
		if t, ok := s.scalarText(v); ok {
			out = append(out, t)
		} else if !scalarsOnly {
			out = append(out, s.substr(v))
		}
		return true
	})
	return out
}

// pairs appends to out the tags or headers in raw: an object, or a list of
// [key, value] pairs.
func (s *scanner) pairs(out []Tag, raw []byte) []Tag {
	r := scanner{b: raw, max: DefaultMaxDepth * 4}
	switch firstByte(raw) {
	case '{':
		r.members(0, func(key []byte, esc bool) bool {
			v, ok := r.value(1)
			if !ok {
				return false
			}
			if t, ok := s.scalarText(v); ok {
				out = append(out, Tag{Key: s.contents(key, esc), Value: t})
			}
			return true
		})
	case '[':
		r.elems(0, func() bool {
			v, ok := r.value(1)
			if !ok {
				return false
			}
			if kv, ok := s.pair(v); ok {
				out = append(out, kv)
			}
			return true
		})
	}
	return out
}

// pair reads ["key", value] with a scalar value.
func (s *scanner) pair(raw []byte) (Tag, bool) {
	if firstByte(raw) != '[' {
		return Tag{}, false
	}
	r := scanner{b: raw, max: DefaultMaxDepth * 4}
	var vals [2][]byte
	n := 0
	if !r.elems(0, func() bool {
		v, ok := r.value(1)
		if ok && n < 2 {
			vals[n] = v
		}
		n++
		return ok
	}) || n != 2 || firstByte(vals[0]) != '"' {
		return Tag{}, false
	}
	k, _ := s.scalarText(vals[0])
	v, ok := s.scalarText(vals[1])
	return Tag{Key: k, Value: v}, ok
}
