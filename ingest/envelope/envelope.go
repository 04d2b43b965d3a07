package envelope

import (
	"bytes"
	"strconv"
	"time"
)

// Envelope is a parsed Sentry envelope. Parse fills it in place; reuse one
// Envelope per goroutine to avoid allocating for the framing.
//
// Item payloads are sub-slices of the body given to Parse: they are valid
// only as long as that body is, and until the next call to Parse. Copy what
// must outlive the request. An Envelope is not safe for concurrent use.
type Envelope struct {
	// Header is the envelope header (the first line).
	Header Header
	// Items are the items in the order they were sent, unknown types
	// included.
	Items []Item
}

// Header holds the envelope header fields Telltale uses. Unknown attributes
// (trace, the sdk's integrations and packages, ...) are validated as JSON
// and skipped.
type Header struct {
	// EventID is the header's event_id normalised to 32 lowercase hex
	// digits, or "" when absent or null. It wins over an event payload's own
	// event_id.
	EventID string
	// DSN is the header's dsn as sent, or "" (see ParseDSN). @sentry/node
	// and sentry-python 1.x do not send it; sentry-go does.
	DSN string
	// SentAt is the header's sent_at (the client clock when sending, for
	// clock-drift correction), or the zero time when absent or not an RFC
	// 3339 timestamp.
	SentAt time.Time
	// SDKName and SDKVersion are sdk.name and sdk.version, or "".
	SDKName, SDKVersion string
}

// Item is one envelope item: its header fields and its payload.
type Item struct {
	// Type is the item type ("event", "transaction", "attachment",
	// "session", "client_report", "span", "log", ...). Unknown types are
	// kept; the caller counts and skips them.
	Type string
	// HasLength reports whether the item header gave an explicit length
	// (then len(Payload)); without one the payload ran to the next '\n'.
	HasLength bool
	// ContentType, Filename and AttachmentType are the item header's
	// content_type, filename and attachment_type, or "".
	ContentType, Filename, AttachmentType string
	// ItemCount is the item header's item_count (span and log items), or 0.
	ItemCount int
	// Payload is the item payload: a sub-slice of the body given to Parse,
	// valid until the next Parse, with its capacity clipped to its length.
	Payload []byte
}

// Default limits, after Relay's defaults.
const (
	// DefaultMaxItems is the default Limits.MaxItems.
	DefaultMaxItems = 100
	// DefaultMaxEventSize is the default Limits.MaxEventSize and StorePayload
	// maximum: 1 MiB, Relay's max_event_size.
	DefaultMaxEventSize = 1 << 20
	// DefaultMaxDepth is the default Limits.MaxDepth and DecodeEvent
	// maximum nesting.
	DefaultMaxDepth = 64
)

// Limits bound what Parse accepts. A zero field takes its default.
type Limits struct {
	// MaxItems is the largest number of items in one envelope
	// (DefaultMaxItems). More is ErrTooManyItems.
	MaxItems int
	// MaxEventSize is the largest payload of an event or transaction item
	// (DefaultMaxEventSize, Relay's max_event_size). Larger is ErrTooLarge;
	// other item types are bounded only by the body size, which the caller
	// caps.
	MaxEventSize int
	// MaxDepth is the deepest JSON nesting accepted in header lines and, for
	// the caller's use with DecodeEvent, in events (DefaultMaxDepth).
	MaxDepth int
}

func (l Limits) withDefaults() Limits {
	if l.MaxItems <= 0 {
		l.MaxItems = DefaultMaxItems
	}
	if l.MaxEventSize <= 0 {
		l.MaxEventSize = DefaultMaxEventSize
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Parse parses body as an envelope into e, following
// https://develop.sentry.dev/sdk/foundations/data-model/envelopes/:
//
//	Envelope = Headers { "\n" Item } [ "\n" ]
//	Item     = Headers "\n" Payload
//
// Rules, and where Parse is more lenient than Relay:
//   - the header line is a JSON object; white space around it is allowed
//     (so a "\r" before its "\n" is ignored). A header-only envelope ("{}" or
//     "{}\n") is valid and has no items;
//   - the envelope event_id must be a UUID (32 hex digits, or 36 with dashes)
//     or null, otherwise the envelope is malformed; it is normalised to 32
//     lowercase hex digits. A sent_at that is not an RFC 3339 timestamp, and
//     dsn or sdk fields of the wrong JSON type, are ignored;
//   - a repeated event_id, dsn or sent_at in the envelope header, or a
//     repeated type or length in an item header, is malformed (the spec
//     rejects a second sent_at; the scan makes the check free);
//   - an item header needs a string "type"; "length", when present and not
//     null, must be a non-negative integer. A length-prefixed payload must
//     be followed by "\n" or the end of the body, and a body that ends
//     before length bytes is malformed. Without a length the payload runs to
//     the next "\n" or the end of the body (what @sentry/node sends). A "\r"
//     before a payload's "\n" belongs to the payload;
//   - blank lines where an item header is expected are skipped (Relay
//     rejects them);
//   - an event or transaction payload over lim.MaxEventSize is ErrTooLarge,
//     detected from the length header before the payload is read, so a
//     truncated body with a huge declared event is still 413; more than
//     lim.MaxItems items is ErrTooManyItems;
//   - item header fields of the wrong JSON type other than type and length
//     are ignored; unknown item types and unknown attributes are kept and
//     skipped respectively.
//
// Parse resets e first and reuses the backing array of e.Items. It allocates
// nothing for the framing once e has grown, except for strings that differ
// from the previous envelope's (usually just the event id; item types and
// common content types are interned). On error, e holds what was parsed
// before the error; the error wraps ErrMalformed, ErrTooLarge,
// ErrTooManyItems or ErrTooDeep.
func (e *Envelope) Parse(body []byte, lim Limits) error {
	lim = lim.withDefaults()
	prev := e.Header
	e.Header = Header{}
	e.Items = e.Items[:0]
	err := e.parse(body, lim, &prev)
	// Drop references to an older body from the unused tail so it can be
	// collected; the strings there stay for reuse.
	tail := e.Items[len(e.Items):cap(e.Items)]
	for i := range tail {
		tail[i].Payload = nil
	}
	return err
}

func (e *Envelope) parse(body []byte, lim Limits, prev *Header) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(ErrMalformed, reasonEmpty, "empty envelope")
	}
	line, pos := nextLine(body, 0)
	if err := e.Header.parse(line, prev, lim.MaxDepth); err != nil {
		return err
	}
	for pos < len(body) {
		var hdr []byte
		hdr, pos = nextLine(body, pos)
		if len(bytes.TrimSpace(hdr)) == 0 {
			continue
		}
		if len(e.Items) == lim.MaxItems {
			return newError(ErrTooManyItems, reasonTooManyItems, "more than "+itoa(lim.MaxItems)+" items")
		}
		n := len(e.Items)
		if n < cap(e.Items) {
			e.Items = e.Items[:n+1]
		} else {
			e.Items = append(e.Items, Item{})
		}
		it := &e.Items[n]
		old := *it
		*it = Item{}
		length, err := it.parseHeader(hdr, &old, lim.MaxDepth)
		if err != nil {
			return err
		}
		isEvent := it.Type == "event" || it.Type == "transaction"
		if it.HasLength {
			if isEvent && length > lim.MaxEventSize {
				return newError(ErrTooLarge, reasonEventTooLarge, it.Type+" item of "+itoa(length)+" bytes exceeds "+itoa(lim.MaxEventSize))
			}
			if length > len(body)-pos {
				return newError(ErrMalformed, reasonUnexpectedEOF, "item "+itoa(n)+" ("+it.Type+") declares "+itoa(length)+" bytes but "+itoa(len(body)-pos)+" remain")
			}
			end := pos + length
			if end < len(body) && body[end] != '\n' {
				return newError(ErrMalformed, reasonMissingNewline, "item "+itoa(n)+" ("+it.Type+") payload not followed by a newline: "+quote(body[end:]))
			}
			it.Payload = body[pos:end:end]
			pos = end
			if pos < len(body) {
				pos++ // the '\n' after the payload
			}
		} else {
			var p []byte
			p, pos = nextLine(body, pos)
			if isEvent && len(p) > lim.MaxEventSize {
				return newError(ErrTooLarge, reasonEventTooLarge, it.Type+" item of "+itoa(len(p))+" bytes exceeds "+itoa(lim.MaxEventSize))
			}
			it.Payload = p
		}
	}
	return nil
}

// nextLine returns the line starting at pos (without its '\n', capacity
// clipped) and the position after the '\n' (or len(b)).
func nextLine(b []byte, pos int) ([]byte, int) {
	if i := bytes.IndexByte(b[pos:], '\n'); i >= 0 {
		end := pos + i
		return b[pos:end:end], end + 1
	}
	return b[pos:len(b):len(b)], len(b)
}

// parse reads the envelope header line. prev holds the previous envelope's
// header, whose strings are reused when equal.
func (h *Header) parse(line []byte, prev *Header, maxDepth int) error {
	s := scanner{b: line, max: maxDepth}
	var seenID, seenDSN, seenSent, badID bool
	var dup string
	ok := s.members(0, func(key []byte, esc bool) bool {
		switch {
		case keyIs(key, esc, "event_id"):
			if seenID {
				dup = "event_id"
				return false
			}
			seenID = true
			if !h.parseEventID(&s, prev.EventID) {
				badID = true
				return false
			}
			return true
		case keyIs(key, esc, "dsn"):
			if seenDSN {
				dup = "dsn"
				return false
			}
			seenDSN = true
			if tok, esc, ok := s.str(); ok {
				h.DSN = reuse(prev.DSN, tok, esc)
				return true
			}
			return s.skip(1)
		case keyIs(key, esc, "sent_at"):
			if seenSent {
				dup = "sent_at"
				return false
			}
			seenSent = true
			if tok, esc, ok := s.str(); ok {
				if !esc {
					h.SentAt, _ = parseRFC3339(tok[1 : len(tok)-1])
				} else {
					h.SentAt, _ = parseRFC3339([]byte(unquote(tok, esc)))
				}
				return true
			}
			return s.skip(1)
		case keyIs(key, esc, "sdk") && s.peek() == '{':
			return s.members(1, func(key []byte, esc bool) bool {
				name := keyIs(key, esc, "name")
				if name || keyIs(key, esc, "version") {
					if tok, esc, ok := s.str(); ok {
						if name {
							h.SDKName = reuse(prev.SDKName, tok, esc)
						} else {
							h.SDKVersion = reuse(prev.SDKVersion, tok, esc)
						}
						return true
					}
				}
				return s.skip(2)
			})
		}
		return s.skip(1)
	})
	if ok {
		s.ws()
		ok = s.i == len(line)
	}
	switch {
	case ok:
		return nil
	case s.tooDeep:
		return newError(ErrTooDeep, reasonTooDeep, "envelope header nested deeper than "+itoa(maxDepth))
	case dup != "":
		return newError(ErrMalformed, reasonDuplicateHeader, "envelope header repeats "+dup)
	case badID:
		return newError(ErrMalformed, reasonBadEventID, "envelope header event_id is not a UUID")
	}
	return newError(ErrMalformed, reasonMalformedHeader, "envelope header is not a JSON object: "+quote(line))
}

// parseEventID reads the event_id value at the cursor. It fails unless the
// value is null or a UUID string.
func (h *Header) parseEventID(s *scanner, prev string) bool {
	if s.lit("null") {
		return true
	}
	tok, esc, ok := s.str()
	if !ok {
		return false
	}
	var buf [32]byte
	var id []byte
	if !esc {
		id = tok[1 : len(tok)-1]
	} else {
		id = []byte(unquote(tok, esc))
	}
	if !normalizeUUID(&buf, id) {
		return false
	}
	if string(buf[:]) == prev {
		h.EventID = prev
	} else {
		h.EventID = string(buf[:])
	}
	return true
}

// normalizeUUID writes the 32 lowercase hex digits of a UUID given as 32 hex
// digits or as 36 characters with dashes at positions 8, 13, 18 and 23
// (either case) into dst. It reports false for anything else.
func normalizeUUID(dst *[32]byte, id []byte) bool {
	switch len(id) {
	case 32:
	case 36:
		if id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
			return false
		}
	default:
		return false
	}
	n := 0
	for i, c := range id {
		if len(id) == 36 && (i == 8 || i == 13 || i == 18 || i == 23) {
			continue
		}
		switch {
		case isDigit(c) || (c >= 'a' && c <= 'f'):
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return false
		}
		dst[n] = c
		n++
	}
	return true
}

// NormalizeEventID returns id as 32 lowercase hex digits, accepting 32 hex
// digits or the 36-character dashed form in either case; ok is false for
// anything else.
func NormalizeEventID(id string) (norm string, ok bool) {
	var buf [32]byte
	if !normalizeUUID(&buf, []byte(id)) {
		return "", false
	}
	if string(buf[:]) == id {
		return id, true
	}
	return string(buf[:]), true
}

// parseHeader reads an item header line into it and returns the declared
// length (valid when it.HasLength). old is the item that previously occupied
// this slot, whose strings are reused when equal.
func (it *Item) parseHeader(line []byte, old *Item, maxDepth int) (int, error) {
	s := scanner{b: line, max: maxDepth}
	var seenType, seenLen, badLen bool
	var dup string
	length := 0
	ok := s.members(0, func(key []byte, esc bool) bool {
		switch {
		case keyIs(key, esc, "type"):
			if seenType {
				dup = "type"
				return false
			}
			seenType = true
			tok, esc, ok := s.str()
			if !ok {
				return s.skip(1) // not a string: reported as a missing type
			}
			it.Type = internType(tok, esc, old.Type)
			return true
		case keyIs(key, esc, "length"):
			if seenLen {
				dup = "length"
				return false
			}
			seenLen = true
			if s.lit("null") {
				return true
			}
			n, ok := s.num()
			if !ok {
				badLen = true
				return false
			}
			v, ok := parseLength(n)
			if !ok {
				badLen = true
				return false
			}
			length, it.HasLength = v, true
			return true
		case keyIs(key, esc, "content_type"):
			if tok, esc, ok := s.str(); ok {
				it.ContentType = internContentType(tok, esc, old.ContentType)
				return true
			}
		case keyIs(key, esc, "filename"):
			if tok, esc, ok := s.str(); ok {
				it.Filename = reuse(old.Filename, tok, esc)
				return true
			}
		case keyIs(key, esc, "attachment_type"):
			if tok, esc, ok := s.str(); ok {
				it.AttachmentType = reuse(old.AttachmentType, tok, esc)
				return true
			}
		case keyIs(key, esc, "item_count"):
			if s.peek() == '-' || isDigit(s.peek()) {
				n, ok := s.num()
				if !ok {
					return false
				}
				if v, ok := parseLength(n); ok {
					it.ItemCount = v
				}
				return true
			}
		}
		return s.skip(1)
	})
	if ok {
		s.ws()
		ok = s.i == len(line)
	}
	switch {
	case s.tooDeep:
		return 0, newError(ErrTooDeep, reasonTooDeep, "item header nested deeper than "+itoa(maxDepth))
	case dup != "":
		return 0, newError(ErrMalformed, reasonDuplicateHeader, "item header repeats "+dup)
	case badLen:
		return 0, newError(ErrMalformed, reasonBadLength, "item length is not a non-negative integer: "+quote(line))
	case !ok:
		return 0, newError(ErrMalformed, reasonMalformedItemHdr, "item header is not a JSON object: "+quote(line))
	case it.Type == "":
		return 0, newError(ErrMalformed, reasonMissingType, "item header without a type: "+quote(line))
	}
	return length, nil
}

// maxLength caps parsed lengths well above any body we accept, so the
// arithmetic cannot overflow.
const maxLength = 1 << 40

// parseLength parses a non-negative JSON integer ("12", not "12.0" or
// "-1"); values above maxLength are clamped to it.
func parseLength(n []byte) (int, bool) {
	v := 0
	for _, c := range n {
		if !isDigit(c) {
			return 0, false
		}
		if v < maxLength {
			v = v*10 + int(c-'0')
		}
	}
	return min(v, maxLength), true
}

// reuse returns the contents of a string token, reusing prev when equal so
// that steady-state parsing does not allocate.
func reuse(prev string, tok []byte, esc bool) string {
	if esc {
		return unquote(tok, esc)
	}
	if raw := tok[1 : len(tok)-1]; string(raw) != prev {
		return string(raw)
	}
	return prev
}

// KnownItemType reports whether t is one of the item types Sentry
// documents ("event", "transaction", "attachment", "session", ...), the
// bounded set a caller may use as a metric label.
func KnownItemType(t string) bool { return knownType(t) != "" }

// knownType returns t as a constant when it is a documented item type, else
// "". It takes the item header's bytes without allocating.
func knownType[T string | []byte](t T) string {
	switch string(t) {
	case "event":
		return "event"
	case "transaction":
		return "transaction"
	case "attachment":
		return "attachment"
	case "session":
		return "session"
	case "sessions":
		return "sessions"
	case "client_report":
		return "client_report"
	case "span":
		return "span"
	case "log":
		return "log"
	case "check_in":
		return "check_in"
	case "trace_metric":
		return "trace_metric"
	case "statsd":
		return "statsd"
	case "metric_buckets":
		return "metric_buckets"
	case "feedback":
		return "feedback"
	case "user_report":
		return "user_report"
	case "profile":
		return "profile"
	case "profile_chunk":
		return "profile_chunk"
	case "replay_event":
		return "replay_event"
	case "replay_recording":
		return "replay_recording"
	case "replay_video":
		return "replay_video"
	case "form_data":
		return "form_data"
	case "security":
		return "security"
	case "raw_security":
		return "raw_security"
	case "unreal_report":
		return "unreal_report"
	case "otel_log":
		return "otel_log"
	case "otel_span":
		return "otel_span"
	}
	return ""
}

// internType returns the known item types as constants (no allocation);
// unknown types fall back to reuse.
func internType(tok []byte, esc bool, prev string) string {
	if !esc {
		if t := knownType(tok[1 : len(tok)-1]); t != "" {
			return t
		}
	}
	return reuse(prev, tok, esc)
}

// internContentType returns the content types SDKs send as constants.
func internContentType(tok []byte, esc bool, prev string) string {
	if !esc {
		switch string(tok[1 : len(tok)-1]) {
		case "application/json":
			return "application/json"
		case "application/octet-stream":
			return "application/octet-stream"
		case "text/plain":
			return "text/plain"
		case "application/vnd.sentry.items.log+json":
			return "application/vnd.sentry.items.log+json"
		case "application/vnd.sentry.items.span.v2+json":
			return "application/vnd.sentry.items.span.v2+json"
		case "application/vnd.sentry.items.trace-metric+json":
			return "application/vnd.sentry.items.trace-metric+json"
		}
	}
	return reuse(prev, tok, esc)
}

func itoa(n int) string { return strconv.Itoa(n) }
