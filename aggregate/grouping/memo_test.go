package grouping

import (
	"encoding/json"
	"sync/atomic"
	"testing"
)

// exceptionNames gives exception lists a memo by content, as
// envelope.ExceptionCache does by their JSON text.
type exceptionNames map[string]*atomic.Value

// name sets e.ExceptionsMemo to the memo of e's exceptions (none for
// none).
func (ids exceptionNames) name(t testing.TB, e *Event) {
	t.Helper()
	if len(e.Exceptions) == 0 {
		return
	}
	b, err := json.Marshal(e.Exceptions)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := ids[string(b)]
	if !ok {
		m = new(atomic.Value)
		ids[string(b)] = m
	}
	e.ExceptionsMemo = m
}

// TestMemoSameResult groups every event of the Grouper tests, and
// variants of each that share its exceptions (and their memo) but not its
// transaction, message or platform, through one Grouper, twice over: every
// result must equal Group's.
func TestMemoSameResult(t *testing.T) {
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
	g := Grouper{Memos: new(MemoStats)}
	for range 2 {
		for _, e := range evs {
			checkGrouper(t, &g, e)
		}
	}
	hits, misses := g.Memos.Stats()
	t.Logf("%d events, %d exception lists: %d hits, %d misses", len(evs), len(ids), hits, misses)
	if hits == 0 || hits < misses {
		t.Errorf("%d cache hits and %d misses, want more hits (each list is grouped at least 8 times)", hits, misses)
	}
}

// TestMemoBypass checks that events whose grouping reads more than their
// exceptions are not looked up: with a fingerprint, with threads, without
// a memo.
func TestMemoBypass(t *testing.T) {
	base := goErr("*app.E", "boom", goStack(10, "charge")...)
	base.ExceptionsMemo = new(atomic.Value)
	fp, th, unnamed := *base, *base, *base
	fp.Fingerprint = []string{"{{ default }}", "x"}
	th.Threads = []Thread{{Crashed: true, Frames: goStack(20, "other")}}
	unnamed.ExceptionsMemo = nil
	g := Grouper{Memos: new(MemoStats)}
	for _, e := range []*Event{&fp, &th, &unnamed, &fp, &th, &unnamed} {
		if got, want := g.Group(e), Group(e); got.Hash != want.Hash || got.Title != want.Title {
			t.Errorf("got %s, want %s", formatResult(got), formatResult(want))
		}
	}
	if hits, misses := g.Memos.Stats(); hits+misses != 0 {
		t.Errorf("%d hits and %d misses, want no lookup", hits, misses)
	}
	// A message event (nothing in its exceptions contributes) is looked up
	// and never cached.
	msg := &Event{Platform: "go", Message: "card 1 declined", Exceptions: []Exception{{Type: "E", Synthetic: true}}, ExceptionsMemo: new(atomic.Value)}
	for range 2 {
		checkGrouper(t, &g, namedEvent{"synthetic", msg})
	}
	if hits, misses := g.Memos.Stats(); hits != 0 || misses != 2 {
		t.Errorf("synthetic exception: %d hits and %d misses, want 0 and 2", hits, misses)
	}
}
