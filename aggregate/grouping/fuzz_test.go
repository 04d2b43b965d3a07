package grouping

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzNormalize checks that Normalize gives the same output as the regexp
// it replaced (normalizeRef), never panics and is idempotent.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"order 1234 failed (request 3f2a1b4c-1111-2222-3333-444455556666)",
		"user bob@example.com from 10.0.0.1 at 2026-11-26T00:22:00Z took 12ms",
		"Foo::bar a :: b fe80::1%eth0 2001:db8::ff00:42:8329",
		"at 12:30. ok 3:04 PM 15:04:05:99", "x=true y='abc' z=\"q\"",
		"deadbeefcafe deadbeef12 0xFF 12345678 -5 a-5 3.14 -2.5",
		"line1\n\nline2\r\nline3\u2028four", "  padded  ", "visit https://x.com/a?b=1 now",
		"Mon, 02 Jan 2006 15:04:05 MST", "datetime.datetime(2024, 1, 2)", "\x1c\x1d\x85",
	} {
		f.Add(s)
	}
	for _, tc := range normalizeCases {
		f.Add(tc.in)
	}
	for _, s := range parameterizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		n := Normalize(s)
		if want := normalizeRef(s); n != want {
			t.Fatalf("Normalize(%q) = %q, the regexp gives %q", s, n, want)
		}
		if gluedPlaceholder(n) {
			// Sentry's patterns are not all bounded (e.g. date
			// \d{4}-[01]\d-[0-3]\d, duration \d+s\b), so a placeholder glued
			// to neighbouring text can create a new match on a second pass:
			// "X0000-00-000" -> "X<date>0" -> "X<date><int>". Sentry behaves
			// the same; idempotence is only promised without such contact.
			return
		}
		if nn := Normalize(n); nn != n {
			t.Errorf("not idempotent:\n in  %q\n 1st %q\n 2nd %q", s, n, nn)
		}
	})
}

// parameterizeSeeds reach the corners of the hand-written matchers: each
// alternative of a pattern, the backtracking of kitchen times, the leftmost
// rule (a match starting inside a run) and the lookaround emulations.
var parameterizeSeeds = []string{
	// e-mail, url, hostname
	"a.b+c@x-y.z.com.", "x@-", "@a", "ws://a b", "wss://x", "ftp://.x", "http://\u00e9\n", "xhttp://a", "https://a\nb",
	"x.info x.in x.Com a.b.c.COM -a.com a-b.io_ a.com-b", "1.2.io", "a..com",
	// ip
	"1:2:3:4:5:6:7:8 1:2:3:4:5:6:7:8:9 1:2:3:4:5:6:7:: 1::2:3 a:b::c:d:e 12345::1",
	"::ffff:1.2.3.4 ::1.2.3.4 :: ::g x::1 fe80:%eth0 fe80::%e fe80::a:b:c:d%e_ fe80:1%x fe80::12345%x",
	"255.255.255.255 1.2.3.256 01.2.3.4 1.2.3.4a 1.2.3.4.5 0.0.0.0",
	// traceparent, uuid, sha1, md5
	"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02 1-5759e988-bd862e3fe1be46a994272793",
	"3F2A1B4C-1111-2222-3333-444455556666x 3f2a1b4c-1111-2222-3333-4444555566667",
	"da39a3ee5e6b4b0d3255bfef95601890afd807090 abcdefabcdefabcdefabcdefabcdefab 1",
	// date
	"Mon, 2 Jan 06 15:04 -0700", "Tue, 12 Feb 1999 1:2:3 +0500x", "Sun, 02 Jan 2006 15:04:05 UTC", "Mon, 02 Jan 2006 15:04:05 J",
	"Mon Jan 02, 1999", "Jan 02, 19999", "xJan 02, 1999", "Monday, 02-Jan-06 15:04:05 MST", "Sun, 02-Jan-06 15:04:05 Z",
	"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05.999Z", "2006-01-02T15:04:05+07:00", "12345-01-02T15:04:05",
	"Mon Jan 02 2006 15:04:05 GMT-0700 (Pacific Daylight Time)", "Mon Jan 02 2006 15:04:05 GMT+0100 ()",
	"2006-01-02 15:04:05.123+07:00", "20060102T150405Z", "2006-01-02 15:04", "2006-01-02T1504+0700",
	"3:04PMx 3:04:99 1:00@x.com 12:30.x 9:59\u00e9 0:00 24:00 23:59:60", "2006-01-02", "23:59:59",
	"Mon Jan  2 15:04:05 2006", "Jan 2 15:04:05 20061", "Mon, 02 Jan 2006 15:04:60 -0700",
	"02 Jan 2006 15:04 EST", "31 Dec 1999 23:59 Q", "00 Jan 2006 15:04 Z", "datetime.datetime(2024,\n 1)",
	// duration, hex, float, int, quoted_str, bool
	"150ms 1.5s 12s x12s 12sx 1.5.5s 0x1F 0Xdeadbeef 0x deadbeef12 DEADBEEF12 abcdefabcdef",
	"-0.5 3.25 -5 a-5 n=-5 12345678 1234567 -12345678 1.5x", "x='' x='abc y=\"q\" z=true w=False v=trueish",
}

var placeholderNames = []string{"<email>", "<url>", "<hostname>", "<ip>", "<traceparent>", "<uuid>",
	"<sha1>", "<md5>", "<date>", "<duration>", "<hex>", "<float>", "<int>", "<quoted_str>", "<bool>"}

// gluedPlaceholder reports whether a placeholder in n touches a character
// that could extend or start another match.
func gluedPlaceholder(n string) bool {
	glue := func(c byte) bool {
		return c >= 0x80 || c == '_' || c == '-' || c == '.' || c == ':' || c == '@' || c == '=' || c == '%' ||
			(c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || strings.IndexByte("!#$&'*+/?^`{|}~", c) >= 0
	}
	for _, p := range placeholderNames {
		for i := 0; ; {
			j := strings.Index(n[i:], p)
			if j < 0 {
				break
			}
			start, end := i+j, i+j+len(p)
			if (start > 0 && glue(n[start-1])) || (end < len(n) && glue(n[end])) {
				return true
			}
			i = end
		}
	}
	return false
}

// FuzzGroup places fuzzed strings into every field of an event; Group must
// not panic and must always return a 32-hex hash. A Grouper that lives
// across all inputs must give exactly Group's result, whatever it grouped
// before.
func FuzzGroup(f *testing.F) {
	f.Add("*errors.errorString", "card 1234 declined", "main", "charge", "/src/app/x.go", "go", "{{ default }}", "  x = 1", true)
	f.Add("TypeError", "x is undefined", "send", "Object.?", "https://x.com/a.js", "javascript", "{{ tags.a }}", "", false)
	f.Add("", "", "", "", "", "", "", "", false)
	f.Add("E", "v\nw", "", "<anonymous>", "[native code]", "node", "{{type}}", strings.Repeat("y", 130), true)
	// The fuzz function runs one input at a time, in the seed corpus as in
	// each fuzzing worker, so g needs no lock.
	var g Grouper
	// ids gives exception lists a memo by content that lives across
	// inputs: an input's events meet the memo of another input's with the
	// same exceptions, through gc.
	gc, ids := Grouper{Memos: new(MemoStats)}, exceptionNames{}
	f.Fuzz(func(t *testing.T, typ, value, module, function, path, platform, fp, ctx string, inApp bool) {
		fr := Frame{Module: module, Function: function, AbsPath: path, Filename: path, ContextLine: ctx, Platform: platform, InApp: &inApp}
		events := []*Event{
			{Platform: platform, Exceptions: []Exception{{Type: typ, Value: value, Frames: []Frame{fr, fr, {Function: function}}}}},
			{Platform: platform, Fingerprint: []string{fp, value}, Tags: []Tag{{"a", typ}}, Exceptions: []Exception{{Type: typ, Synthetic: inApp}, {Value: value, Frames: []Frame{fr}}}},
			{Platform: platform, Threads: []Thread{{Crashed: inApp, Frames: []Frame{fr}}}, Message: value},
			{Platform: platform, LogTemplate: typ, LogFormatted: value, Fingerprint: []string{fp}},
		}
		for _, e := range events {
			r := Group(e)
			if !hashRE.MatchString(r.Hash) {
				t.Fatalf("hash %q for %+v", r.Hash, e)
			}
			if r.Title == "" {
				t.Fatalf("empty title for %+v", e)
			}
			if got := g.Group(e); !reflect.DeepEqual(got, r) {
				t.Fatalf("Grouper.Group differs from Group for %+v\ngot:\n%s%+v\nwant:\n%s%+v", e, formatResult(got), got.Components, formatResult(r), r.Components)
			}
			named := *e
			ids.name(t, &named)
			for range 2 {
				if got := gc.Group(&named); !reflect.DeepEqual(got, r) {
					t.Fatalf("Grouper.Group with a memo differs from Group for %+v\ngot:\n%s%+v\nwant:\n%s%+v", e, formatResult(got), got.Components, formatResult(r), r.Components)
				}
			}
		}
	})
}
