package grouping

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.txt from the current output")

func boolp(b bool) *bool { return &b }

// goFrame is a sentry-go style frame: module, function, abs_path, lineno.
func goFrame(module, function, path string, line int, inApp bool) Frame {
	return Frame{Module: module, Function: function, AbsPath: path, Lineno: line, InApp: boolp(inApp)}
}

// pyFrame is a sentry-python style frame with a context line.
func pyFrame(module, function, file, ctx string, line int) Frame {
	return Frame{Module: module, Function: function, Filename: file, AbsPath: "/srv/app/" + file,
		ContextLine: ctx, Lineno: line, InApp: boolp(true)}
}

func goErr(typ, value string, frames ...Frame) *Event {
	return &Event{Platform: "go", Level: "error", Exceptions: []Exception{{Type: typ, Value: value, Frames: frames}}}
}

func goStack(line int, fn string) []Frame {
	return []Frame{
		goFrame("runtime", "goexit", "/usr/local/go/src/runtime/asm_amd64.s", 1700, false),
		goFrame("net/http", "HandlerFunc.ServeHTTP", "/usr/local/go/src/net/http/server.go", 2220, false),
		goFrame("example.com/shop/api", "(*Server).checkout", "/src/shop/api/checkout.go", line, true),
		goFrame("example.com/shop/billing", fn, "/src/shop/billing/charge.go", line+40, true),
	}
}

func msgEvent(msg string) *Event { return &Event{Platform: "python", Level: "info", Message: msg} }

// pairCase is a must-group (same) or must-not-group pair.
type pairCase struct {
	name string
	a, b func(t *testing.T) *Event
	same bool
}

func ev(e *Event) func(*testing.T) *Event { return func(*testing.T) *Event { return e } }

func fixture(name string) func(*testing.T) *Event {
	return func(t *testing.T) *Event { return loadFixture(t, name) }
}

// modified loads a fixture and changes it.
func modified(name string, change func(*testing.T, *Event)) func(*testing.T) *Event {
	return func(t *testing.T) *Event {
		e := loadFixture(t, name)
		change(t, e)
		return e
	}
}

var pairCases = []pairCase{
	// Must group.
	{name: "same-error-different-lines", same: true,
		a: ev(goErr("*errors.errorString", "card declined", goStack(40, "charge")...)),
		b: ev(goErr("*errors.errorString", "card declined", goStack(57, "charge")...))},
	{name: "value-variable-parts", same: true,
		a: ev(goErr("*app.OrderError", "order 1234 for bob@example.com from 10.0.0.1 failed at 2026-11-26T00:22:00Z (request 3f2a1b4c-1111-2222-3333-444455556666, took 12ms, ratio 0.75)")),
		b: ev(goErr("*app.OrderError", "order 98 for alice@example.org from 192.168.7.33 failed at 2025-01-02T10:11:12.123Z (request 0a1b2c3d-aaaa-bbbb-cccc-ddddeeeeffff, took 950ms, ratio 12.5)"))},
	{name: "message-variable-parts", same: true,
		a: ev(msgEvent("cache miss for key user:4000 after 12ms on cache-1.example.com")),
		b: ev(msgEvent("cache miss for key user:17 after 3ms on cache-2.example.com"))},
	{name: "different-system-frames", same: true,
		a: ev(goErr("*pq.Error", "deadlock", append([]Frame{goFrame("runtime", "main", "/usr/local/go/src/runtime/proc.go", 250, false)}, goStack(40, "charge")...)...)),
		b: ev(goErr("*pq.Error", "deadlock", append([]Frame{goFrame("net/http", "(*conn).serve", "/usr/local/go/src/net/http/server.go", 2090, false)}, goStack(40, "charge")...)...))},
	{name: "same-template-different-formatted", same: true,
		a: ev(&Event{Platform: "python", Level: "error", Logger: "billing", LogTemplate: "charge failed for customer %s amount %d", LogFormatted: "charge failed for customer cus_123 amount 4200"}),
		b: ev(&Event{Platform: "python", Level: "error", Logger: "billing", LogTemplate: "charge failed for customer %s amount %d", LogFormatted: "charge failed for customer cus_999 amount 15"})},
	{name: "python-context-whitespace", same: true,
		a: ev(&Event{Platform: "python", Exceptions: []Exception{{Type: "KeyError", Value: "'sku'", Frames: []Frame{
			pyFrame("shop.views", "checkout", "views.py", "    total = price(cart['sku'])", 10)}}}}),
		b: ev(&Event{Platform: "python", Exceptions: []Exception{{Type: "KeyError", Value: "'sku'", Frames: []Frame{
			pyFrame("shop.views", "checkout", "views.py", "\ttotal   =  price(cart['sku'])  ", 12)}}}})},
	{name: "recursion-depth", same: true,
		a: ev(goErr("runtime.Error", "stack overflow", goFrame("main", "walk", "/src/app/tree.go", 10, true))),
		b: ev(goErr("runtime.Error", "stack overflow", goFrame("main", "walk", "/src/app/tree.go", 10, true), goFrame("main", "walk", "/src/app/tree.go", 10, true), goFrame("main", "walk", "/src/app/tree.go", 10, true)))},
	{name: "js-anonymous-and-object-prefix", same: true,
		a: ev(&Event{Platform: "node", Exceptions: []Exception{{Type: "TypeError", Value: "x is undefined", Frames: []Frame{
			{Filename: "/app/src/a.js", Module: "a", Function: "Object.handler", InApp: boolp(true), Lineno: 3},
			{Filename: "/app/src/a.js", Module: "a", Function: "?", InApp: boolp(true), Lineno: 9}}}}}),
		b: ev(&Event{Platform: "node", Exceptions: []Exception{{Type: "TypeError", Value: "y is undefined", Frames: []Frame{
			{Filename: "/app/src/a.js", Module: "a", Function: "Module.handler", InApp: boolp(true), Lineno: 4},
			{Filename: "/app/src/a.js", Module: "a", Function: "<anonymous>", InApp: boolp(true), Lineno: 11}}}}})},
	{name: "fixture-node-0003-numbers", same: true,
		a: fixture("node/0003-node-range-error-numbers"),
		b: modified("node/0003-node-range-error-numbers", func(_ *testing.T, e *Event) {
			e.Exceptions[0].Value = "index 7 out of range for length 12 (request 1001)"
		})},
	{name: "fixture-node-0003-numbers-no-frames", same: true,
		a: modified("node/0003-node-range-error-numbers", func(_ *testing.T, e *Event) { e.Exceptions[0].Frames = nil }),
		b: modified("node/0003-node-range-error-numbers", func(_ *testing.T, e *Event) {
			e.Exceptions[0].Frames = nil
			e.Exceptions[0].Value = "index 7 out of range for length 12 (request 1001)"
		})},
	{name: "fixture-python-0004-template", same: true,
		a: fixture("python/0004-store-billing"),
		b: modified("python/0004-store-billing", func(_ *testing.T, e *Event) {
			e.LogFormatted = "charge failed for customer cus_777 amount 1"
		})},
	{name: "fixture-go-0036-custom-fingerprint", same: true,
		a: fixture("go/0036-fingerprint-custom"),
		b: modified("go/0036-fingerprint-custom", func(_ *testing.T, e *Event) {
			e.Exceptions[0].Type = "*main.OtherError"
			e.Exceptions[0].Frames = e.Exceptions[0].Frames[:2]
		})},
	{name: "fixture-node-0010-custom-fingerprint", same: true,
		a: fixture("node/0010-node-fingerprint-custom"),
		b: modified("node/0010-node-fingerprint-custom", func(_ *testing.T, e *Event) { e.Exceptions[0].Type = "RangeError" })},

	// Must not group.
	{name: "different-exception-type", same: false,
		a: ev(goErr("*errors.errorString", "card declined", goStack(40, "charge")...)),
		b: ev(goErr("*net.OpError", "card declined", goStack(40, "charge")...))},
	{name: "different-in-app-function", same: false,
		a: ev(goErr("*errors.errorString", "card declined", goStack(40, "charge")...)),
		b: ev(goErr("*errors.errorString", "card declined", goStack(40, "refund")...))},
	{name: "different-root-cause-type", same: false,
		a: ev(&Event{Platform: "go", Exceptions: []Exception{
			{Type: "*pq.Error", Value: "deadlock detected", MechanismType: "chained"},
			{Type: "*fmt.wrapError", Value: "load user: deadlock detected", Frames: goStack(40, "load")}}}),
		b: ev(&Event{Platform: "go", Exceptions: []Exception{
			{Type: "*net.OpError", Value: "deadlock detected", MechanismType: "chained"},
			{Type: "*fmt.wrapError", Value: "load user: deadlock detected", Frames: goStack(40, "load")}}})},
	{name: "different-custom-fingerprint", same: false,
		a: ev(&Event{Platform: "go", Fingerprint: []string{"payment-timeout"}, Exceptions: []Exception{{Type: "E", Value: "v"}}}),
		b: ev(&Event{Platform: "go", Fingerprint: []string{"payment-refused"}, Exceptions: []Exception{{Type: "E", Value: "v"}}})},
	{name: "fingerprint-tag-variable", same: false,
		a: ev(&Event{Platform: "go", Fingerprint: []string{"{{ default }}", "{{tags.region}}"}, Tags: []Tag{{"region", "eu"}}, Exceptions: []Exception{{Type: "E", Value: "v"}}}),
		b: ev(&Event{Platform: "go", Fingerprint: []string{"{{ default }}", "{{ TAGS.region }}"}, Tags: []Tag{{"region", "us"}}, Exceptions: []Exception{{Type: "E", Value: "v"}}})},
	{name: "different-template", same: false,
		a: ev(&Event{Platform: "python", LogTemplate: "charge failed for customer %s", LogFormatted: "charge failed for customer a"}),
		b: ev(&Event{Platform: "python", LogTemplate: "refund failed for customer %s", LogFormatted: "refund failed for customer a"})},
	{name: "fixture-node-0012-vs-0013", same: false,
		a: fixture("node/0012-node-type-error-same-site"),
		b: fixture("node/0013-node-syntax-error-same-site")},
	{name: "fixture-node-0012-vs-0013-same-frames", same: false,
		a: fixture("node/0012-node-type-error-same-site"),
		b: modified("node/0013-node-syntax-error-same-site", func(t *testing.T, e *Event) {
			// Same site: only the exception type differs.
			e.Exceptions[0].Frames = loadFixture(t, "node/0012-node-type-error-same-site").Exceptions[0].Frames
		})},
	{name: "custom-vs-default", same: false,
		a: fixture("go/0001-panic-nil-map"),
		b: modified("go/0001-panic-nil-map", func(_ *testing.T, e *Event) { e.Fingerprint = []string{"nil-map"} })},
}

// singleCases are golden-only events (no pair relation).
var singleCases = []struct {
	name string
	ev   func(t *testing.T) *Event
}{
	{"fixture-go-0001-panic-nil-map", fixture("go/0001-panic-nil-map")},
	{"fixture-go-0020-err-wrapped-chain", fixture("go/0020-err-wrapped-chain")},
	{"fixture-go-0047-rich-context", fixture("go/0047-rich-context")},
	{"fixture-node-0004-null-deref", fixture("node/0004-node-null-deref")},
	{"fixture-node-0007-synthetic-message", fixture("node/0007-node-msg-cache-miss")},
	{"fixture-node-0009-rich-context", fixture("node/0009-node-rich-context")},
	{"fixture-python-0001-exception", fixture("python/0001-store-exception")},
	{"fixture-python-0003-message", fixture("python/0003-store-message")},
	{"default-fingerprint-only", ev(&Event{Platform: "go", Fingerprint: []string{"{{default}}"}, Exceptions: []Exception{{Type: "E", Value: "v 1"}}})},
	{"fingerprint-variables", ev(&Event{Platform: "go", Level: "error", Logger: "app", Transaction: "POST /pay",
		Fingerprint: []string{"{{ type }}", "{{ error.value }}", "{{ function }}", "{{ path }}", "{{ stack.filename }}", "{{ module }}", "{{ package }}",
			"{{ message }}", "{{ transaction }}", "{{ level }}", "{{ logger }}", "{{ tags.missing }}", "{{ unknown }}", "literal"},
		Exceptions: []Exception{{Type: "*app.E", Value: "boom", Frames: []Frame{{Module: "example.com/app", Package: "/usr/lib/libapp.so", Function: "Pay", AbsPath: "/src/app/pay.go", InApp: boolp(true)}}}}})},
	{"fingerprint-unresolved", ev(&Event{Platform: "go", Fingerprint: []string{"{{ type }}", "{{ function }}", "{{ transaction }}", "{{ message }}"}})},
	{"threads-crashed", ev(&Event{Platform: "go", Message: "deadlock 42", Threads: []Thread{
		{ID: "1", Frames: []Frame{goFrame("main", "idle", "/src/app/main.go", 1, true)}},
		{ID: "2", Crashed: true, Frames: []Frame{goFrame("runtime", "gopark", "/usr/local/go/src/runtime/proc.go", 3, false), goFrame("main", "worker", "/src/app/work.go", 9, true)}}}})},
	{"system-variant-only-library-frames", ev(&Event{Platform: "node", Exceptions: []Exception{{Type: "Error", Value: "ECONNRESET 1", Frames: []Frame{
		{Filename: "/app/node_modules/pg/lib/client.js", Module: "pg.lib:client", Function: "Client._handleErrorEvent", ContextLine: "this.emit('error', err)", Lineno: 5},
		{Filename: "node:net", Module: "node:net", Function: "Socket.emit", Lineno: 7}}}}})},
	{"synthetic-no-frames", ev(&Event{Platform: "node", Exceptions: []Exception{{Type: "Error", Value: "Non-Error exception captured with keys: code, 42", Synthetic: true}}})},
	{"fallback-empty", ev(&Event{Platform: "go"})},
	{"long-values-truncated", ev(goErr("E", strings.Repeat("é", 150)+"\nsecond line", goFrame("main", "f", "/src/app/m.go", 1, true)))},
	{"js-url-frames", ev(&Event{Platform: "javascript", Exceptions: []Exception{{Type: "ReferenceError", Value: "foo is not defined", Frames: []Frame{
		{Filename: "/static/app.min.js", AbsPath: "https://shop.example.com/static/app.min.js", Function: "n.render", ContextLine: "x()", Lineno: 1, Colno: 2000, InApp: boolp(true)},
		{Filename: "[native code]", AbsPath: "[native code]", Function: "forEach", InApp: boolp(true)},
		{Filename: "/static/app.min.js", AbsPath: "https://shop.example.com/static/app.min.js", Function: "eval", Lineno: 1, InApp: boolp(true)}}}}})},
	{"in-app-unset-heuristics", ev(&Event{Platform: "python", Exceptions: []Exception{{Type: "ValueError", Value: "bad", Frames: []Frame{
		{Module: "django.core.handlers", Filename: "base.py", AbsPath: "/usr/lib/python3/dist-packages/django/core/handlers/base.py", Function: "get_response", ContextLine: "response = handler(request)"},
		{Module: "shop.views", Filename: "views.py", AbsPath: "/srv/shop/views.py", Function: "checkout", ContextLine: "raise ValueError('bad')"}}}}})},
	{"message-trimmed-lines", ev(&Event{Platform: "python", Message: "\n  first 1\n\nsecond 2\nthird 3\n", Transaction: "worker.run"})},
}

// formatResult renders a Result for golden files.
func formatResult(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kind: %s\nvariant: %s\nhash: %s\ntitle: %q\nculprit: %q\n", r.Kind, r.Variant, r.Hash, r.Title, r.Culprit)
	fmt.Fprintf(&b, "metadata: type=%q value=%q filename=%q function=%q title=%q\n",
		r.Metadata.Type, r.Metadata.Value, r.Metadata.Filename, r.Metadata.Function, r.Metadata.Title)
	for _, c := range r.Components {
		mark := "-"
		if c.Contributes {
			mark = "+"
		}
		fmt.Fprintf(&b, "  %s %s %q", mark, c.ID, c.Values)
		if c.Hint != "" {
			fmt.Fprintf(&b, " (%s)", c.Hint)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

var hashRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("missing golden file (run go test -update): %v", err)
	}
	if string(want) != got {
		t.Errorf("golden %s mismatch\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestGroupPairs(t *testing.T) {
	for _, tc := range pairCases {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Group(tc.a(t)), Group(tc.b(t))
			for _, r := range []Result{a, b} {
				if !hashRE.MatchString(r.Hash) {
					t.Fatalf("hash %q is not 32 lowercase hex", r.Hash)
				}
			}
			if same := a.Hash == b.Hash; same != tc.same {
				t.Errorf("same hash = %v, want %v\nA:\n%s\nB:\n%s", same, tc.same, formatResult(a), formatResult(b))
			}
			checkGolden(t, "pair-"+tc.name, "== A\n"+formatResult(a)+"== B\n"+formatResult(b))
		})
	}
}

func TestGroupGolden(t *testing.T) {
	for _, tc := range singleCases {
		t.Run(tc.name, func(t *testing.T) {
			r := Group(tc.ev(t))
			if !hashRE.MatchString(r.Hash) {
				t.Fatalf("hash %q is not 32 lowercase hex", r.Hash)
			}
			checkGolden(t, tc.name, formatResult(r))
		})
	}
}

// TestGroupFixtures checks specific expectations on the real captures.
func TestGroupFixtures(t *testing.T) {
	t.Run("go-0001", func(t *testing.T) {
		r := Group(loadFixture(t, "go/0001-panic-nil-map"))
		if r.Kind != "default" || r.Variant != "app" {
			t.Errorf("kind/variant = %s/%s, want default/app", r.Kind, r.Variant)
		}
		if want := "runtime.plainError: assignment to entry in nil map"; r.Title != want {
			t.Errorf("title = %q, want %q", r.Title, want)
		}
		if want := "main in panicNilMap"; r.Culprit != want {
			t.Errorf("culprit = %q, want %q", r.Culprit, want)
		}
		if r.Metadata.Function != "panicNilMap" || !strings.HasSuffix(r.Metadata.Filename, "scenarios.go") {
			t.Errorf("metadata = %+v, want function panicNilMap in scenarios.go", r.Metadata)
		}
	})
	t.Run("go-0020-chain", func(t *testing.T) {
		r := Group(loadFixture(t, "go/0020-err-wrapped-chain"))
		if r.Metadata.Type != "*fmt.wrapError" {
			t.Errorf("metadata type = %q, want the outermost exception", r.Metadata.Type)
		}
		var rootType, rootValue bool
		for _, c := range r.Components {
			if c.ID == "exception[0].type" && c.Contributes {
				rootType = true
			}
			if c.ID == "exception[0].value" && c.Contributes && c.Values[0] == "db: deadlock detected (code <int>)" {
				rootValue = true
			}
		}
		if !rootType || !rootValue {
			t.Errorf("root cause (no frames) must contribute type and normalised value:\n%s", formatResult(r))
		}
	})
	t.Run("node-0003-value", func(t *testing.T) {
		e := loadFixture(t, "node/0003-node-range-error-numbers")
		e.Exceptions[0].Frames = nil
		r := Group(e)
		want := "index <int> out of range for length <int> (request <int>)"
		if len(r.Components) < 2 || r.Components[1].Values[0] != want || !r.Components[1].Contributes {
			t.Errorf("value component = %+v, want %q contributing", r.Components, want)
		}
	})
	t.Run("python-0004-template", func(t *testing.T) {
		r := Group(loadFixture(t, "python/0004-store-billing"))
		if r.Variant != "message" || len(r.Components) != 1 || r.Components[0].Values[0] != "charge failed for customer %s amount %d" {
			t.Errorf("want the template as message component, got\n%s", formatResult(r))
		}
	})
	t.Run("custom-fingerprints", func(t *testing.T) {
		for _, name := range []string{"go/0036-fingerprint-custom", "node/0010-node-fingerprint-custom"} {
			e := loadFixture(t, name)
			r := Group(e)
			want := Group(&Event{Fingerprint: e.Fingerprint})
			if r.Kind != "custom" || r.Hash != want.Hash {
				t.Errorf("%s: kind %s hash %s, want custom %s", name, r.Kind, r.Hash, want.Hash)
			}
		}
	})
	t.Run("node-0007-synthetic", func(t *testing.T) {
		r := Group(loadFixture(t, "node/0007-node-msg-cache-miss"))
		if r.Metadata.Type != "" || r.Culprit != "" {
			t.Errorf("synthetic exception: metadata %+v culprit %q, want no type and no culprit", r.Metadata, r.Culprit)
		}
	})
}

func TestFingerprintKinds(t *testing.T) {
	base := Event{Platform: "go", Exceptions: []Exception{{Type: "E", Value: "v"}}}
	def := Group(&base)
	for _, tc := range []struct {
		fp       []string
		kind     string
		sameHash bool
	}{
		{[]string{"{{ default }}"}, "default", true},
		{[]string{"{{default}}"}, "default", true},
		{[]string{"{{  Default  }}"}, "default", true},
		{[]string{"{{ default }}", "x"}, "hybrid", false},
		{[]string{"x"}, "custom", false},
		{[]string{"{{ default"}, "custom", false},
	} {
		e := base
		e.Fingerprint = tc.fp
		r := Group(&e)
		if r.Kind != tc.kind || (r.Hash == def.Hash) != tc.sameHash {
			t.Errorf("fingerprint %q: got kind %s (same hash %v), want %s (%v)", tc.fp, r.Kind, r.Hash == def.Hash, tc.kind, tc.sameHash)
		}
	}
}

// normalizeCases are Normalize's examples; FuzzNormalize also seeds with them.
var normalizeCases = []struct{ in, want string }{
	{"order 1234 failed (request 3f2a1b4c-1111-2222-3333-444455556666)", "order <int> failed (request <uuid>)"},
	{"mail bob@example.com now", "mail <email> now"},
	{"GET https://api.example.com/v1?x=1 failed", "GET <url> failed"},
	{"host db-3.internal.example.com down", "host <hostname> down"},
	{"from 10.1.2.3 and ::1 and fe80::1%eth0", "from <ip> and <ip> and <ip>%eth0"},
	{"Foo::bar() failed", "Foo::bar() failed"},
	{"trace 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "trace <traceparent>"},
	{"sha da39a3ee5e6b4b0d3255bfef95601890afd80709 md5 d41d8cd98f00b204e9800998ecf8427e", "sha <sha1> md5 <md5>"},
	{"at 2026-11-26T00:22:00.327260369Z", "at <date>"},
	{"on Mon, 02 Jan 2006 15:04:05 MST", "on <date>"},
	{"at 3:04 PM and 15:04:05", "at <date> and <date>"},
	{"took 150ms or 1.5s", "took <duration> or <duration>"},
	{"ptr 0xc000123abc id deadbeef01", "ptr <hex> id <hex>"},
	{"word deadbeefcafe stays", "word deadbeefcafe stays"},
	{"ratio -0.5 and 3.25", "ratio <float> and <float>"},
	{"n=-5 a-5 id 12345678", "n=<int> a-<int> id <hex>"},
	{"key='abc' flag=true other \"q\" plain true", "key=<quoted_str> flag=<bool> other \"q\" plain true"},
	{"datetime.datetime(2024, 1, 2) bad", "<date> bad"},
	{"one\n\n two \nthree", "one\n two..."},
	{"trailing newline\n", "trailing newline..."},
	{"plain message", "plain message"},
	{"", ""},
	{"   ", "..."},
}

func TestNormalize(t *testing.T) {
	for _, tc := range normalizeCases {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTruncateChars(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 5, "ab..."},
		{"ééééé", 5, "ééééé"},
		{"éééééé", 5, "éé..."},
	} {
		if got := truncateChars(tc.in, tc.n); got != tc.want {
			t.Errorf("truncateChars(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// TestGoClosure checks that Go closure names group whatever the inlining.
func TestGoClosure(t *testing.T) {
	for in, want := range map[string]string{
		"TestSentrySDK.sendBoom.func4": "sendBoom.func",
		"sendBoom.func1":               "sendBoom.func",
		"(*Server).handle.func2.1":     "handle.func",
		"main":                         "main",
		"(*T).Method":                  "(*T).Method",
		"func1":                        "func1",
	} {
		if got := goClosure(in); got != want {
			t.Errorf("goClosure(%q) = %q, want %q", in, got, want)
		}
	}
}
