package envelope

import (
	"errors"
	"strings"
	"testing"
	"time"
)

type wantItem struct {
	typ       string
	payload   string
	hasLength bool
}

func TestParse(t *testing.T) {
	const hdr = `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42","sent_at":"2020-02-07T14:16:00.000Z","sdk":{"name":"sentry.go","version":"0.50.0"}}`
	for _, tc := range []struct {
		name   string
		body   string
		lim    Limits
		err    error  // nil: success
		reason string // with err
		items  []wantItem
		check  func(t *testing.T, e *Envelope)
	}{
		{name: "header only", body: `{}`},
		{name: "header only newline", body: "{}\n"},
		{name: "header only crlf", body: "{}\r\n"},
		{name: "blank lines skipped", body: "{}\n\n\n"},
		{
			name:  "spec example",
			body:  hdr + "\n" + `{"type":"attachment","length":10,"content_type":"text/plain","filename":"hello.txt"}` + "\n\xef\xbb\xbfHello\r\n\n" + `{"type":"event","length":41,"content_type":"application/json","filename":"application.log"}` + "\n" + `{"message":"hello world","level":"error"}` + "\n",
			items: []wantItem{{"attachment", "\xef\xbb\xbfHello\r\n", true}, {"event", `{"message":"hello world","level":"error"}`, true}},
			check: func(t *testing.T, e *Envelope) {
				want := Header{
					EventID:    "9ec79c33ec9942ab8353589fcb2e04dc",
					DSN:        "https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42",
					SentAt:     time.Date(2020, 2, 7, 14, 16, 0, 0, time.UTC),
					SDKName:    "sentry.go",
					SDKVersion: "0.50.0",
				}
				if e.Header != want {
					t.Errorf("got header %+v, want %+v", e.Header, want)
				}
				it := e.Items[0]
				if it.ContentType != "text/plain" || it.Filename != "hello.txt" || len(it.Payload) != 10 {
					t.Errorf("got item %+v", it)
				}
			},
		},
		{
			name:  "no length, trailing newline",
			body:  "{}\n{\"type\":\"session\"}\n{\"sid\":1}\n",
			items: []wantItem{{"session", `{"sid":1}`, false}},
		},
		{
			name:  "no length, no trailing newline",
			body:  "{}\n{\"type\":\"session\"}\n{\"sid\":1}",
			items: []wantItem{{"session", `{"sid":1}`, false}},
		},
		{
			name:  "no length, cr belongs to payload",
			body:  "{}\n{\"type\":\"session\"}\r\n{\"sid\":1}\r\n",
			items: []wantItem{{"session", "{\"sid\":1}\r", false}},
		},
		{
			name:  "no length, empty payload at eof",
			body:  "{}\n{\"type\":\"session\"}",
			items: []wantItem{{"session", "", false}},
		},
		{
			name:  "no length, empty payload then item",
			body:  "{}\n{\"type\":\"attachment\"}\n\n{\"type\":\"session\"}\n{}",
			items: []wantItem{{"attachment", "", false}, {"session", "{}", false}},
		},
		{
			name:  "length zero",
			body:  "{}\n{\"type\":\"attachment\",\"length\":0}\n\n{\"type\":\"session\",\"length\":2}\n{}",
			items: []wantItem{{"attachment", "", true}, {"session", "{}", true}},
		},
		{
			name:  "length with newline inside payload",
			body:  "{}\n{\"type\":\"attachment\",\"length\":3}\na\nb\n",
			items: []wantItem{{"attachment", "a\nb", true}},
		},
		{
			name:  "length null means absent",
			body:  "{}\n{\"type\":\"session\",\"length\":null}\nab\n",
			items: []wantItem{{"session", "ab", false}},
		},
		{
			name:  "length at eof without newline",
			body:  "{}\n{\"type\":\"event\",\"length\":2}\n{}",
			items: []wantItem{{"event", "{}", true}},
		},
		{
			name:  "unknown type kept",
			body:  "{}\n{\"type\":\"otel_future_thing\",\"length\":1,\"x\":[1,{\"y\":null}]}\nz\n{\"type\":\"statsd\"}\nm:1|c",
			items: []wantItem{{"otel_future_thing", "z", true}, {"statsd", "m:1|c", false}},
		},
		{
			name:  "item count and content type",
			body:  "{}\n{\"type\":\"log\",\"item_count\":2,\"content_type\":\"application/vnd.sentry.items.log+json\"}\n{\"items\":[]}",
			items: []wantItem{{"log", `{"items":[]}`, false}},
			check: func(t *testing.T, e *Envelope) {
				if it := e.Items[0]; it.ItemCount != 2 || it.ContentType != "application/vnd.sentry.items.log+json" {
					t.Errorf("got item %+v", it)
				}
			},
		},
		{
			name:  "wrong types of optional item fields ignored",
			body:  "{}\n{\"type\":\"attachment\",\"item_count\":\"2\",\"filename\":5,\"content_type\":null,\"attachment_type\":[]}\nx",
			items: []wantItem{{"attachment", "x", false}},
		},
		{
			name: "dashed uppercase event id",
			body: `{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC"}`,
			check: func(t *testing.T, e *Envelope) {
				if e.Header.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" {
					t.Errorf("got event id %q", e.Header.EventID)
				}
			},
		},
		{
			name: "null event id and escaped strings",
			body: `{"event_id":null,"dsn":"http://k@h\/1","sdk":{"name":"a\u0062"},"sent_at":"2020-02-07T16:16:00+02:00"}`,
			check: func(t *testing.T, e *Envelope) {
				want := Header{DSN: "http://k@h/1", SDKName: "ab", SentAt: time.Date(2020, 2, 7, 14, 16, 0, 0, time.UTC)}
				if e.Header != want {
					t.Errorf("got header %+v, want %+v", e.Header, want)
				}
			},
		},
		{
			name: "wrong types in header ignored",
			body: `{"dsn":1,"sent_at":"yesterday","sdk":"go","trace":{"a":[1,2]}}`,
		},
		{name: "empty body", body: "", err: ErrMalformed, reason: "empty"},
		{name: "blank body", body: " \n", err: ErrMalformed, reason: "empty"},
		{name: "header not json", body: "hello\n", err: ErrMalformed, reason: "malformed_header"},
		{name: "header array", body: "[]\n", err: ErrMalformed, reason: "malformed_header"},
		{name: "header trailing junk", body: "{}x\n", err: ErrMalformed, reason: "malformed_header"},
		{name: "header two objects", body: "{}{}", err: ErrMalformed, reason: "malformed_header"},
		{name: "header unterminated", body: `{"a":"b`, err: ErrMalformed, reason: "malformed_header"},
		{name: "header bad escape", body: `{"a":"\x"}`, err: ErrMalformed, reason: "malformed_header"},
		{name: "header bad number", body: `{"a":01}`, err: ErrMalformed, reason: "malformed_header"},
		{name: "bad event id", body: `{"event_id":"not-a-uuid"}`, err: ErrMalformed, reason: "bad_event_id"},
		{name: "event id number", body: `{"event_id":12}`, err: ErrMalformed, reason: "bad_event_id"},
		{name: "two sent_at", body: `{"sent_at":"2020-02-07T14:16:00Z","sent_at":"2020-02-07T14:16:00Z"}`, err: ErrMalformed, reason: "duplicate_header"},
		{name: "header too deep", body: `{"a":[[[[]]]]}`, lim: Limits{MaxDepth: 4}, err: ErrTooDeep, reason: "too_deep"},
		{name: "header depth at limit", body: `{"a":[[[]]]}`, lim: Limits{MaxDepth: 4}},
		{name: "item header not json", body: "{}\nevent\n", err: ErrMalformed, reason: "malformed_item_header"},
		{name: "item header too deep", body: "{}\n{\"type\":\"x\",\"a\":[[]]}\n", lim: Limits{MaxDepth: 2}, err: ErrTooDeep, reason: "too_deep"},
		{name: "missing type", body: "{}\n{\"length\":1}\nx", err: ErrMalformed, reason: "missing_type"},
		{name: "type not a string", body: "{}\n{\"type\":1}\nx", err: ErrMalformed, reason: "missing_type"},
		{name: "two types", body: "{}\n{\"type\":\"a\",\"type\":\"b\"}\nx", err: ErrMalformed, reason: "duplicate_header"},
		{name: "two lengths", body: "{}\n{\"type\":\"a\",\"length\":1,\"length\":2}\nx", err: ErrMalformed, reason: "duplicate_header"},
		{name: "negative length", body: "{}\n{\"type\":\"a\",\"length\":-1}\nx", err: ErrMalformed, reason: "bad_length"},
		{name: "fractional length", body: "{}\n{\"type\":\"a\",\"length\":1.0}\nx", err: ErrMalformed, reason: "bad_length"},
		{name: "string length", body: "{}\n{\"type\":\"a\",\"length\":\"1\"}\nx", err: ErrMalformed, reason: "bad_length"},
		{name: "eof before length", body: "{}\n{\"type\":\"a\",\"length\":5}\nabc", err: ErrMalformed, reason: "unexpected_eof"},
		{name: "huge length", body: "{}\n{\"type\":\"a\",\"length\":99999999999999999999999}\nabc", err: ErrMalformed, reason: "unexpected_eof"},
		{name: "junk after length payload", body: "{}\n{\"type\":\"a\",\"length\":2}\nabc\n", err: ErrMalformed, reason: "missing_newline"},
		{name: "cr after length payload", body: "{}\n{\"type\":\"a\",\"length\":2}\nab\r\n", err: ErrMalformed, reason: "missing_newline"},
		{
			name: "too many items",
			body: "{}\n" + strings.Repeat("{\"type\":\"session\"}\n{}\n", 4),
			lim:  Limits{MaxItems: 3}, err: ErrTooManyItems, reason: "too_many_items",
		},
		{
			name:  "items at limit",
			body:  "{}\n" + strings.Repeat("{\"type\":\"session\"}\n{}\n", 3),
			lim:   Limits{MaxItems: 3},
			items: []wantItem{{"session", "{}", false}, {"session", "{}", false}, {"session", "{}", false}},
		},
		{
			name: "event over max by length header, body truncated",
			body: "{}\n{\"type\":\"event\",\"length\":11}\n{\"a\":",
			lim:  Limits{MaxEventSize: 10}, err: ErrTooLarge, reason: "event_too_large",
		},
		{
			name: "transaction over max without length",
			body: "{}\n{\"type\":\"transaction\"}\n{\"a\":\"bcdef\"}",
			lim:  Limits{MaxEventSize: 10}, err: ErrTooLarge, reason: "event_too_large",
		},
		{
			name:  "event at max",
			body:  "{}\n{\"type\":\"event\",\"length\":10}\n{\"a\":\"bc\"}",
			lim:   Limits{MaxEventSize: 10},
			items: []wantItem{{"event", `{"a":"bc"}`, true}},
		},
		{
			name:  "attachment over event max is fine",
			body:  "{}\n{\"type\":\"attachment\",\"length\":11}\n0123456789a",
			lim:   Limits{MaxEventSize: 10},
			items: []wantItem{{"attachment", "0123456789a", true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e Envelope
			// Parse into a used Envelope too, to check the reset.
			_ = e.Parse([]byte("{\"event_id\":\"0123456789abcdef0123456789abcdef\"}\n{\"type\":\"x\",\"filename\":\"f\"}\n1\n{\"type\":\"y\"}\n\n{\"type\":\"z\"}\n"), Limits{})
			err := e.Parse([]byte(tc.body), tc.lim)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || Reason(err) != tc.reason {
					t.Fatalf("got error %v (reason %q), want %v (reason %q)", err, Reason(err), tc.err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(e.Items) != len(tc.items) {
				t.Fatalf("got %d items %+v, want %d", len(e.Items), e.Items, len(tc.items))
			}
			for i, w := range tc.items {
				it := e.Items[i]
				if it.Type != w.typ || string(it.Payload) != w.payload || it.HasLength != w.hasLength {
					t.Errorf("item %d: got %+v (payload %q), want %+v", i, it, it.Payload, w)
				}
				if w.typ != "x" && it.Filename != "" && tc.check == nil {
					t.Errorf("item %d: filename %q leaked from the previous envelope", i, it.Filename)
				}
			}
			if tc.check != nil {
				tc.check(t, &e)
			} else if e.Header.EventID != "" {
				t.Errorf("got event id %q leaked from the previous envelope", e.Header.EventID)
			}
		})
	}
}

func TestParseReleasesOldPayloads(t *testing.T) {
	var e Envelope
	if err := e.Parse([]byte("{}\n{\"type\":\"a\"}\nx\n{\"type\":\"b\"}\ny"), Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := e.Parse([]byte("{}\n{\"type\":\"a\"}\nx"), Limits{}); err != nil {
		t.Fatal(err)
	}
	if p := e.Items[:2][1].Payload; p != nil {
		t.Errorf("got stale payload %q in the unused tail, want nil", p)
	}
}

func TestNormalizeEventID(t *testing.T) {
	for in, want := range map[string]string{
		"9ec79c33ec9942ab8353589fcb2e04dc":     "9ec79c33ec9942ab8353589fcb2e04dc",
		"9EC79C33EC9942AB8353589FCB2E04DC":     "9ec79c33ec9942ab8353589fcb2e04dc",
		"9ec79c33-ec99-42ab-8353-589fcb2e04dc": "9ec79c33ec9942ab8353589fcb2e04dc",
		"9ec79c33-ec99-42ab-8353589fcb2e04dc":  "",
		"9ec79c33ec9942ab8353589fcb2e04d":      "",
		"9ec79c33ec9942ab8353589fcb2e04dg":     "",
		"9ec79c33_ec99_42ab_8353_589fcb2e04dc": "",
		"":                                     "",
	} {
		got, ok := NormalizeEventID(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeEventID(%q): got %q, %v, want %q", in, got, ok, want)
		}
	}
}

func TestParseRFC3339(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-11-26T00:22:00.327260369Z":   time.Date(2026, 11, 26, 0, 22, 0, 327260369, time.UTC),
		"2026-11-26T00:24:53.410730Z":      time.Date(2026, 11, 26, 0, 24, 53, 410730000, time.UTC),
		"2026-11-26T00:25:03.899Z":         time.Date(2026, 11, 26, 0, 25, 3, 899000000, time.UTC),
		"2026-11-26T00:25:03.8991234567Z":  time.Date(2026, 11, 26, 0, 25, 3, 899123456, time.UTC),
		"2026-11-26T00:25:03":              time.Date(2026, 11, 26, 0, 25, 3, 0, time.UTC),
		"2026-11-26 00:25:03z":             time.Date(2026, 11, 26, 0, 25, 3, 0, time.UTC),
		"2026-11-26T02:25:03+02:00":        time.Date(2026, 11, 26, 0, 25, 3, 0, time.UTC),
		"2026-11-25T23:25:03-0100":         time.Date(2026, 11, 26, 0, 25, 3, 0, time.UTC),
		"2024-02-29T00:00:00Z":             time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
		"2026-02-29T00:00:00Z":             {},
		"2026-13-01T00:00:00Z":             {},
		"2026-11-26T24:00:00Z":             {},
		"2026-11-26T00:00:00.Z":            {},
		"2026-11-26T00:00:00+2:00":         {},
		"2026-11-26T00:00:00ZZ":            {},
		"2026-11-26":                       {},
		"1795652703.86":                    {},
		"2026-11-26T00:00:00+02:00:00":     {},
		"2026-11-26X00:00:00Z":             {},
		"２026-11-26T00:00:00Z":             {},
		"2026-11-26T00:00:00.123456789012": time.Date(2026, 11, 26, 0, 0, 0, 123456789, time.UTC),
	} {
		got, ok := parseRFC3339([]byte(in))
		if !got.Equal(want) || ok != !want.IsZero() || got.Location() != time.UTC {
			t.Errorf("parseRFC3339(%q): got %v, %v, want %v", in, got, ok, want)
		}
	}
}

func TestReason(t *testing.T) {
	if got := Reason(nil); got != "" {
		t.Errorf("Reason(nil): got %q, want \"\"", got)
	}
	if got := Reason(errors.New("x")); got != "other" {
		t.Errorf("Reason(foreign): got %q, want \"other\"", got)
	}
	err := new(Envelope).Parse(nil, Limits{})
	wrapped := errors.Join(errors.New("context"), err)
	if got := Reason(wrapped); got != "empty" {
		t.Errorf("Reason(wrapped): got %q, want \"empty\"", got)
	}
	if !strings.HasPrefix(err.Error(), "envelope: malformed: ") {
		t.Errorf("got message %q, want the sentinel's prefix", err)
	}
}

func TestKnownItemType(t *testing.T) {
	for in, want := range map[string]bool{
		"event": true, "transaction": true, "client_report": true, "otel_span": true,
		"otel_future_thing": false, "Event": false, "": false,
	} {
		if got := KnownItemType(in); got != want {
			t.Errorf("KnownItemType(%q): got %v, want %v", in, got, want)
		}
	}
}
