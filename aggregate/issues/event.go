package issues

import (
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/telltale-dev/telltale/aggregate/grouping"
)

// Doc is an event as shown: ingest converts the decoded wire event into
// it, and groups it through Grouping. The server stores the payload the
// SDK sent and makes the Doc again when the event is read
// (Config.DecodePayload); a Doc without a payload is stored as its JSON,
// as earlier builds stored every event. The exception, thread, frame and
// tag types are grouping's, so grouping reads the shape without a copy.
type Doc struct {
	EventID string
	// Timestamp is the event's time (the receive time when the SDK sent
	// none).
	Timestamp                                                                    time.Time
	Platform, Level, Logger, ServerName, Release, Dist, Environment, Transaction string
	Message, LogTemplate, LogFormatted                                           string
	LogParams                                                                    []string
	Fingerprint                                                                  []string
	Tags                                                                         []Tag
	User                                                                         *User
	Exceptions                                                                   []grouping.Exception
	Threads                                                                      []grouping.Thread
	Breadcrumbs                                                                  []Breadcrumb
	Request                                                                      *Request
	Contexts, Extra                                                              json.RawMessage
	// ExceptionsMemo is the memo of Exceptions for grouping (see
	// grouping.Event), or nil. It is not stored.
	ExceptionsMemo *atomic.Value `json:"-"`
}

// Tag is one key/value pair.
type Tag = grouping.Tag

// User is the user of an event.
type User struct {
	ID, Email, Username, IPAddress string
	Data                           json.RawMessage
}

// Breadcrumb is one breadcrumb.
type Breadcrumb struct {
	Timestamp                      time.Time
	Type, Category, Message, Level string
	Data                           json.RawMessage
}

// Request is the request of an event.
type Request struct {
	Method, URL, QueryString string
	Headers                  []Tag
	Data                     json.RawMessage
}

// Grouping returns grouping's view of d; it shares d's slices.
func (d *Doc) Grouping() *grouping.Event { return d.GroupingInto(new(grouping.Event)) }

// GroupingInto is Grouping into e, which it returns: a caller with a
// grouping.Event of its own to reuse allocates none per event.
func (d *Doc) GroupingInto(e *grouping.Event) *grouping.Event {
	*e = grouping.Event{
		Platform: d.Platform, Level: d.Level, Logger: d.Logger, Transaction: d.Transaction,
		Message: d.Message, LogTemplate: d.LogTemplate, LogFormatted: d.LogFormatted,
		Fingerprint: d.Fingerprint, Tags: d.Tags, Exceptions: d.Exceptions, Threads: d.Threads,
		ExceptionsMemo: d.ExceptionsMemo,
	}
	return e
}

// typ is Sentry's event type: "error" with exceptions, else "default".
func (d *Doc) typ() string {
	if len(d.Exceptions) > 0 {
		return "error"
	}
	return "default"
}

// unhandled reports a crash: an exception whose mechanism says it was not
// handled.
func (d *Doc) unhandled() bool {
	for _, ex := range d.Exceptions {
		if ex.Handled != nil && !*ex.Handled {
			return true
		}
	}
	return false
}

// userKey identifies the user for the unique-user count: the first of id,
// email, username and IP address that is set ("" for none).
func (d *Doc) userKey() string {
	if u := d.User; u != nil {
		for _, k := range []string{u.ID, u.Email, u.Username, u.IPAddress} {
			if k != "" {
				return k
			}
		}
	}
	return ""
}
