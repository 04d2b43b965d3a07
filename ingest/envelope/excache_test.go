package envelope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
)

// checkCached fails t unless a Decoder with an ExceptionCache returns, for
// in, what DecodeEvent returns (see checkLean) on each of three decodes:
// the first sighting (decoded, only noted), the second (decoded, cached)
// and the third (taken from the cache). Each decode reads a copy of in of
// its own, scribbled over once decoded: an entry sharing a payload's
// memory would show in the next decode. It returns the ExceptionsMemo of
// each decode.
func checkCached(t *testing.T, d *Decoder, in []byte, maxDepth int) [3]*atomic.Value {
	t.Helper()
	var ids [3]*atomic.Value
	full, ferr := DecodeEvent(in, maxDepth)
	for i := range ids {
		buf := bytes.Clone(in)
		ev, err := d.DecodeLeanInPlace(buf, maxDepth)
		if ferr != nil || err != nil {
			if !sameError(err, ferr) {
				t.Fatalf("decode %d of %q with a cache, depth %d: got error %v (reason %q), want %v (reason %q)", i, in, maxDepth, err, Reason(err), ferr, Reason(ferr))
			}
			return ids
		}
		ids[i] = ev.ExceptionsMemo
		got := *ev
		got.ExceptionsMemo = nil
		if want := withoutLean(full); !reflect.DeepEqual(&got, want) {
			g, _ := json.Marshal(&got)
			w, _ := json.Marshal(want)
			t.Fatalf("decode %d of %q with a cache, depth %d:\n got %s\nwant %s", i, in, maxDepth, g, w)
		}
		for j := range buf {
			buf[j] = '#'
		}
	}
	return ids
}

// TestExceptionCacheSameEvents decodes every payload the package's tests
// decode through one cached Decoder: each must decode as without the
// cache, and an event whose exceptions came from the cache must name them.
func TestExceptionCacheSameEvents(t *testing.T) {
	// shared lives across the inputs, with entries coming and going; d
	// starts each input with a cache of its own.
	shared := Decoder{Exceptions: NewExceptionCache(4)}
	var d Decoder
	cached, hits := 0, uint64(0)
	for _, in := range leanInputs(t) {
		checkCached(t, &shared, in.in, in.depth)
		checkCached(t, &shared, in.in, in.depth)
		d.Exceptions = NewExceptionCache(8)
		ids := checkCached(t, &d, in.in, in.depth)
		h, _ := d.Exceptions.Stats()
		hits += h
		if ids[0] != nil {
			t.Errorf("%s: the first decode got a memo, want none (a first sighting is not cached)", in.name)
		}
		if ids[1] != ids[2] {
			t.Errorf("%s: the second and third decodes got memos %p and %p, want the same", in.name, ids[1], ids[2])
		}
		if ids[2] != nil {
			cached++
		}
	}
	// Most fixtures have exceptions; this fails if nothing is cached.
	if cached < 5 || hits < uint64(cached) {
		t.Errorf("%d payloads were cached, with %d hits; want at least 5, and a hit for each", cached, hits)
	}
}

// TestExceptionCacheKey checks that the cache tells exception values apart
// by their whole text, and that the rest of the event stays the event's.
func TestExceptionCacheKey(t *testing.T) {
	d := Decoder{Exceptions: NewExceptionCache(8)}
	event := func(value, message string) []byte {
		return fmt.Appendf(nil, `{"message":%q,"exception":[{"type":"E","value":%q,"stacktrace":{"frames":[{"function":"f","in_app":true}]}}]}`, message, value)
	}
	var ids []*atomic.Value
	for _, value := range []string{"a", "b"} {
		for i := range 3 {
			msg := fmt.Sprint("message ", i)
			ev, err := d.DecodeLeanInPlace(event(value, msg), 0)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Message != msg || ev.Exceptions[0].Value != value || !*ev.Exceptions[0].Frames[0].InApp {
				t.Fatalf("value %s, decode %d: got message %q, exception %+v", value, i, ev.Message, ev.Exceptions[0])
			}
			ids = append(ids, ev.ExceptionsMemo)
		}
	}
	if ids[0] != nil || ids[1] == nil || ids[2] != ids[1] || ids[3] != nil || ids[4] == nil || ids[5] != ids[4] || ids[4] == ids[1] {
		t.Errorf("exceptions memos %v: want nil, a, a, nil, b, b with a ≠ b", ids)
	}
	// A value with the same text after white space is the same value; the
	// white space before it is not part of the text.
	ev, err := d.DecodeLeanInPlace([]byte(`{"exception":  [{"type":"E","value":"a","stacktrace":{"frames":[{"function":"f","in_app":true}]}}]}`), 0)
	if err != nil || ev.ExceptionsMemo != ids[1] {
		t.Errorf("after white space: got memo %p, error %v; want %p", ev.ExceptionsMemo, err, ids[1])
	}
}

// TestExceptionCacheDepth checks that a cached exception value is still
// held to the caller's maxDepth.
// A value of at least prefixLen bytes is tried by its prefix first.
func TestExceptionCacheDepth(t *testing.T) {
	for _, value := range []string{"v", strings.Repeat("v", prefixLen)} {
		d := Decoder{Exceptions: NewExceptionCache(8)}
		in := fmt.Appendf(nil, `{"exception":{"values":[{"type":"E","value":%q,"stacktrace":{"frames":[{"function":"f","vars":{"a":{"b":1}}}]}}]}}`, value)
		for range 2 {
			if _, err := d.DecodeLeanInPlace(bytes.Clone(in), 0); err != nil {
				t.Fatal(err)
			}
		}
		_, want := DecodeEvent(in, 5)
		if _, err := d.DecodeLeanInPlace(bytes.Clone(in), 5); !sameError(err, want) || want == nil {
			t.Errorf("cached value of %d bytes at depth 5: got %v, want %v (too deep)", len(value), err, want)
		}
	}
}

// TestExceptionCachePrefix checks the lookup by prefix: two values that
// share their first prefixLen bytes are told apart, keep their own
// entries and memos and are both found by that prefix, a value found by
// its prefix is taken whole, what follows it is still the event's to
// validate, and the entries of one prefix are bounded.
func TestExceptionCachePrefix(t *testing.T) {
	c := NewExceptionCache(16)
	d := Decoder{Exceptions: c}
	common := strings.Repeat("c", prefixLen)
	value := func(which string) string {
		return fmt.Sprintf(`[{"type":"E","value":"%s %s","stacktrace":{"frames":[{"function":"f","in_app":true}]}}]`, common, which)
	}
	event := func(which string) []byte {
		return fmt.Appendf(nil, `{"message":"m","exception":%s,"level":"warning"}`, value(which))
	}
	memos := map[string]*atomic.Value{}
	decode := func(which string) *atomic.Value {
		t.Helper()
		ev, err := d.DecodeLeanInPlace(event(which), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := common + " " + which; ev.Exceptions[0].Value != want || ev.Level != "warning" || ev.Message != "m" {
			t.Fatalf("%s: got value %q, level %q, message %q", which, ev.Exceptions[0].Value, ev.Level, ev.Message)
		}
		return ev.ExceptionsMemo
	}
	for round := range 3 {
		for _, which := range []string{"a", "b"} {
			m := decode(which)
			switch {
			case round == 0 && m != nil:
				t.Fatalf("%s: cached on its first sighting", which)
			case round == 1:
				memos[which] = m
			case m != memos[which]:
				t.Fatalf("%s, round %d: memo %p, want %p", which, round, m, memos[which])
			}
			// Now the entry lookupPrefix finds for that prefix.
			if round > 0 {
				in := event(which)
				rest := in[bytes.Index(in, []byte("[")):]
				if e := c.lookupPrefix(rest, DefaultMaxDepth); e == nil || e.text != value(which) || &e.memo != m {
					t.Fatalf("%s, round %d: lookupPrefix found %v", which, round, e)
				}
			}
		}
	}
	if memos["a"] == nil || memos["a"] == memos["b"] {
		t.Fatalf("memos %v: want two", memos)
	}
	found := func(which string) *cachedExceptions {
		in := event(which)
		return c.lookupPrefix(in[bytes.Index(in, []byte("[")):], DefaultMaxDepth)
	}
	for _, which := range []string{"a", "b"} {
		if e := found(which); e == nil || &e.memo != memos[which] {
			t.Errorf("%s: lookupPrefix found %v after both were cached, want its entry", which, e)
		}
	}
	// A cached value followed by a stray bracket: the event is invalid, as
	// it is without a cache.
	bad := fmt.Appendf(nil, `{"exception":%s]}`, value("a"))
	_, want := DecodeEvent(bad, 0)
	if _, err := d.DecodeLeanInPlace(bytes.Clone(bad), 0); want == nil || !sameError(err, want) {
		t.Errorf("cached value and a stray bracket: got %v, want %v", err, want)
	}
	// A longer value that starts like a cached one is not it.
	longer := fmt.Appendf(nil, `{"exception":[{"type":"E","value":"%s a","stacktrace":{"frames":[{"function":"f","in_app":true}]}},{"type":"F"}]}`, common)
	ev, err := d.DecodeLeanInPlace(longer, 0)
	if err != nil || len(ev.Exceptions) != 2 || ev.ExceptionsMemo == memos["a"] {
		t.Errorf("a value extending a cached one: got %d exceptions, memo %p (a's %p), error %v", len(ev.Exceptions), ev.ExceptionsMemo, memos["a"], err)
	}
	// Of ten more values with that prefix, cached in turn, the last
	// maxPrefixEntries are found by it.
	var more []string
	for i := range 10 {
		more = append(more, fmt.Sprint("v", i))
	}
	for range 2 {
		for _, which := range more {
			decode(which)
		}
	}
	if n := len(c.byPrefix[maphash.String(exceptionSeed, value("a")[:prefixLen])]); n != maxPrefixEntries {
		t.Errorf("the prefix holds %d entries, want %d", n, maxPrefixEntries)
	}
	for i, which := range more {
		if got, want := found(which) != nil, i >= len(more)-maxPrefixEntries; got != want {
			t.Errorf("%s, cached %d of %d: found by its prefix %v, want %v", which, i+1, len(more), got, want)
		}
	}
}

// TestExceptionCacheBounded checks that the cache keeps at most two
// generations of entries, and that an entry found in the older one moves
// to the newer one.
func TestExceptionCacheBounded(t *testing.T) {
	c := NewExceptionCache(2)
	d := Decoder{Exceptions: c}
	// An entry's text, long enough to be found by its prefix too.
	text := func(i int) string {
		return fmt.Sprintf(`[{"type":"E%d","value":"%s"}]`, i, strings.Repeat("v", prefixLen))
	}
	has := func(gen map[uint64]*cachedExceptions, i int) bool {
		e := gen[maphash.String(exceptionSeed, text(i))]
		return e != nil && e.text == text(i)
	}
	in := func(i int) []byte { return fmt.Appendf(nil, `{"exception":%s}`, text(i)) }
	decode := func(i int) *atomic.Value {
		t.Helper()
		ev, err := d.DecodeLeanInPlace(in(i), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("E", i); ev.Exceptions[0].Type != want {
			t.Fatalf("got type %q, want %q", ev.Exceptions[0].Type, want)
		}
		return ev.ExceptionsMemo
	}
	for i := range 6 {
		decode(i)
		if decode(i) == nil {
			t.Fatalf("E%d: not cached on its second sighting", i)
		}
		if i == 2 && decode(0) == nil {
			t.Fatal("E0 left the cache too early")
		}
		// Found in the older generation at E2, E0 moved forward: two
		// entries later it is still there.
		if i == 4 && !has(c.cur, 0) && !has(c.old, 0) {
			t.Fatal("E0 was not moved forward when found in the older generation")
		}
		// The prefix index holds entries of the current generation only.
		if len(c.byPrefix) == 0 {
			t.Fatalf("E%d: no entry in the prefix index", i)
		}
		for _, entries := range c.byPrefix {
			for _, e := range entries {
				if c.cur[maphash.String(exceptionSeed, e.text)] != e {
					t.Fatalf("E%d: the prefix index holds %.20s…, which is not in the current generation", i, e.text)
				}
			}
		}
	}
	if n := len(c.cur) + len(c.old); n > 4 {
		t.Errorf("the cache holds %d entries, want at most 4", n)
	}
	if has(c.cur, 1) || has(c.old, 1) {
		t.Error("E1, the oldest, is still cached")
	}
	if !has(c.cur, 5) || has(c.cur, 0) || has(c.old, 0) {
		t.Error("E5, the newest, is not cached, or E0 (moved forward, then aged out) still is")
	}
}

// TestExceptionCacheLarge checks that a value over maxCachedException is
// decoded every time and never cached.
func TestExceptionCacheLarge(t *testing.T) {
	d := Decoder{Exceptions: NewExceptionCache(8)}
	in := fmt.Appendf(nil, `{"exception":[{"type":"E","value":%q}]}`, strings.Repeat("x", maxCachedException))
	for range 3 {
		ev, err := d.DecodeLeanInPlace(bytes.Clone(in), 0)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ExceptionsMemo != nil || len(ev.Exceptions[0].Value) != maxCachedException {
			t.Fatalf("got memo %p and a value of %d bytes; want none and %d", ev.ExceptionsMemo, len(ev.Exceptions[0].Value), maxCachedException)
		}
	}
}
