package ingest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/ingest/envelope"
)

// fixtureEvents returns the event payloads of the captured SDK requests.
func fixtureEvents(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "sentry", "*", "*.body"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	var out [][]byte
	var e envelope.Envelope
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if p, err := envelope.StorePayload(body, 0); err == nil && bytes.HasPrefix(bytes.TrimSpace(p), []byte("{")) && !bytes.Contains(body, []byte("\n{\"type\"")) {
			out = append(out, bytes.Clone(p))
			continue
		}
		if e.Parse(body, envelope.Limits{}) != nil {
			continue
		}
		for _, it := range e.Items {
			if it.Type == "event" {
				out = append(out, bytes.Clone(it.Payload))
			}
		}
	}
	return out
}

// checkDocJSON fails t unless Doc.AppendJSON writes what json.Marshal
// writes for the event in payload.
func checkDocJSON(t *testing.T, payload []byte) {
	t.Helper()
	ev, err := envelope.DecodeEvent(payload, 0)
	if err != nil {
		return
	}
	d := toDoc(new(issues.Doc), ev)
	want, err := json.Marshal(d)
	if err != nil {
		// Only timestamps past year 9999 fail json.Marshal; the decoder
		// never makes them.
		t.Fatalf("json.Marshal(%q): %v", payload, err)
	}
	if got := d.AppendJSON(nil); !bytes.Equal(got, want) {
		i := 0
		for i < min(len(got), len(want)) && got[i] == want[i] {
			i++
		}
		t.Fatalf("AppendJSON(%q) differs from json.Marshal at byte %d:\n got …%s\nwant …%s", payload, i, got[max(0, i-40):min(len(got), i+40)], want[max(0, i-40):min(len(want), i+40)])
	}
}

func TestDocJSON(t *testing.T) {
	events := fixtureEvents(t)
	if len(events) < 10 {
		t.Fatalf("only %d fixture events", len(events))
	}
	for _, p := range events {
		checkDocJSON(t, p)
	}
	checkDocJSON(t, []byte(`{"message":"<a href=\"x\">&amp;</a> \u2028 \u2029 \b\f\n\r\t\u0001 \ud800 ok","extra":{"a" : "<>&\u2028 \"q\" ", "b": [1, 2 ,{ }]},`+
		`"tags":[["k","v"]],"user":{"id":7,"data":{"x":null}},"request":{"url":"/x?<y>","headers":{"h":"v"},"data":" s "},`+
		`"exception":[{"type":"E","mechanism":{"handled":false},"stacktrace":{"frames":[{"in_app":false,"lineno":-3,"vars":{"k":"\u2029"}},{}]}}],`+
		`"threads":[{"id":1,"crashed":true}],"breadcrumbs":[{"timestamp":1.5,"data":{}}],"contexts":{}}`))
	checkDocJSON(t, []byte("{\"message\":\"\xff\xfe invalid \xe2\x80\xa8 raw separator\",\"extra\":{\"s\":\"\xe2\x80\xa9\"}}"))
}

// FuzzDocJSON checks Doc.AppendJSON against json.Marshal on events the
// decoder accepts. Run with
//
//	go test -run='^$' -fuzz=FuzzDocJSON -fuzztime=60s ./ingest/
func FuzzDocJSON(f *testing.F) {
	for _, p := range fixtureEvents(f) {
		f.Add(p)
	}
	f.Add([]byte(`{"message":"<>&\u2028","extra":{"a" : [ 1 ]}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		checkDocJSON(t, in)
	})
}
