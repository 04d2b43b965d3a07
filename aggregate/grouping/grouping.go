package grouping

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// ConfigVersion names the grouping algorithm implemented by this package. It
// is stored beside each hash so that a later change can compute secondary
// hashes with the old version instead of splitting existing issues.
const ConfigVersion = "telltale:2026-11-26"

// Event is the part of a decoded Sentry event that grouping needs. Strings
// are used as given; Group does not modify or retain the Event.
type Event struct {
	Platform, Level, Logger, Transaction string
	// Message is the top-level "message" string or message.formatted.
	Message string
	// LogTemplate is logentry.message, the template with %s placeholders.
	// Grouping prefers it to the formatted text.
	LogTemplate string
	// LogFormatted is logentry.formatted.
	LogFormatted string
	Fingerprint  []string
	Tags         []Tag
	// Exceptions are in the order sent: root cause first, the outermost
	// (caught) exception last.
	Exceptions []Exception
	Threads    []Thread
	// ExceptionsMemo, when set, is shared by every event with the same
	// Exceptions (envelope.ExceptionCache gives one with each list it
	// keeps): a Grouper keeps there what it derived from them (memo.go).
	ExceptionsMemo *atomic.Value
}

// Tag is one event tag.
type Tag struct{ Key, Value string }

// Exception is one entry of the event's exception values.
type Exception struct {
	Type, Value, Module string
	// Synthetic is mechanism.synthetic: the type was made up by the SDK.
	Synthetic bool
	// Handled is mechanism.handled, nil when absent.
	Handled *bool
	// MechanismType is mechanism.type.
	MechanismType string
	// Frames are ordered caller first, crashing frame last.
	Frames []Frame
}

// Thread is one entry of the event's threads values.
type Thread struct {
	ID, Name         string
	Crashed, Current bool
	// Frames are ordered caller first, crashing frame last.
	Frames []Frame
}

// Frame is one stack frame. Its JSON names are the protocol's, so that a
// stored event (aggregate/issues.Doc) shows Sentry's frame shape. Grouping
// reads neither the context around the line nor the variables; they are
// kept for display.
type Frame struct {
	Filename    string `json:"filename,omitempty"`
	AbsPath     string `json:"abs_path,omitempty"`
	Module      string `json:"module,omitempty"`
	Package     string `json:"package,omitempty"`
	Function    string `json:"function,omitempty"`
	RawFunction string `json:"raw_function,omitempty"`
	ContextLine string `json:"context_line,omitempty"`
	Platform    string `json:"platform,omitempty"`
	// InApp is nil when the SDK did not say; see the package doc for how an
	// unset value is decided.
	InApp       *bool           `json:"in_app,omitempty"`
	Lineno      int             `json:"lineno,omitempty"`
	Colno       int             `json:"colno,omitempty"`
	PreContext  []string        `json:"pre_context,omitempty"`
	PostContext []string        `json:"post_context,omitempty"`
	Vars        json.RawMessage `json:"vars,omitempty"`
}

// Result is what Group derives from an event.
type Result struct {
	// Hash is 32 lowercase hex digits: the md5 of the contributing values.
	Hash string
	// Kind is "default", "hybrid" (fingerprint containing {{ default }}) or
	// "custom" (fingerprint without it).
	Kind string
	// Variant names what decided the default hash: "app", "system",
	// "message" or "fallback" (nothing usable, the hash of nothing). It is
	// "custom-fingerprint" when a custom fingerprint replaced the default.
	Variant string
	// Components lists everything considered, in hash order, with whether it
	// contributed and, when it did not, a hint saying why.
	Components []Component
	Title      string
	Culprit    string
	Metadata   Metadata
}

// Component is one grouping input, shown in the UI and in golden tests.
type Component struct {
	// ID locates the input, e.g. "exception[0].type",
	// "exception[1].stacktrace.frame[3]", "threads.stacktrace.frame[0]",
	// "message" or "fingerprint[0]".
	ID string
	// Values are the (normalised) values; for a frame the contributing parts
	// in the order module or filename, function, context line.
	Values      []string
	Contributes bool
	// inApp is set on the component of an in-app frame; the app variant
	// ignores the other frames. (Here rather than below, it fits in the
	// padding after Contributes.)
	inApp bool
	// Hint says why the component does not contribute, or how its value was
	// changed; empty otherwise.
	Hint string

	// kinds tags each entry of Values for the hash (see kind* constants), so
	// that e.g. a frame with only a module never hashes like a frame with
	// only a function.
	kinds string
}

// Metadata is the issue metadata Sentry derives from an event.
type Metadata struct {
	// Type and Value come from the outermost (last) exception; Type is empty
	// for synthetic exceptions.
	Type, Value string
	// Filename and Function locate the crashing frame (in-app preferred).
	Filename, Function string
	// Title is set for message (non-error) events.
	Title string
}

// Hash kind tags. Each contributing value is hashed as tag byte, value, 0xFF.
const (
	kindType        = 't'
	kindValue       = 'v'
	kindModule      = 'm'
	kindFilename    = 'f'
	kindFunction    = 'n'
	kindContextLine = 'c'
	kindMessage     = 'g'
	kindFingerprint = 'p'
)

// Hints, shared so that building components does not allocate.
const (
	hintSynthetic         = "ignored because exception is synthetic"
	hintStackPrecedence   = "ignored because stacktrace takes precedence"
	hintStripped          = "stripped event-specific values"
	hintNonApp            = "non app frame"
	hintRecursion         = "ignored due to recursion"
	hintLowQualityJS      = "ignored low quality javascript frame"
	hintSingleJS          = "ignored single non-URL JavaScript frame"
	hintNoValues          = "ignored because frame has no usable module, filename, function or context line"
	hintNoType            = "ignored because exception has no type"
	hintNoValue           = "ignored because exception has no value"
	hintNoFrames          = "ignored because it contains no frames"
	hintExceptionWins     = "ignored because exception takes precedence"
	hintThreadsWin        = "ignored because thread stacktrace takes precedence"
	hintCustomFingerprint = "ignored because custom fingerprint takes precedence"
)

// emptyHash is md5 of nothing: Sentry's fallback hash.
const emptyHash = "d41d8cd98f00b204e9800998ecf8427e"

// Group computes the grouping result of ev. It never panics on any input and
// is safe for concurrent use.
func Group(ev *Event) Result {
	b := builder{ev: ev}
	var scratch [1024]byte // the hash input of most events fits
	r, _ := b.group(scratch[:0])
	return r
}

// group computes the grouping result of b.ev, using hashBuf for the hash
// input; it returns the buffer, grown if it had to be, for reuse.
func (b *builder) group(hashBuf []byte) (Result, []byte) {
	var r Result
	def := b.defaultComponents(&r)
	r.Kind = "default"
	if len(b.ev.Fingerprint) > 0 {
		b.applyFingerprint(&r, def)
	} else {
		r.Components = def
	}
	r.Hash, hashBuf = hashComponents(r.Components, hashBuf)
	describe(b.ev, &r)
	return r, hashBuf
}

// hashComponents is md5 over the contributing values of comps. buf is
// scratch space for the hash input; it is returned, grown if need be.
func hashComponents(comps []Component, buf []byte) (string, []byte) {
	buf = buf[:0]
	for i := range comps {
		c := &comps[i]
		if !c.Contributes {
			continue
		}
		for j, v := range c.Values {
			k := byte(kindValue)
			if j < len(c.kinds) {
				k = c.kinds[j]
			}
			buf = append(buf, k)
			if utf8.ValidString(v) {
				buf = append(buf, v...)
			} else {
				buf = appendValidUTF8(buf, v)
			}
			buf = append(buf, 0xFF)
		}
	}
	if len(buf) == 0 {
		return emptyHash, buf
	}
	sum := md5.Sum(buf)
	return hex.EncodeToString(sum[:]), buf
}

// appendValidUTF8 appends s with each invalid byte replaced by U+FFFD, so
// that 0xFF can only be a separator.
func appendValidUTF8(dst []byte, s string) []byte {
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\uFFFD"...)
		} else {
			dst = append(dst, s[:n]...)
		}
		s = s[n:]
	}
	return dst
}

// defaultComponents builds the default (no fingerprint) components and sets
// r.Variant.
func (b *builder) defaultComponents(r *Result) []Component {
	ev := b.ev
	if len(ev.Exceptions) > 0 {
		if b.exceptions() {
			r.Variant = b.variant
			b.addMessage(hintExceptionWins, false)
			return b.comps
		}
	} else if th := crashThread(ev); th != nil {
		if b.thread(th) {
			r.Variant = b.variant
			b.addMessage(hintThreadsWin, false)
			return b.comps
		}
	}
	if b.addMessage("", true) {
		r.Variant = "message"
		return b.comps
	}
	r.Variant = "fallback"
	return b.comps
}

// builder accumulates components. vals is a shared backing array for their
// values, and frame IDs come from frameIDs, so that a 20-frame event costs
// a handful of allocations. Group uses a fresh builder; a Grouper's builder
// takes its slices and IDs from the Grouper (g), so that it allocates none.
type builder struct {
	ev      *Event
	g       *Grouper // nil in Group
	comps   []Component
	fpComps []Component // set by applyFingerprint
	vals    []string
	variant string
}

// newComps returns an empty component slice with room for n.
func (b *builder) newComps(n int) []Component {
	if b.g != nil && cap(b.g.comps) >= n {
		return b.g.comps[:0]
	}
	return make([]Component, 0, n)
}

// newVals returns an empty value slice with room for n and for the values
// of the event's fingerprint entries, so that applyFingerprint never grows
// it.
func (b *builder) newVals(n int) []string {
	n += len(b.ev.Fingerprint)
	if b.g != nil && cap(b.g.vals) >= n {
		return b.g.vals[:0]
	}
	return make([]string, 0, n)
}

// value appends v to the shared values and returns it as a component's
// Values.
func (b *builder) value(v string) []string {
	if b.vals == nil {
		b.vals = b.newVals(1)
	}
	b.vals = append(b.vals, v)
	return b.vals[len(b.vals)-1 : len(b.vals) : len(b.vals)]
}

// stackInfo says what one stack trace contributes in each variant.
type stackInfo struct {
	appContrib bool // some in-app frame contributes
	sysContrib bool // some frame contributes
}

// addFrames appends one component per frame, with the IDs ids, as the
// system variant sees it (useVariant applies the app variant once all
// stack traces are known).
func (b *builder) addFrames(frames []Frame, ids []string) stackInfo {
	var si stackInfo
	for i := range frames {
		var prev *Frame
		if i > 0 {
			prev = &frames[i-1]
		}
		b.comps = append(b.comps, Component{ID: ids[i]})
		c := &b.comps[len(b.comps)-1]
		b.vals = frameComponent(c, b.vals, &frames[i], prev, b.ev.Platform)
		if c.Contributes {
			si.sysContrib = true
			si.appContrib = si.appContrib || c.inApp
		}
	}
	// Sentry ignores single-frame JavaScript stack traces without a function
	// whose file comes from a URL: too little to group on.
	if len(frames) == 1 && si.sysContrib {
		f := &frames[0]
		if isJSFamily(platformOf(f, b.ev.Platform)) && f.Function == "" && hasURLOrigin(f.AbsPath, true) {
			c := &b.comps[len(b.comps)-1]
			c.Contributes = false
			c.Hint = hintSingleJS
			si = stackInfo{}
		}
	}
	return si
}

// useVariant applies the chosen variant to one stack trace's frame
// components: the app variant ignores frames that are not in-app. It
// reports whether the stack trace contributes.
func useVariant(frames []Component, app bool) bool {
	contributes := false
	for i := range frames {
		c := &frames[i]
		if c.Contributes && app && !c.inApp {
			c.Contributes = false
			c.Hint = hintNonApp
		}
		contributes = contributes || c.Contributes
	}
	return contributes
}

// exceptions adds the chained-exception components; it reports whether any
// contributes.
func (b *builder) exceptions() bool {
	exs := b.ev.Exceptions
	nframes := 0
	for i := range exs {
		nframes += len(exs[i].Frames)
	}
	b.comps = b.newComps(nframes + 2*len(exs) + 1)
	b.vals = b.newVals(3*nframes + 2*len(exs) + 1)
	// Each exception adds its frames, its type and its value. The type and
	// value are decided once the variant is known (a value only counts
	// when its stack trace does not).
	anyApp, anySys := false, false
	for i := range exs {
		ids, typeID, valueID := b.exceptionIDs(i, len(exs[i].Frames))
		si := b.addFrames(exs[i].Frames, ids)
		anyApp = anyApp || si.appContrib
		anySys = anySys || si.sysContrib
		b.comps = append(b.comps, Component{ID: typeID, kinds: "t"}, Component{ID: valueID, kinds: "v"})
	}
	app := anyApp || !anySys
	b.variant = "app"
	if !app {
		b.variant = "system"
	}
	contributes := false
	comps := b.comps
	for i := range exs {
		e := &exs[i]
		n := len(e.Frames)
		stackContrib := useVariant(comps[:n], app)
		if stackContrib {
			contributes = true
		}
		tc, vc := &comps[n], &comps[n+1]
		comps = comps[n+2:]
		switch {
		case e.Type == "":
			tc.Hint = hintNoType
		case e.Synthetic:
			tc.Values = b.value(e.Type)
			tc.Hint = hintSynthetic
		default:
			tc.Values = b.value(e.Type)
			tc.Contributes = true
			contributes = true
		}
		switch {
		case e.Value == "":
			vc.Hint = hintNoValue
		case stackContrib:
			// Not normalised: the value does not contribute, and skipping
			// the parameterisation keeps the common case cheap.
			vc.Values = b.value(e.Value)
			vc.Hint = hintStackPrecedence
		default:
			n := Normalize(e.Value)
			if n == "" {
				vc.Hint = hintNoValue
				break
			}
			vc.Values = b.value(n)
			vc.Contributes = true
			contributes = true
			if n != e.Value {
				vc.Hint = hintStripped
			}
		}
	}
	return contributes
}

// commonFrameIDs are the IDs of the first frames of the first exception and
// of a thread, built once: the usual event's IDs need neither work nor
// allocation. They are never modified.
var commonFrameIDs = struct{ exception, thread []string }{
	exception: buildFrameIDs("exception[0].stacktrace.frame", 128),
	thread:    buildFrameIDs("threads.stacktrace.frame", 128),
}

// exceptionIDs returns the IDs of the frames, the type and the value of
// exception[i], which has n frames. Those of exception[0] are constants
// or come from commonFrameIDs; a Grouper keeps the others it builds (see
// idCache).
func (b *builder) exceptionIDs(i, n int) (frames []string, typeID, valueID string) {
	if i == 0 {
		return frameIDs("exception[0].stacktrace.frame", n), "exception[0].type", "exception[0].value"
	}
	if b.g == nil || i > maxCachedExceptions {
		e := newExceptionIDs(i)
		return buildFrameIDs(e.stack, n), e.typ, e.value
	}
	c := &b.g.ids
	for len(c.exceptions) < i {
		c.exceptions = append(c.exceptions, newExceptionIDs(len(c.exceptions)+1))
	}
	e := &c.exceptions[i-1]
	if n > len(e.frames) {
		if n > maxCachedFrameIDs {
			return buildFrameIDs(e.stack, n), e.typ, e.value
		}
		// Room for some more frames than this event has, so that a few
		// events with growing stacks do not each rebuild the IDs.
		e.frames = buildFrameIDs(e.stack, min(max(n, 2*len(e.frames), 16), maxCachedFrameIDs))
	}
	return e.frames[:n], e.typ, e.value
}

// newExceptionIDs returns the IDs of exception[i], without frame IDs.
func newExceptionIDs(i int) exceptionIDs {
	head := "exception[" + strconv.Itoa(i) + "]"
	return exceptionIDs{stack: head + ".stacktrace.frame", typ: head + ".type", value: head + ".value"}
}

// frameIDs returns the IDs prefix[0], ..., prefix[n-1] of a stack trace's
// frames.
func frameIDs(prefix string, n int) []string {
	switch {
	case n <= len(commonFrameIDs.exception) && prefix == "exception[0].stacktrace.frame":
		return commonFrameIDs.exception[:n]
	case n <= len(commonFrameIDs.thread) && prefix == "threads.stacktrace.frame":
		return commonFrameIDs.thread[:n]
	}
	return buildFrameIDs(prefix, n)
}

// buildFrameIDs returns prefix[0], ..., prefix[n-1], cut from one string.
func buildFrameIDs(prefix string, n int) []string {
	var all strings.Builder
	all.Grow(n * (len(prefix) + 2 + decimalLen(n)))
	for i := 0; i < n; i++ {
		all.WriteString(prefix)
		all.WriteByte('[')
		all.WriteString(strconv.Itoa(i))
		all.WriteByte(']')
	}
	s := all.String()
	ids := make([]string, n)
	for i := range ids {
		l := len(prefix) + 2 + decimalLen(i)
		ids[i], s = s[:l], s[l:]
	}
	return ids
}

// thread adds the components of the chosen thread's stack trace.
func (b *builder) thread(th *Thread) bool {
	b.comps = b.newComps(len(th.Frames) + 1)
	b.vals = b.newVals(3*len(th.Frames) + 1)
	si := b.addFrames(th.Frames, frameIDs("threads.stacktrace.frame", len(th.Frames)))
	app := si.appContrib || !si.sysContrib
	b.variant = "app"
	if !app {
		b.variant = "system"
	}
	return useVariant(b.comps, app)
}

// decimalLen is the number of decimal digits of a non-negative i.
func decimalLen(i int) int {
	n := 1
	for i >= 10 {
		i /= 10
		n++
	}
	return n
}

// addMessage appends the message component. When use is false the message
// is only shown (raw) with hint; it reports whether it contributes.
func (b *builder) addMessage(hint string, use bool) bool {
	msg := messageForGrouping(b.ev)
	if msg == "" {
		return false
	}
	if !use {
		b.comps = append(b.comps, Component{ID: "message", Values: b.value(msg), Hint: hint, kinds: "g"})
		return false
	}
	n := Normalize(msg)
	if n == "" {
		return false
	}
	if b.comps == nil { // no exception or thread: a message event
		b.comps = b.newComps(1)
	}
	c := Component{ID: "message", Values: b.value(n), Contributes: true, kinds: "g"}
	if n != msg {
		c.Hint = hintStripped
	}
	b.comps = append(b.comps, c)
	return true
}

// messageForGrouping prefers the template, as Sentry's message strategy does.
func messageForGrouping(ev *Event) string {
	switch {
	case ev.LogTemplate != "":
		return ev.LogTemplate
	case ev.LogFormatted != "":
		return ev.LogFormatted
	}
	return ev.Message
}

// crashThread picks the crashed thread, else the current one, else the only
// one. Sentry's threads strategy only uses a single thread; preferring the
// crashed or current one is our extension for multi-thread payloads.
func crashThread(ev *Event) *Thread {
	for i := range ev.Threads {
		if ev.Threads[i].Crashed {
			return &ev.Threads[i]
		}
	}
	for i := range ev.Threads {
		if ev.Threads[i].Current {
			return &ev.Threads[i]
		}
	}
	if len(ev.Threads) == 1 {
		return &ev.Threads[0]
	}
	return nil
}
