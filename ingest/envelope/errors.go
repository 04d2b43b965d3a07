package envelope

import (
	"errors"
	"strconv"
)

// Errors returned by this package. Each returned error wraps exactly one of
// them (test with errors.Is) and carries a detail message; Reason maps it to
// a short label for a self-metric.
var (
	// ErrMalformed is returned for input that does not follow the envelope,
	// event or store grammar: a bad header line, a bad item length, a
	// truncated payload, invalid JSON, an undecodable store body. An HTTP
	// handler answers it with 400.
	ErrMalformed = errors.New("envelope: malformed")
	// ErrTooLarge is returned when an event or transaction item, or an
	// inflated store body, is larger than the configured maximum. An HTTP
	// handler answers it with 413.
	ErrTooLarge = errors.New("envelope: too large")
	// ErrTooManyItems is returned when an envelope holds more than
	// Limits.MaxItems items. An HTTP handler answers it with 413.
	ErrTooManyItems = errors.New("envelope: too many items")
	// ErrTooDeep is returned when a header or an event nests JSON objects and
	// arrays deeper than the configured maximum. An HTTP handler answers it
	// with 400.
	ErrTooDeep = errors.New("envelope: JSON nested too deeply")
	// ErrInvalidAuth is returned by ParseAuthHeader and ParseAuthQuery for
	// credentials without a key or with an unsupported protocol version. An
	// HTTP handler answers it with 401.
	ErrInvalidAuth = errors.New("envelope: invalid auth")
	// ErrInvalidDSN is returned by ParseDSN for a string that is not a
	// usable DSN.
	ErrInvalidDSN = errors.New("envelope: invalid DSN")
)

// Error reasons reported by Reason. They are bounded and stable so they can
// be used as Prometheus label values.
const (
	reasonEmpty                = "empty"
	reasonMalformedHeader      = "malformed_header"
	reasonBadEventID           = "bad_event_id"
	reasonDuplicateHeader      = "duplicate_header"
	reasonMalformedItemHdr     = "malformed_item_header"
	reasonMissingType          = "missing_type"
	reasonBadLength            = "bad_length"
	reasonUnexpectedEOF        = "unexpected_eof"
	reasonMissingNewline       = "missing_newline"
	reasonEventTooLarge        = "event_too_large"
	reasonTooManyItems         = "too_many_items"
	reasonTooDeep              = "too_deep"
	reasonBadJSON              = "bad_json"
	reasonBadStoreBody         = "bad_store_body"
	reasonInvalidAuth          = "invalid_auth"
	reasonInvalidDSN           = "invalid_dsn"
	reasonOther                = "other"
	maxQuotedDetailBytes   int = 64
)

// parseError is the concrete error type of this package: a sentinel (kind),
// a Reason label and a human-readable detail.
type parseError struct {
	kind   error
	reason string
	detail string
}

func (e *parseError) Error() string { return e.kind.Error() + ": " + e.detail }

func (e *parseError) Unwrap() error { return e.kind }

func newError(kind error, reason, detail string) error {
	return &parseError{kind: kind, reason: reason, detail: detail}
}

// quote renders b for an error message: quoted, truncated to a safe length.
func quote(b []byte) string {
	if len(b) > maxQuotedDetailBytes {
		return strconv.Quote(string(b[:maxQuotedDetailBytes])) + "..."
	}
	return strconv.Quote(string(b))
}

// Reason returns a short snake_case label for err, meant as the reason label
// of a rejection counter: "empty", "malformed_header", "bad_event_id",
// "duplicate_header", "malformed_item_header", "missing_type", "bad_length",
// "unexpected_eof", "missing_newline", "event_too_large", "too_many_items",
// "too_deep", "bad_json", "bad_store_body", "invalid_auth", "invalid_dsn".
// It returns "" for nil and "other" for an error not produced by this
// package.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	var pe *parseError
	if errors.As(err, &pe) {
		return pe.reason
	}
	return reasonOther
}
