package grouping

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir holds real SDK captures (see its README).
const fixtureDir = "../../ingest/testdata/sentry"

// Test-only decoder: just enough of the Sentry event schema to build an
// Event from the captures. The real decoder lives in ingest/envelope.
type jsonEvent struct {
	Platform    string          `json:"platform"`
	Level       string          `json:"level"`
	Logger      string          `json:"logger"`
	Transaction string          `json:"transaction"`
	Message     json.RawMessage `json:"message"`
	Logentry    *jsonLogentry   `json:"logentry"`
	Fingerprint []string        `json:"fingerprint"`
	Tags        json.RawMessage `json:"tags"`
	Exception   json.RawMessage `json:"exception"`
	Threads     json.RawMessage `json:"threads"`
}

type jsonLogentry struct {
	Message   string `json:"message"`
	Formatted string `json:"formatted"`
}

type jsonException struct {
	Type      string `json:"type"`
	Value     string `json:"value"`
	Module    string `json:"module"`
	Mechanism *struct {
		Type      string `json:"type"`
		Handled   *bool  `json:"handled"`
		Synthetic bool   `json:"synthetic"`
	} `json:"mechanism"`
	Stacktrace *jsonStack `json:"stacktrace"`
}

type jsonStack struct {
	Frames []Frame `json:"frames"` // Frame carries the protocol's JSON names
}

type jsonThread struct {
	ID         json.RawMessage `json:"id"`
	Name       string          `json:"name"`
	Crashed    bool            `json:"crashed"`
	Current    bool            `json:"current"`
	Stacktrace *jsonStack      `json:"stacktrace"`
}

// decodeEvent converts one event JSON document into an Event.
func decodeEvent(tb testing.TB, data []byte) *Event {
	tb.Helper()
	var je jsonEvent
	if err := json.Unmarshal(data, &je); err != nil {
		tb.Fatalf("decode event: %v", err)
	}
	ev := &Event{
		Platform: je.Platform, Level: je.Level, Logger: je.Logger,
		Transaction: je.Transaction, Fingerprint: je.Fingerprint,
	}
	if len(je.Message) > 0 {
		var s string
		if json.Unmarshal(je.Message, &s) == nil {
			ev.Message = s
		} else {
			var m jsonLogentry
			if json.Unmarshal(je.Message, &m) == nil {
				ev.Message = m.Formatted
				if ev.Message == "" {
					ev.Message = m.Message
				}
			}
		}
	}
	if je.Logentry != nil {
		ev.LogTemplate = je.Logentry.Message
		ev.LogFormatted = je.Logentry.Formatted
	}
	if len(je.Tags) > 0 {
		var obj map[string]string
		var pairs [][2]string
		if json.Unmarshal(je.Tags, &obj) == nil {
			for k, v := range obj {
				ev.Tags = append(ev.Tags, Tag{Key: k, Value: v})
			}
		} else if json.Unmarshal(je.Tags, &pairs) == nil {
			for _, p := range pairs {
				ev.Tags = append(ev.Tags, Tag{Key: p[0], Value: p[1]})
			}
		}
	}
	var exs []jsonException
	if len(je.Exception) > 0 {
		var wrapped struct {
			Values []jsonException `json:"values"`
		}
		if json.Unmarshal(je.Exception, &exs) != nil {
			if err := json.Unmarshal(je.Exception, &wrapped); err != nil {
				tb.Fatalf("decode exception: %v", err)
			}
			exs = wrapped.Values
		}
	}
	for _, je := range exs {
		e := Exception{Type: je.Type, Value: je.Value, Module: je.Module}
		if m := je.Mechanism; m != nil {
			e.Synthetic, e.Handled, e.MechanismType = m.Synthetic, m.Handled, m.Type
		}
		if je.Stacktrace != nil {
			e.Frames = je.Stacktrace.Frames
		}
		ev.Exceptions = append(ev.Exceptions, e)
	}
	if len(je.Threads) > 0 {
		var ths []jsonThread
		var wrapped struct {
			Values []jsonThread `json:"values"`
		}
		if json.Unmarshal(je.Threads, &ths) != nil && json.Unmarshal(je.Threads, &wrapped) == nil {
			ths = wrapped.Values
		}
		for _, jt := range ths {
			th := Thread{ID: string(jt.ID), Name: jt.Name, Crashed: jt.Crashed, Current: jt.Current}
			if jt.Stacktrace != nil {
				th.Frames = jt.Stacktrace.Frames
			}
			ev.Threads = append(ev.Threads, th)
		}
	}
	return ev
}

// loadFixture returns the event of a capture: a .decoded store JSON body,
// or the event item of an envelope .body (gzip allowed).
func loadFixture(tb testing.TB, name string) *Event {
	tb.Helper()
	path := filepath.Join(fixtureDir, name)
	if _, err := os.Stat(path + ".decoded"); err == nil {
		data, err := os.ReadFile(path + ".decoded")
		if err != nil {
			tb.Fatal(err)
		}
		if len(data) > 0 && data[0] == '{' && !bytes.Contains(data[:min(len(data), 200)], []byte(`"type":"event"`)) {
			if ev, ok := tryEventDoc(tb, data); ok {
				return ev
			}
		}
		return envelopeEvent(tb, data)
	}
	data, err := os.ReadFile(path + ".body")
	if err != nil {
		tb.Fatal(err)
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			tb.Fatal(err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			tb.Fatal(err)
		}
	}
	return envelopeEvent(tb, data)
}

// tryEventDoc accepts a whole body that is one event document.
func tryEventDoc(tb testing.TB, data []byte) (*Event, bool) {
	var probe map[string]json.RawMessage
	if json.Unmarshal(data, &probe) != nil {
		return nil, false
	}
	if _, ok := probe["event_id"]; !ok {
		return nil, false
	}
	return decodeEvent(tb, data), true
}

// envelopeEvent finds the first JSON line of an envelope that looks like an
// event (has exception, message, logentry or fingerprint).
func envelopeEvent(tb testing.TB, data []byte) *Event {
	tb.Helper()
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 8<<20)
	for sc.Scan() {
		var probe map[string]json.RawMessage
		if json.Unmarshal(sc.Bytes(), &probe) != nil {
			continue
		}
		for _, k := range []string{"exception", "message", "logentry", "fingerprint"} {
			if _, ok := probe[k]; ok {
				return decodeEvent(tb, sc.Bytes())
			}
		}
	}
	tb.Fatalf("no event item found")
	return nil
}
