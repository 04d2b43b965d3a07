package issues

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/axiomhq/hyperloglog"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// TestBump checks the sliding window of event counts: buckets fill by
// time, slide forward as time passes, and drop what falls out.
func TestBump(t *testing.T) {
	const step = int64(10)
	var start int64
	var b []uint64
	for _, c := range []struct {
		at        int64
		wantStart int64
		want      []uint64
	}{
		{100, 80, []uint64{0, 0, 1}},  // the window ends with the first event's bucket
		{105, 80, []uint64{0, 0, 2}},  // same bucket
		{85, 80, []uint64{1, 0, 2}},   // an older bucket in the window
		{79, 80, []uint64{1, 0, 2}},   // older than the window: not counted
		{110, 90, []uint64{0, 2, 1}},  // slides by one
		{500, 480, []uint64{0, 0, 1}}, // slides past everything
	} {
		start, b = bump(start, b, c.at, step, 3)
		if start != c.wantStart || !slices.Equal(b, c.want) {
			t.Fatalf("after an event at %d: start %d %v, want %d %v", c.at, start, b, c.wantStart, c.want)
		}
	}
}

// submit groups and submits one event built from doc.
func submit(t *testing.T, tr *Tracker, n int, doc *Doc) uint64 {
	t.Helper()
	in := &Incoming{Project: 1, Doc: doc, Group: grouping.Group(doc.Grouping())}
	copy(in.EventID[:], fmt.Sprintf("event%011d", n))
	id, err := tr.Submit(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func newTracker(t *testing.T, db *storage.DB) *Tracker {
	t.Helper()
	tr, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go tr.Run()
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

// TestTrackerIssueState submits events of two groups and checks counts,
// users, tags, status changes, regression, the list's order and paging,
// and the state after a reload from storage.
func TestTrackerIssueState(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	doc := func(typ, user, env string, at time.Duration) *Doc {
		return &Doc{
			Timestamp: t0.Add(at), Platform: "go", Level: "error", Release: "r1", Environment: env,
			Tags: []Tag{{Key: "region", Value: "eu"}}, User: &User{ID: user},
			Exceptions: []grouping.Exception{{Type: typ, Value: "failed"}},
		}
	}
	a := submit(t, tr, 1, doc("A", "u1", "prod", 0))
	if again := submit(t, tr, 2, doc("A", "u2", "staging", time.Minute)); again != a {
		t.Fatalf("same type grouped into %d and %d", a, again)
	}
	submit(t, tr, 3, doc("A", "u1", "prod", 2*time.Minute))
	b := submit(t, tr, 4, doc("B", "", "prod", 30*time.Second))
	if b == a {
		t.Fatal("different types grouped together")
	}

	is, _ := tr.Get(a)
	if is.Count != 3 || is.UserCount != 2 || !is.FirstSeen.Equal(t0) || !is.LastSeen.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("issue A = count %d, users %d, seen %v–%v", is.Count, is.UserCount, is.FirstSeen, is.LastSeen)
	}
	if is.Tags["region"]["eu"] != 3 || is.Tags["environment"]["staging"] != 1 || !slices.Equal(is.Environments, []string{"prod", "staging"}) {
		t.Errorf("issue A tags %v, environments %v", is.Tags, is.Environments)
	}
	if is.Type != "error" || is.Title != "A: failed" {
		t.Errorf("issue A type %q title %q", is.Type, is.Title)
	}

	page, total := tr.List(Filter{}, SortDate, 0, 1)
	if total != 2 || len(page) != 1 || page[0].ID != a {
		t.Errorf("first page by last seen: %d of %d, first %v; want A of 2", len(page), total, page)
	}
	page, _ = tr.List(Filter{}, SortDate, 1, 1)
	if len(page) != 1 || page[0].ID != b {
		t.Errorf("second page: %v, want B", page)
	}
	if page, total := tr.List(Filter{Environments: []string{"staging"}}, SortFreq, 0, 10); total != 1 || page[0].ID != a {
		t.Errorf("environment:staging: %d issues", total)
	}

	if _, err := tr.SetStatus(a, StatusResolved); err != nil {
		t.Fatal(err)
	}
	if _, total := tr.List(Filter{Statuses: []string{StatusUnresolved}}, SortDate, 0, 10); total != 1 {
		t.Errorf("unresolved after resolving A: %d, want 1", total)
	}
	submit(t, tr, 5, doc("A", "u3", "prod", 3*time.Minute))
	is, _ = tr.Get(a)
	if is.Status != StatusUnresolved || is.Substatus != "regressed" || is.Count != 4 {
		t.Errorf("A after a new event: %s/%s count %d, want unresolved/regressed 4", is.Status, is.Substatus, is.Count)
	}

	// A second tracker on the same store loads the same state.
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(t, db)
	got, ok := tr2.Get(a)
	if !ok || got.Count != 4 || got.UserCount != 3 || got.Substatus != "regressed" {
		t.Errorf("reloaded A = %+v", got)
	}
	if got.Tags["region"]["eu"] != 4 || got.Tags["environment"]["staging"] != 1 || got.Tags["environment"]["prod"] != 3 {
		t.Errorf("reloaded tags of A: %v", got.Tags)
	}
	if id := submit(t, tr2, 6, doc("A", "u1", "prod", 4*time.Minute)); id != a {
		t.Errorf("after reload the group went to issue %d, want %d", id, a)
	}
	// The user sketch was saved at Close and loaded: u1 is not new.
	if got, _ := tr2.Get(a); got.UserCount != 3 {
		t.Errorf("users of A after a known user: %d, want 3", got.UserCount)
	}
	evs, err := tr2.Events(a, time.Time{}, 10)
	if err != nil || len(evs) != 5 || !evs[0].Doc.Timestamp.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("events of A: %d, %v", len(evs), err)
	}
}

// TestTrackerSubmitAfterClose checks that a closed tracker refuses events.
func TestTrackerSubmitAfterClose(t *testing.T) {
	tr := newTracker(t, storagetest.OpenTemp(t))
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := &Doc{Timestamp: time.Now(), Message: "late"}
	if _, err := tr.Submit(context.Background(), &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}); err != ErrClosed {
		t.Fatalf("Submit after Close: %v, want ErrClosed", err)
	}
}

// TestTrackerLongTag checks that an event whose tag is too long for a tag
// breakdown is stored (the tag is kept in the event, not counted), and that
// over-long releases, environments and titles are bounded in the issue
// state. A 70 KB tag value used to fail the whole commit (a Badger key).
func TestTrackerLongTag(t *testing.T) {
	tr := newTracker(t, storagetest.OpenTemp(t))
	long := strings.Repeat("v", 70_000)
	d := &Doc{Timestamp: time.Now().UTC(), Level: "error", Tags: []Tag{{Key: "k", Value: long}, {Key: strings.Repeat("k", 300), Value: "v"}, {Key: "ok", Value: "yes"}},
		Release: long, Environment: strings.Repeat("e", 65),
		Exceptions: []grouping.Exception{{Type: "E", Value: "long tag " + strings.Repeat("é", 2000)}}}
	id := submit(t, tr, 1, d)
	is, _ := tr.Get(id)
	if is.Tags["ok"]["yes"] != 1 || len(is.Tags["k"]) != 0 || len(is.Tags) != 2 {
		t.Errorf("tags %v: want ok=yes and level counted, the long ones not", slices.Collect(maps.Keys(is.Tags)))
	}
	if len(is.Releases) != 0 || len(is.Environments) != 0 || is.FirstRelease != "" || len(is.Title) > maxTextLen || !utf8.ValidString(is.Title) {
		t.Errorf("over-long release, environment or title kept: %d releases, %d environments, title of %d bytes", len(is.Releases), len(is.Environments), len(is.Title))
	}
	evs, err := tr.Events(id, time.Time{}, 10)
	if err != nil || len(evs) != 1 || evs[0].Doc.Tags[0].Value != long {
		t.Fatalf("events %d, %v: the long tag must stay in the event", len(evs), err)
	}
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int // length of the result
	}{
		{"short", 5},
		{strings.Repeat("a", maxTextLen), maxTextLen},
		{strings.Repeat("a", maxTextLen+1), maxTextLen},
		{strings.Repeat("é", maxTextLen), maxTextLen - 1}, // cut back to a character boundary
	} {
		got := clip(c.in)
		if len(got) != c.want || !utf8.ValidString(got) || (len(c.in) > maxTextLen) != strings.HasSuffix(got, "…") {
			t.Errorf("clip(%d bytes) = %d bytes %q…", len(c.in), len(got), got[:min(len(got), 10)])
		}
	}
}

// TestTrackerFailedCommit fails one commit and checks that its events get
// the error, that the issue table is as before it (counts, tags, a new
// issue dropped), and that later events and a reload see only what was
// stored.
func TestTrackerFailedCommit(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	errDisk := errors.New("disk full")
	tr.writeEvents = func(evs []storage.EventRecord, recs []storage.IssueRecord) error {
		if fail.Load() {
			return errDisk
		}
		return db.WriteEvents(evs, recs)
	}
	go tr.Run()
	t0 := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	// With a stack frame the exception's value is not grouped on: it
	// only changes the title.
	yes := true
	docV := func(typ, value string, at time.Duration) *Doc {
		return &Doc{Timestamp: t0.Add(at), Level: "error", Tags: []Tag{{Key: "region", Value: "eu"}}, User: &User{ID: typ + at.String()},
			Exceptions: []grouping.Exception{{Type: typ, Value: value, Frames: []grouping.Frame{{Filename: "main.go", Function: "handler", InApp: &yes}}}}}
	}
	doc := func(typ string, at time.Duration) *Doc { return docV(typ, "failed", at) }
	try := func(n int, d *Doc) (uint64, error) {
		in := &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}
		copy(in.EventID[:], fmt.Sprintf("event%011d", n))
		return tr.Submit(context.Background(), in)
	}
	a := submit(t, tr, 1, doc("A", 0))

	fail.Store(true)
	if _, err := try(2, docV("A", "failed later", time.Minute)); !errors.Is(err, errDisk) {
		t.Fatalf("event of a failed commit: %v, want the write error", err)
	}
	if _, err := try(3, doc("B", time.Minute)); !errors.Is(err, errDisk) {
		t.Fatalf("new issue's event of a failed commit: %v, want the write error", err)
	}
	is, _ := tr.Get(a)
	if is.Count != 1 || is.Tags["region"]["eu"] != 1 || !is.LastSeen.Equal(t0) || is.Title != "A: failed" {
		t.Errorf("A after a failed commit: count %d, region %d, last seen %v, title %q; want its state before", is.Count, is.Tags["region"]["eu"], is.LastSeen, is.Title)
	}
	if _, total := tr.List(Filter{}, SortDate, 0, 10); total != 1 {
		t.Errorf("%d issues after a failed commit that created one, want 1", total)
	}

	fail.Store(false)
	if id := submit(t, tr, 4, doc("A", 2*time.Minute)); id != a {
		t.Fatalf("A went to issue %d after the failure, want %d", id, a)
	}
	b := submit(t, tr, 5, doc("B", 2*time.Minute))
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	tr2 := newTracker(t, db)
	for _, c := range []struct {
		id     uint64
		count  uint64
		region uint64
	}{{a, 2, 2}, {b, 1, 1}} {
		is, ok := tr2.Get(c.id)
		evs, err := tr2.Events(c.id, time.Time{}, 10)
		if !ok || err != nil || is.Count != c.count || is.Tags["region"]["eu"] != c.region || uint64(len(evs)) != c.count {
			t.Errorf("issue %d after reload: count %d, region %d, %d events stored (%v); want %d", c.id, is.Count, is.Tags["region"]["eu"], len(evs), err, c.count)
		}
	}
}

// TestTrackerLoadsWithoutGroupingRecord checks that an issue state stored
// without its grouping record (a split commit cut by a crash) is dropped
// at load instead of stopping the tracker from starting.
func TestTrackerLoadsWithoutGroupingRecord(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	a := submit(t, tr, 1, &Doc{Timestamp: time.Now().UTC(), Exceptions: []grouping.Exception{{Type: "A", Value: "kept"}}})
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	orphan := &Issue{ID: 99, Project: 1, Title: "orphan", Status: StatusUnresolved}
	if err := db.WriteEvents(nil, []storage.IssueRecord{{ID: 99, Project: 1, LastSeen: 1, PrevLastSeen: 1, Data: orphan.encode()}}); err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(t, db)
	if _, ok := tr2.Get(99); ok {
		t.Error("the issue without a grouping record was loaded")
	}
	if _, ok := tr2.Get(a); !ok {
		t.Error("the complete issue was not loaded")
	}
}

// TestTrackerTagsWrittenSoon checks that the tag counts a commit defers
// (tagsEvery) are written within a few seconds without another event.
func TestTrackerTagsWrittenSoon(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	doc := &Doc{Timestamp: time.Now().UTC(), Tags: []Tag{{Key: "region", Value: "eu"}}, Exceptions: []grouping.Exception{{Type: "A", Value: "x"}}}
	id := submit(t, tr, 1, doc)
	submit(t, tr, 2, doc) // within tagsEvery of the first: its count waits
	deadline := time.Now().Add(5 * time.Second)
	for {
		var stored uint64
		err := db.IssueTags(func(issue uint64, tc storage.TagCount) error {
			if issue == id && tc.Key == "region" && tc.Value == "eu" {
				stored = tc.Count
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if stored == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored region=eu count %d after 5 s, want 2", stored)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTrackerStatusDuringCommit changes an issue's status while a commit
// of its event is waiting for the disk, and checks that storage ends with
// the new status: the commit's older encoding of the issue must not be
// written after the status change.
func TestTrackerStatusDuringCommit(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var block atomic.Bool
	entered, release := make(chan struct{}), make(chan struct{})
	tr.writeEvents = func(evs []storage.EventRecord, recs []storage.IssueRecord) error {
		if len(evs) > 0 && block.Load() {
			entered <- struct{}{}
			<-release
		}
		return db.WriteEvents(evs, recs)
	}
	go tr.Run()
	doc := &Doc{Timestamp: time.Now().UTC(), Exceptions: []grouping.Exception{{Type: "A", Value: "x"}}}
	id := submit(t, tr, 0, doc)

	block.Store(true)
	committed := make(chan error, 1)
	go func() {
		in := &Incoming{Project: 1, Doc: doc, Group: grouping.Group(doc.Grouping())}
		copy(in.EventID[:], "event00000000001")
		_, err := tr.Submit(context.Background(), in)
		committed <- err
	}()
	<-entered // the commit has encoded the issue as unresolved
	statusSet := make(chan error, 1)
	go func() {
		_, err := tr.SetStatus(id, StatusIgnored)
		statusSet <- err
	}()
	time.Sleep(50 * time.Millisecond) // let SetStatus write, if it could
	close(release)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if err := <-statusSet; err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, ok := newTracker(t, db).Get(id)
	if !ok || got.Status != StatusIgnored || got.Count != 2 {
		t.Fatalf("after reload: status %q, count %d; want ignored, 2", got.Status, got.Count)
	}
}

// TestTrackerSeenIndex checks the last-seen index, which commits move
// lazily: it catches up within a few seconds without another event, Close
// writes it exactly, and a store a crash left with stale, duplicate and
// orphan entries is repaired by the next load.
func TestTrackerSeenIndex(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	now := time.Now().UTC().Truncate(time.Millisecond)
	doc := func(typ string, at time.Time) *Doc {
		return &Doc{Timestamp: at, Exceptions: []grouping.Exception{{Type: typ, Value: "x"}}}
	}
	a := submit(t, tr, 1, doc("A", now.Add(-time.Hour)))
	b := submit(t, tr, 2, doc("B", now.Add(-30*time.Minute)))
	submit(t, tr, 3, doc("A", now)) // A is now the newest; its index entry may lag
	order := func() []uint64 {
		t.Helper()
		ids, err := db.IssuesBySeen(1, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(order(), []uint64{a, b}) {
		if time.Now().After(deadline) {
			t.Fatalf("index order %v after 5 s, want %v", order(), []uint64{a, b})
		}
		time.Sleep(50 * time.Millisecond)
	}
	submit(t, tr, 4, doc("B", now.Add(time.Minute)))
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := order(); !slices.Equal(got, []uint64{b, a}) {
		t.Fatalf("index order after Close %v, want %v", got, []uint64{b, a})
	}

	// A crash's leftovers: a second, stale entry for a, an entry of an
	// issue that does not exist, and b's entry gone.
	ms := func(d time.Duration) int64 { return now.Add(d).UnixMilli() }
	stale := []storage.IssueRecord{
		{ID: a, Project: 1, LastSeen: ms(-2 * time.Hour), PrevLastSeen: ms(-2*time.Hour) - 1},
		{ID: 4242, Project: 1, LastSeen: ms(time.Hour), PrevLastSeen: ms(time.Hour) - 1},
	}
	for _, r := range stale {
		r.Data = (&Issue{ID: r.ID, Project: 1, Hash: "x"}).encode()
		if err := db.WriteEvents(nil, []storage.IssueRecord{r}); err != nil {
			t.Fatal(err)
		}
	}
	isA, _ := tr.Get(a)
	if err := db.WriteEvents(nil, []storage.IssueRecord{{ID: a, Project: 1, LastSeen: ms(-2 * time.Hour), PrevLastSeen: ms(-2 * time.Hour), Data: isA.encode()}}); err != nil {
		t.Fatal(err) // restore a's state, which the stale record overwrote
	}
	if err := db.DeleteSeen([]storage.SeenEntry{{Project: 1, LastSeen: ms(time.Minute), Issue: b}}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIssue(storage.IssueRecord{ID: 4242, Project: 1, Hash: hashBytes("x")}); err != nil {
		t.Fatal(err) // the issue record goes; its index entry (time unknown here) stays
	}
	tr2 := newTracker(t, db)
	deadline = time.Now().Add(5 * time.Second)
	for !slices.Equal(order(), []uint64{b, a}) {
		if time.Now().After(deadline) {
			t.Fatalf("index order %v 5 s after reopening, want %v", order(), []uint64{b, a})
		}
		time.Sleep(50 * time.Millisecond)
	}
	var entries []storage.SeenEntry
	if err := db.IssuesSeen(func(e storage.SeenEntry) error { entries = append(entries, e); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []storage.SeenEntry{{Project: 1, LastSeen: ms(0), Issue: a}, {Project: 1, LastSeen: ms(time.Minute), Issue: b}}
	if !slices.Equal(entries, want) {
		t.Errorf("index entries %v, want %v", entries, want)
	}
	_ = tr2
}

// TestIssueKeepsCopies checks that an issue keeps copies of its event's
// strings: the decoder hands out substrings of one copy of the payload,
// and an issue holding one would pin the whole payload for its lifetime.
func TestIssueKeepsCopies(t *testing.T) {
	yes := true
	payload := strings.Repeat("x", 64) + "Aerr|boom|go|root|error|1.0|prod|region|eu|main.go|handler"
	sub := func(s string) string {
		i := strings.Index(payload, s)
		return payload[i : i+len(s)]
	}
	doc := &Doc{
		Timestamp: time.Now().UTC(), Platform: sub("go"), Logger: sub("root"), Level: sub("error"),
		Release: sub("1.0"), Environment: sub("prod"), Tags: []Tag{{Key: sub("region"), Value: sub("eu")}},
		Exceptions: []grouping.Exception{{Type: sub("Aerr"), Value: sub("boom"), Frames: []grouping.Frame{{Filename: sub("main.go"), Function: sub("handler"), InApp: &yes}}}},
	}
	in := &Incoming{Project: 1, Doc: doc, Group: grouping.Group(doc.Grouping())}
	is := newIssue(1, in)
	is.apply(in)
	is.takeTagCounts() // as a commit does; the next event's tags are all known values
	is.apply(in)
	lo := uintptr(unsafe.Pointer(unsafe.StringData(payload)))
	hi := lo + uintptr(len(payload))
	check := func(what, s string) {
		if p := uintptr(unsafe.Pointer(unsafe.StringData(s))); s != "" && p >= lo && p < hi {
			t.Errorf("%s %q points into the payload", what, s)
		}
	}
	for what, s := range map[string]string{
		"title": is.Title, "culprit": is.Culprit, "type": is.Type, "platform": is.Platform, "logger": is.Logger,
		"level": is.Level, "first release": is.FirstRelease, "last release": is.LastRelease,
		"metadata type": is.Metadata.Type, "metadata value": is.Metadata.Value,
		"metadata filename": is.Metadata.Filename, "metadata function": is.Metadata.Function,
	} {
		check(what, s)
	}
	for _, s := range append(is.Releases, is.Environments...) {
		check("release or environment", s)
	}
	for k, vals := range is.tags {
		check("tag key", k)
		for v, c := range vals {
			check("tag value", v)
			check("tag count's key", c.key)
			check("tag count's value", c.value)
		}
	}
	for _, c := range is.Components {
		for _, v := range c.Values {
			check("component value", v)
		}
	}
	if len(is.changedTags) == 0 {
		t.Error("no changed tags after the second event")
	}
	if is.countOf("region", "eu") != 2 || is.Metadata.Function != "handler" {
		t.Errorf("state: region=eu %d, metadata %+v", is.countOf("region", "eu"), is.Metadata)
	}
}

// TestTrackerTextDeferred checks the issue text's own record: a commit
// writes the counts of every issue it touches but the text (which follows
// the latest event) at most every tagsEvery, so a store read right after
// a commit may have the older text with the newer counts; Close writes
// the latest. An issue stored whole by an earlier version gets its text
// record with its next write.
func TestTrackerTextDeferred(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	go tr.Run()
	t0 := time.Now().UTC()
	doc := func(value, release string, at time.Duration) *Doc {
		return &Doc{Timestamp: t0.Add(at), Level: "error", Release: release, Fingerprint: []string{"one"},
			Exceptions: []grouping.Exception{{Type: "A", Value: value}}}
	}
	id := submit(t, tr, 1, doc("first", "shop@1", 0))
	submit(t, tr, 2, doc("second", "shop@2", time.Second))

	// What a crash now would leave: both events counted, the text of the
	// first (written with the new issue), the second's within tagsEvery.
	crashed, ok := newTracker(t, db).Get(id)
	if !ok || crashed.Count != 2 || crashed.Title != "A: first" || crashed.LastRelease != "shop@1" || len(crashed.Releases) != 1 {
		t.Fatalf("stored before Close: count %d, title %q, last release %q, releases %v; want 2, the first event's text",
			crashed.Count, crashed.Title, crashed.LastRelease, crashed.Releases)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr2 := newTracker(t, db)
	got, ok := tr2.Get(id)
	if !ok || got.Count != 2 || got.Title != "A: second" || got.LastRelease != "shop@2" || len(got.Releases) != 2 {
		t.Fatalf("stored after Close: count %d, title %q, last release %q, releases %v; want 2, the second event's text",
			got.Count, got.Title, got.LastRelease, got.Releases)
	}
	if page, _ := tr2.List(Filter{Text: "second"}, SortDate, 0, 10); len(page) != 1 {
		t.Errorf("text search after a reload found %d issues, want 1", len(page))
	}

	// An earlier version's whole record: the text is read from it, and
	// written apart with the issue's next record, here a status change.
	whole := got
	whole.Title = "A: whole"
	rec := storage.IssueRecord{ID: id, Project: 1, Hash: hashBytes(got.Hash), LastSeen: got.LastSeen.UnixMilli(), PrevLastSeen: got.LastSeen.UnixMilli(), Data: encodeWhole(&whole)}
	if err := db.WriteEvents(nil, []storage.IssueRecord{rec}); err != nil {
		t.Fatal(err)
	}
	tr3 := newTracker(t, db)
	if is, _ := tr3.Get(id); is.Title != "A: whole" || is.Count != 2 {
		t.Fatalf("whole record read as title %q, count %d", is.Title, is.Count)
	}
	if _, err := tr3.SetStatus(id, StatusResolved); err != nil {
		t.Fatal(err)
	}
	if is, _ := newTracker(t, db).Get(id); is.Title != "A: whole" || is.Status != StatusResolved {
		t.Fatalf("after a status change of a whole record: title %q, status %q; want the text kept", is.Title, is.Status)
	}
}

// TestCountUsers checks when a commit estimates an issue's users: every
// commit while it has few, then at most every tagsEvery unless forced.
func TestCountUsers(t *testing.T) {
	is := &Issue{users: hyperloglog.New14()}
	add := func(from, to int) {
		for i := from; i < to; i++ {
			is.users.Insert([]byte(fmt.Sprint("user", i)))
		}
		is.usersUncounted = true
	}
	t0 := time.Now()
	add(0, 10)
	is.countUsers(t0, false)
	add(10, 20)
	is.countUsers(t0.Add(time.Millisecond), false)
	if is.UserCount != 20 {
		t.Fatalf("%d users counted, want 20 at once while few", is.UserCount)
	}
	add(20, 400)
	is.countUsers(t0.Add(2*time.Millisecond), false)
	n := is.UserCount
	if n < 390 || n > 410 {
		t.Fatalf("%d users counted, want about 400", n)
	}
	add(400, 800)
	if is.countUsers(t0.Add(tagsEvery/2), false); is.UserCount != n || !is.usersUncounted {
		t.Fatalf("%d users counted within tagsEvery of the last estimate of %d, want it kept", is.UserCount, n)
	}
	if is.countUsers(t0.Add(tagsEvery+2*time.Millisecond), false); is.UserCount < 780 || is.UserCount > 820 || is.usersUncounted {
		t.Fatalf("%d users counted after tagsEvery, want about 800", is.UserCount)
	}
	add(800, 900)
	if is.countUsers(t0.Add(tagsEvery+3*time.Millisecond), true); is.UserCount < 880 || is.usersUncounted {
		t.Fatalf("%d users counted when forced, want about 900", is.UserCount)
	}
}

// TestTrackerDeferredSet checks that an issue whose writing a commit
// deferred is in the set saveDeferred looks at, and leaves it once written.
func TestTrackerDeferredSet(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	doc := &Doc{Timestamp: time.Now().UTC(), Tags: []Tag{{Key: "region", Value: "eu"}}, Exceptions: []grouping.Exception{{Type: "A", Value: "x"}}}
	id := submit(t, tr, 1, doc)
	other := submit(t, tr, 2, &Doc{Timestamp: doc.Timestamp, Exceptions: []grouping.Exception{{Type: "B", Value: "y"}}})
	submit(t, tr, 3, doc) // within tagsEvery of the first: its tag count waits
	deferred := func() map[uint64]bool {
		tr.mu.RLock()
		defer tr.mu.RUnlock()
		out := map[uint64]bool{}
		for id := range tr.deferred {
			out[id] = true
		}
		return out
	}
	if d := deferred(); !d[id] || d[other] {
		t.Fatalf("deferred set %v, want issue %d (a tag count waits) and not %d (all written)", d, id, other)
	}
	if err := tr.saveDeferred(true); err != nil {
		t.Fatal(err)
	}
	if d := deferred(); len(d) != 0 {
		t.Fatalf("deferred set %v after everything was written, want it empty", d)
	}
	var stored uint64
	if err := db.IssueTags(func(issue uint64, tc storage.TagCount) error {
		if issue == id && tc.Key == "region" {
			stored = tc.Count
		}
		return nil
	}); err != nil || stored != 2 {
		t.Fatalf("stored region count %d (%v), want 2", stored, err)
	}
}

// TestTrackerDeferredBound checks that saveDeferred writes at most
// maxDeferredWrites issues a tick (but at Close), here the texts of issues
// stored whole by an earlier version.
func TestTrackerDeferredBound(t *testing.T) {
	db := storagetest.OpenTemp(t)
	var recs []storage.IssueRecord
	for i := range 5 {
		is := benchIssue(3)
		is.ID, is.Hash = uint64(100+i), fmt.Sprintf("%032x", i)
		ms := is.LastSeen.UnixMilli()
		recs = append(recs, storage.IssueRecord{ID: is.ID, Project: 1, Hash: hashBytes(is.Hash), LastSeen: ms, Data: encodeWhole(is), Static: is.encodeStatic()})
	}
	if err := db.WriteEvents(nil, recs); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { maxDeferredWrites = n }(maxDeferredWrites)
	maxDeferredWrites = 2
	tr, err := New(Config{}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	texts := func() int {
		n := 0
		if err := db.IssueTexts(func(uint64, []byte) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, want := range []int{2, 4} {
		if err := tr.saveDeferred(false); err != nil {
			t.Fatal(err)
		}
		if got := texts(); got != want {
			t.Fatalf("%d texts written apart after a tick, want %d", got, want)
		}
	}
	if err := tr.saveDeferred(true); err != nil {
		t.Fatal(err)
	}
	if got := texts(); got != 5 {
		t.Fatalf("%d texts written apart at Close, want all 5", got)
	}
}

// TestTrackerLoadsWithoutTextRecord checks that an issue whose counts
// record was written without its text (a split commit cut by a crash)
// loads, and gets its text from its next event.
func TestTrackerLoadsWithoutTextRecord(t *testing.T) {
	db := storagetest.OpenTemp(t)
	is := benchIssue(3)
	is.ID = 7
	ms := is.LastSeen.UnixMilli()
	rec := storage.IssueRecord{ID: is.ID, Project: 1, Hash: hashBytes(is.Hash), LastSeen: ms, Data: is.encode(), Static: is.encodeStatic()}
	if err := db.WriteEvents(nil, []storage.IssueRecord{rec}); err != nil {
		t.Fatal(err)
	}
	tr := newTracker(t, db)
	got, ok := tr.Get(is.ID)
	if !ok || got.Count != 3 || got.Title != "" {
		t.Fatalf("issue without its text: found %v, count %d, title %q; want it loaded, count 3, no title", ok, got.Count, got.Title)
	}
	d := &Doc{Timestamp: is.LastSeen.Add(time.Second), Level: "error", Platform: "python",
		Exceptions: []grouping.Exception{{Type: "ValueError", Value: "bad", Frames: []grouping.Frame{{Function: "f", Module: "m"}}}}}
	if id := submit(t, tr, 1, d); id != is.ID {
		t.Fatalf("the next event went to issue %d, want %d", id, is.ID)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, _ := newTracker(t, db).Get(is.ID); got.Title != "ValueError: bad" || got.Count != 4 {
		t.Fatalf("after its next event: title %q, count %d; want the event's title, 4", got.Title, got.Count)
	}
}

// TestSaveDeferredUnchangedCount checks that saveDeferred, when an issue's
// only deferred work is estimating its users, writes the issue only if the
// estimate changed its count.
func TestSaveDeferredUnchangedCount(t *testing.T) {
	db := storagetest.OpenTemp(t)
	tr := newTracker(t, db)
	doc := &Doc{Timestamp: time.Now().UTC(), User: &User{ID: "u1"}, Exceptions: []grouping.Exception{{Type: "A", Value: "x"}}}
	id := submit(t, tr, 0, doc)
	if err := tr.Close(context.Background()); err != nil { // the last saveDeferred
		t.Fatal(err)
	}
	tr.mu.Lock()
	is := tr.issues[id]
	marked := is.record()
	tr.mu.Unlock()
	// A stored state saveDeferred would overwrite if it wrote the issue.
	marked.Data, marked.Text = []byte("marker"), nil
	if err := db.WriteEvents(nil, []storage.IssueRecord{marked}); err != nil {
		t.Fatal(err)
	}
	stored := func() string {
		t.Helper()
		data, ok, err := db.Issue(id)
		if err != nil || !ok {
			t.Fatalf("issue %d: %v, %v", id, ok, err)
		}
		return string(data)
	}
	uncount := func(count uint64) {
		tr.mu.Lock()
		is.usersUncounted, is.usersCounted, is.UserCount = true, time.Time{}, count
		tr.deferred[id] = is
		tr.mu.Unlock()
	}

	uncount(1) // the estimate of one user
	if err := tr.saveDeferred(false); err != nil {
		t.Fatal(err)
	}
	if got := stored(); got != "marker" || is.usersUncounted || tr.deferred[id] != nil {
		t.Fatalf("same count: stored %q, uncounted %v, deferred %v; want nothing written and nothing left", got, is.usersUncounted, tr.deferred[id] != nil)
	}
	uncount(0) // a count the estimate changes
	if err := tr.saveDeferred(false); err != nil {
		t.Fatal(err)
	}
	back, err := decodeIssue([]byte(stored()))
	if err != nil || back.UserCount != 1 {
		t.Fatalf("changed count: stored %+v, %v; want the issue written with 1 user", back, err)
	}
}

// TestTagCountSharesKey counts three values of one tag, from strings of a
// payload, and checks that the counts hold one copy of the key between
// them, apart from the payload.
func TestTagCountSharesKey(t *testing.T) {
	payload := []byte("browserfirefoxchromesafari")
	key := unsafe.String(&payload[0], 7)
	is := &Issue{}
	for _, v := range []string{"firefox", "chrome", "safari", "chrome"} {
		is.countTag(key, v)
	}
	var keys []*byte
	for _, c := range is.tags["browser"] {
		keys = append(keys, unsafe.StringData(c.key))
	}
	if len(keys) != 3 || keys[0] != keys[1] || keys[1] != keys[2] || keys[0] == &payload[0] {
		t.Fatalf("the counts' keys are at %v (payload at %p); want one copy, not the payload", keys, &payload[0])
	}
	if n := is.countOf("browser", "chrome"); n != 2 {
		t.Fatalf("chrome counted %d times, want 2", n)
	}
}
