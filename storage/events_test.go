package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/storage"
)

func eventID(i int) [16]byte {
	var id [16]byte
	copy(id[:], fmt.Sprintf("ev%014d", i))
	return id
}

func hashOf(s string) [16]byte {
	var h [16]byte
	copy(h[:], s)
	return h
}

// reopen closes db and opens the DB in dir again with the default
// configuration.
func reopen(t *testing.T, db *storage.DB, dir string) *storage.DB {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestEventsRoundTrip writes events of two issues in two group commits and
// reads them back by id, by issue (newest first, paged), issues by hash
// and by last seen, after a reopen too; then deletes an issue.
func TestEventsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.NextIssueID()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := db.NextIssueID()
	if a == 0 || b == a {
		t.Fatalf("issue ids %d, %d", a, b)
	}
	body := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf(`{"n":%d,"pad":"xxxxxxxx"}`, i)), 50) }
	var evs []storage.EventRecord
	for i := range 10 {
		issue := a
		if i%2 == 1 {
			issue = b
		}
		evs = append(evs, storage.EventRecord{Project: 1, ID: eventID(i), Issue: issue, Time: int64(1000 + i), Value: db.CompressEvent(nil, body(i))})
	}
	issues := []storage.IssueRecord{
		{ID: a, Project: 1, Hash: hashOf("hash-a"), LastSeen: 1008, Data: []byte("state a"), Text: []byte("text a")},
		{ID: b, Project: 1, Hash: hashOf("hash-b"), LastSeen: 1009, Data: []byte("state b"), Text: []byte("text b")},
	}
	if err := db.WriteEvents(evs[:6], issues); err != nil {
		t.Fatal(err)
	}
	// Issue a seen again later: its last-seen index entry moves.
	// Its text (nil) is left as it was.
	issues[0].PrevLastSeen, issues[0].LastSeen, issues[0].Data, issues[0].Text = 1008, 2000, []byte("state a2"), nil
	if err := db.WriteEvents(evs[6:], issues[:1]); err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db, dir)
	defer db.Close()

	got, err := db.Event(1, eventID(3))
	if err != nil || !bytes.Equal(got.Body, body(3)) || got.Issue != b || got.Time != 1003 {
		t.Fatalf("Event = %+v, %v", got, err)
	}
	if _, err := db.Event(2, eventID(3)); !errors.Is(err, storage.ErrNoEvent) {
		t.Fatalf("event of another project: %v, want ErrNoEvent", err)
	}
	page, err := db.IssueEvents(a, 0, 3, true)
	if err != nil || len(page) != 3 || page[0].Time != 1008 || page[2].Time != 1004 || !bytes.Equal(page[0].Body, body(8)) {
		t.Fatalf("IssueEvents page 1 = %v, %v", page, err)
	}
	page, err = db.IssueEvents(a, page[2].Time, 10, false)
	if err != nil || len(page) != 2 || page[0].Time != 1002 || page[1].Time != 1000 || page[0].Body != nil {
		t.Fatalf("IssueEvents page 2 = %v, %v", page, err)
	}
	if id, ok, err := db.IssueByHash(1, hashOf("hash-b")); err != nil || !ok || id != b {
		t.Fatalf("IssueByHash = %d, %v, %v", id, ok, err)
	}
	if _, ok, _ := db.IssueByHash(2, hashOf("hash-b")); ok {
		t.Fatal("hash found in another project")
	}
	seen, err := db.IssuesBySeen(1, 0, 10)
	if err != nil || len(seen) != 2 || seen[0] != a || seen[1] != b {
		t.Fatalf("IssuesBySeen = %v, %v; want [a b] (a seen at 2000)", seen, err)
	}
	var states []string
	if err := db.Issues(func(r storage.IssueRecord) error { states = append(states, string(r.Data)); return nil }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(states) != "[state a2 state b]" {
		t.Fatalf("Issues = %v", states)
	}
	texts := func() string {
		var out []string
		if err := db.IssueTexts(func(id uint64, data []byte) error {
			out = append(out, fmt.Sprint(id == a, " ", string(data)))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(out)
	}
	if got := texts(); got != "[true text a false text b]" {
		t.Fatalf("IssueTexts = %v", got)
	}
	if c, _ := db.NextIssueID(); c <= b {
		t.Fatalf("issue id after reopen %d, want > %d", c, b)
	}

	if err := db.DeleteIssue(issues[0]); err != nil {
		t.Fatal(err)
	}
	if evs, _ := db.IssueEvents(a, 0, 10, false); len(evs) != 0 {
		t.Fatalf("events of a deleted issue: %v", evs)
	}
	if _, err := db.Event(1, eventID(0)); !errors.Is(err, storage.ErrNoEvent) {
		t.Fatalf("event of a deleted issue: %v", err)
	}
	if _, ok, _ := db.IssueByHash(1, hashOf("hash-a")); ok {
		t.Fatal("hash of a deleted issue still found")
	}
	if seen, _ := db.IssuesBySeen(1, 0, 10); len(seen) != 1 || seen[0] != b {
		t.Fatalf("IssuesBySeen after delete = %v", seen)
	}
	if got := texts(); got != "[false text b]" {
		t.Fatalf("IssueTexts after delete = %v", got)
	}
}

// TestEventsRetention checks that events expire with EventRetention (Badger
// TTLs count whole seconds) while their issue stays.
func TestEventsRetention(t *testing.T) {
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.EventRetention = time.Second
	db, err := storage.Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev := storage.EventRecord{Project: 1, ID: eventID(1), Issue: 7, Time: 5, Value: db.CompressEvent(nil, []byte(`{}`))}
	is := storage.IssueRecord{ID: 7, Project: 1, Hash: hashOf("h"), LastSeen: 5, Data: []byte("s")}
	if err := db.WriteEvents([]storage.EventRecord{ev}, []storage.IssueRecord{is}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Event(1, ev.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if _, err := db.Event(1, ev.ID); !errors.Is(err, storage.ErrNoEvent) {
		t.Fatalf("event after its retention: %v, want ErrNoEvent", err)
	}
	if evs, _ := db.IssueEvents(7, 0, math.MaxInt, false); len(evs) != 0 {
		t.Fatalf("index of an expired event: %v", evs)
	}
	if _, ok, _ := db.IssueByHash(1, hashOf("h")); !ok {
		t.Fatal("the issue went with its events")
	}
}

// TestWriteEventsManyTransactions writes one group commit larger than a
// Badger transaction may be (with 1 MiB memtables, some 1 500 entries), which
// WriteEvents splits into transactions committed in turn: every event and
// its index entry must be there after a reopen, and the issue record too.
func TestWriteEventsManyTransactions(t *testing.T) {
	dir := t.TempDir()
	cfg := storage.DefaultConfig(dir)
	cfg.MemTableSize = 1 << 20
	db, err := storage.Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	issue, err := db.NextIssueID()
	if err != nil {
		t.Fatal(err)
	}
	// Values in the value log count little towards the limit; the entries
	// do: 4 000 of them (event and index) make about 3 transactions.
	const n = 2000
	var evs []storage.EventRecord
	for i := range n {
		evs = append(evs, storage.EventRecord{Project: 1, ID: eventID(i), Issue: issue, Time: int64(1000 + i), Value: db.CompressEvent(nil, []byte(fmt.Sprintf(`{"n":%d}`, i)))})
	}
	recs := []storage.IssueRecord{{ID: issue, Project: 1, Hash: hashOf("big"), LastSeen: 1000 + n - 1, Data: []byte("state")}}
	if err := db.WriteEvents(evs, recs); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = storage.Open(cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range n {
		got, err := db.Event(1, eventID(i))
		if err != nil || string(got.Body) != fmt.Sprintf(`{"n":%d}`, i) {
			t.Fatalf("event %d = %+v, %v", i, got, err)
		}
	}
	page, err := db.IssueEvents(issue, 0, n+1, false)
	if err != nil || len(page) != n {
		t.Fatalf("IssueEvents: %d events, %v; want %d", len(page), err, n)
	}
	if id, ok, err := db.IssueByHash(1, hashOf("big")); err != nil || !ok || id != issue {
		t.Fatalf("IssueByHash = %d, %v, %v", id, ok, err)
	}
	if got := issueStates(t, db); got != fmt.Sprintf("%d=state", issue) {
		t.Fatalf("issues after a commit of several transactions: %q", got)
	}
}
