package issues

import (
	"fmt"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// benchIssue returns an issue that has taken n events shaped like the load
// generator's: eight tags, a release among 60, four environments, a user
// among n.
func benchIssue(n int) *Issue {
	now := time.Now().UTC().Round(0)
	var is *Issue
	for i := range n {
		d := &Doc{
			Timestamp: now.Add(time.Duration(i) * time.Second), Platform: "python", Level: "error",
			Release: fmt.Sprintf("shop@1.%d.%d", 4+i%3, i%20), Environment: []string{"production", "staging"}[i%2],
			User: &User{ID: fmt.Sprint(i)},
			Tags: []Tag{{Key: "browser", Value: fmt.Sprint("b", i%5)}, {Key: "os", Value: fmt.Sprint("o", i%4)},
				{Key: "server_name", Value: fmt.Sprint("web-", i%8)}, {Key: "region", Value: "eu"},
				{Key: "customer", Value: fmt.Sprint("c", i%300)}, {Key: "url", Value: fmt.Sprint("/p/", i%50)},
				{Key: "handled", Value: "no"}, {Key: "mechanism", Value: "generic"}},
			Exceptions: []grouping.Exception{{Type: "ValueError", Value: "bad", Frames: []grouping.Frame{{Function: "f", Module: "m"}}}},
		}
		in := &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}
		if is == nil {
			is = newIssue(1, in)
		}
		is.apply(in)
	}
	is.countUsers(time.Now(), true) // as a commit does before encoding
	return is
}

// BenchmarkIssueEncode measures encoding one issue's state: its counts,
// which the committer writes for every issue a commit touches, and its
// text, written at most once a second per issue.
func BenchmarkIssueEncode(b *testing.B) {
	for _, n := range []int{10, 1000} {
		is := benchIssue(n)
		for _, rec := range []struct {
			name   string
			encode func() []byte
		}{{"counts", is.encode}, {"text", is.encodeText}} {
			b.Run(fmt.Sprint(rec.name, "/", n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec.encode()
				}
				b.ReportMetric(float64(len(rec.encode())), "bytes")
			})
		}
	}
}

// BenchmarkList measures one page of the issue list over 10 000 issues
// (the issue list does not depend on the number of events), for each sort
// and for a text search.
func BenchmarkList(b *testing.B) {
	t := &Tracker{issues: map[uint64]*Issue{}}
	now := time.Now().UTC()
	for i := range 10_000 {
		d := &Doc{
			Timestamp: now.Add(-time.Duration(i) * time.Minute), Platform: "go", Level: []string{"error", "warning"}[i%2],
			Release: "r1", Environment: "production", User: &User{ID: fmt.Sprint(i % 97)},
			Tags:       []Tag{{Key: "region", Value: fmt.Sprint("r", i%3)}},
			Exceptions: []grouping.Exception{{Type: fmt.Sprintf("Error%d", i), Value: "payment failed", Frames: []grouping.Frame{{Function: fmt.Sprint("handler", i), Module: "shop/checkout"}}}},
		}
		in := &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}
		is := newIssue(uint64(i+1), in)
		for range 1 + i%7 {
			is.apply(in)
		}
		t.issues[is.ID] = is
	}
	for _, c := range []struct {
		name  string
		f     Filter
		order string
	}{
		{"date", Filter{}, SortDate},
		{"freq", Filter{}, SortFreq},
		{"unresolved-error", Filter{Statuses: []string{StatusUnresolved}, Levels: []string{"error"}}, SortDate},
		{"text", Filter{Text: "Handler12"}, SortDate},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if page, total := t.List(c.f, c.order, 100, 25); len(page) == 0 || total == 0 {
					b.Fatalf("empty page of %d", total)
				}
			}
		})
	}
}

// BenchmarkIssueApply measures adding one event to a busy issue as the
// committer does: apply per event, and the user count brought up to date
// once per commit (countUsers), taken here as 64 events of the issue and
// 5 ms. Compare with
//
//	go test -run='^$' -bench=IssueApply -benchmem -count=6 ./aggregate/issues/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkIssueApply(b *testing.B) {
	const commitEvents = 64
	now := time.Now().UTC()
	for _, users := range []int{100, 4000} {
		b.Run(fmt.Sprint("users=", users), func(b *testing.B) {
			ins := make([]*Incoming, users)
			for i := range ins {
				d := &Doc{Timestamp: now.Add(time.Duration(i) * time.Millisecond), Level: "error", Release: "r1", Environment: "prod",
					User: &User{ID: fmt.Sprint("user", i)}, Tags: []Tag{{Key: "region", Value: "eu"}},
					Exceptions: []grouping.Exception{{Type: "E", Value: "x"}}}
				ins[i] = &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}
			}
			is := newIssue(1, ins[0])
			for i := range 5 * users {
				is.apply(ins[i%users])
			}
			b.ReportAllocs()
			i, at := 0, now
			for b.Loop() {
				is.apply(ins[i%users])
				if i++; i%commitEvents == 0 {
					at = at.Add(5 * time.Millisecond)
					is.countUsers(at, false)
				}
			}
		})
	}
}

// BenchmarkSaveDeferred measures the committer's once-a-second look for
// deferred writes over 100 000 issues, none of which has one.
func BenchmarkSaveDeferred(b *testing.B) {
	t := &Tracker{issues: map[uint64]*Issue{}, deferred: map[uint64]*Issue{}}
	now := time.Now().UTC()
	for i := range 100_000 {
		d := &Doc{Timestamp: now, Exceptions: []grouping.Exception{{Type: fmt.Sprint("E", i), Value: "x"}}}
		is := newIssue(uint64(i+1), &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())})
		is.seenIndexed = is.LastSeen.UnixMilli()
		t.issues[is.ID] = is
	}
	for b.Loop() {
		if err := t.saveDeferred(false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueTags measures apply for events with the tags of
// sentryload's flood: five per event, two of them (tenant, build) of high
// cardinality, besides level, release and environment, which are counted
// as tags too.
func BenchmarkIssueTags(b *testing.B) {
	now := time.Now().UTC()
	ins := make([]*Incoming, 4096)
	for i := range ins {
		d := &Doc{Timestamp: now, Level: "error", Release: fmt.Sprint("shop@1.4.", i%20), Environment: "production",
			Tags: []Tag{{Key: "http.method", Value: "POST"}, {Key: "region", Value: "eu-west-1"},
				{Key: "tenant", Value: fmt.Sprintf("t-%04x", i*7919%65536)}, {Key: "build", Value: fmt.Sprintf("%08x", i*2654435761)},
				{Key: "feature.new_checkout", Value: "true"}},
			Exceptions: []grouping.Exception{{Type: "E", Value: "x"}}}
		ins[i] = &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())}
	}
	is := newIssue(1, ins[0])
	for _, in := range ins {
		is.apply(in)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		is.apply(ins[i%len(ins)])
		if i++; i%1024 == 0 {
			is.takeTagCounts() // as a commit does, at most once a second
		}
	}
}

// BenchmarkReload measures the reload after a failed commit of one issue,
// in a store of 20 000 issues with their text and a tag count each. It
// runs under the tracker's lock, so ingest and the API wait for it.
func BenchmarkReload(b *testing.B) {
	db := storagetest.OpenTemp(b)
	now := time.Now().UTC()
	var recs []storage.IssueRecord
	for i := range 20_000 {
		d := &Doc{Timestamp: now, Tags: []Tag{{Key: "region", Value: "eu"}}, Exceptions: []grouping.Exception{{Type: fmt.Sprint("E", i), Value: "x"}}}
		is := newIssue(uint64(i+1), &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping())})
		is.apply(&Incoming{Project: 1, Doc: d})
		rec := is.record()
		rec.PrevLastSeen, rec.Text, rec.Static, rec.Tags = 0, is.encodeText(), is.encodeStatic(), is.takeTagCounts()
		recs = append(recs, rec)
		if len(recs) == 1000 {
			if err := db.WriteEvents(nil, recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	t, err := New(Config{}, db, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	touched := map[uint64]bool{10_000: false}
	for b.Loop() {
		t.reload(touched)
	}
	if is, ok := t.Get(10_000); !ok || is.Count != 1 || is.Tags["region"]["eu"] != 1 {
		b.Fatalf("reloaded issue: %+v", is)
	}
}
