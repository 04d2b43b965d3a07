package issues

import (
	"encoding/json"
	"time"
)

// Doc is a stored event document. Its JSON encoding is the one of
// ingest/envelope.Event (Go field names; Frame with the protocol's names):
// ingest stores json.Marshal of the decoded event, and the read side
// decodes it here without depending on the wire package. A test in ingest
// keeps the two in step.
type Doc struct {
	EventID                                                                      string
	Timestamp                                                                    time.Time
	Platform, Level, Logger, ServerName, Release, Dist, Environment, Transaction string
	Message, LogTemplate, LogFormatted                                           string
	LogParams                                                                    []string
	Fingerprint                                                                  []string
	Tags                                                                         []Tag
	User                                                                         *User
	Exceptions                                                                   []Exception
	Threads                                                                      []Thread
	Breadcrumbs                                                                  []Breadcrumb
	Request                                                                      *Request
	Contexts, Extra                                                              json.RawMessage
}

// Tag is one key/value pair.
type Tag struct{ Key, Value string }

// User is the user of an event.
type User struct {
	ID, Email, Username, IPAddress string
	Data                           json.RawMessage
}

// Exception is one exception of an event's chain, root cause first.
type Exception struct {
	Type, Value, Module string
	Synthetic           bool
	Handled             *bool
	MechanismType       string
	Frames              []Frame
}

// Thread is one thread of an event.
type Thread struct {
	ID, Name         string
	Crashed, Current bool
	Frames           []Frame
}

// Frame is one stack frame, caller first.
type Frame struct {
	Filename    string          `json:"filename,omitempty"`
	AbsPath     string          `json:"abs_path,omitempty"`
	Module      string          `json:"module,omitempty"`
	Package     string          `json:"package,omitempty"`
	Function    string          `json:"function,omitempty"`
	RawFunction string          `json:"raw_function,omitempty"`
	ContextLine string          `json:"context_line,omitempty"`
	Platform    string          `json:"platform,omitempty"`
	InApp       *bool           `json:"in_app,omitempty"`
	Lineno      int             `json:"lineno,omitempty"`
	Colno       int             `json:"colno,omitempty"`
	PreContext  []string        `json:"pre_context,omitempty"`
	PostContext []string        `json:"post_context,omitempty"`
	Vars        json.RawMessage `json:"vars,omitempty"`
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
