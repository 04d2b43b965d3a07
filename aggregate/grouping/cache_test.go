package grouping

import (
	"encoding/json"
	"testing"
)

// exceptionNames numbers exception lists by content, as
// envelope.ExceptionCache does by their JSON text.
type exceptionNames map[string]uint64

// name sets e.ExceptionsID to the id of e's exceptions (none for none).
func (ids exceptionNames) name(t testing.TB, e *Event) {
	t.Helper()
	if len(e.Exceptions) == 0 {
		return
	}
	b, err := json.Marshal(e.Exceptions)
	if err != nil {
		t.Fatal(err)
	}
	id, ok := ids[string(b)]
	if !ok {
		id = uint64(len(ids) + 1)
		ids[string(b)] = id
	}
	e.ExceptionsID = id
}

// TestCacheSameResult groups every event of the Grouper tests, and
// variants of each that share its exceptions but not its transaction,
// message or platform, through a Grouper with a small Cache, twice over:
// every result must equal Group's.
func TestCacheSameResult(t *testing.T) {
	ids := exceptionNames{}
	var evs []namedEvent
	for _, e := range grouperEvents(t) {
		tx, msg, plat := *e.ev, *e.ev, *e.ev
		tx.Transaction = "GET /other"
		msg.Message, msg.LogTemplate, msg.LogFormatted = "another message 42", "", ""
		plat.Platform = map[bool]string{true: "javascript", false: "python"}[e.ev.Platform == "python"]
		evs = append(evs, e, namedEvent{e.name + "-transaction", &tx}, namedEvent{e.name + "-message", &msg}, namedEvent{e.name + "-platform", &plat})
	}
	for _, e := range evs {
		ids.name(t, e.ev)
	}
	g := Grouper{Cache: NewCache(16)}
	for range 2 {
		for _, e := range evs {
			checkGrouper(t, &g, e)
		}
	}
	hits, misses := g.Cache.Stats()
	t.Logf("%d events, %d exception lists: %d hits, %d misses", len(evs), len(ids), hits, misses)
	if hits == 0 || hits < misses {
		t.Errorf("%d cache hits and %d misses, want more hits (each list is grouped at least 8 times)", hits, misses)
	}
}

// TestCacheBypass checks that events whose grouping reads more than their
// exceptions are not looked up: with a fingerprint, with threads, without
// an ExceptionsID.
func TestCacheBypass(t *testing.T) {
	base := goErr("*app.E", "boom", goStack(10, "charge")...)
	base.ExceptionsID = 7
	fp, th, unnamed := *base, *base, *base
	fp.Fingerprint = []string{"{{ default }}", "x"}
	th.Threads = []Thread{{Crashed: true, Frames: goStack(20, "other")}}
	unnamed.ExceptionsID = 0
	g := Grouper{Cache: NewCache(16)}
	for _, e := range []*Event{&fp, &th, &unnamed, &fp, &th, &unnamed} {
		if got, want := g.Group(e), Group(e); got.Hash != want.Hash || got.Title != want.Title {
			t.Errorf("got %s, want %s", formatResult(got), formatResult(want))
		}
	}
	if hits, misses := g.Cache.Stats(); hits+misses != 0 {
		t.Errorf("%d hits and %d misses, want no lookup", hits, misses)
	}
	// A message event (nothing in its exceptions contributes) is looked up
	// and never cached.
	msg := &Event{Platform: "go", Message: "card 1 declined", Exceptions: []Exception{{Type: "E", Synthetic: true}}, ExceptionsID: 8}
	for range 2 {
		checkGrouper(t, &g, namedEvent{"synthetic", msg})
	}
	if hits, misses := g.Cache.Stats(); hits != 0 || misses != 2 {
		t.Errorf("synthetic exception: %d hits and %d misses, want 0 and 2", hits, misses)
	}
}
