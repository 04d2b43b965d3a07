package storage_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/telltale-dev/telltale/storage"
)

// TestLabelValuesWrittenOnce checks that skipping the 0x04 record of a pair
// already written in this process loses no value: through SeriesID,
// SeriesIDs and AppendSamples, with the known set cleared often (limit 3),
// and after a reopen (empty known set) with pairs both old and new.
func TestLabelValuesWrittenOnce(t *testing.T) {
	dir := t.TempDir()
	want := map[string]map[string]bool{}
	add := func(ls storage.Labels) storage.Labels {
		for _, l := range ls {
			if want[l.Name] == nil {
				want[l.Name] = map[string]bool{}
			}
			want[l.Name][l.Value] = true
		}
		return ls
	}
	series := func(round, i int) storage.Labels {
		return add(lbls("__name__", fmt.Sprintf("m%d", i%3), "host", fmt.Sprintf("h%d", i%5), "id", fmt.Sprintf("%d-%d", round, i), "job", "api"))
	}
	check := func(db *storage.DB) {
		t.Helper()
		names, err := db.LabelNames()
		if err != nil || !slices.Equal(names, []string{"__name__", "host", "id", "job"}) {
			t.Fatalf("LabelNames() = %q, %v", names, err)
		}
		for name, values := range want {
			got, err := db.LabelValues(name)
			if err != nil {
				t.Fatal(err)
			}
			var exp []string
			for v := range values {
				exp = append(exp, v)
			}
			slices.Sort(exp)
			if !slices.Equal(got, exp) {
				t.Errorf("LabelValues(%q) = %q, want %q", name, got, exp)
			}
		}
	}
	for round := range 2 {
		db := openDir(t, dir)
		storage.SetKnownValuesLimitForTest(db, 3)
		for i := range 4 {
			mustID(t, db, series(round, i))
		}
		var lss []storage.Labels
		for i := 4; i < 30; i++ {
			lss = append(lss, series(round, i))
		}
		if _, _, err := db.SeriesIDs(nil, lss); err != nil {
			t.Fatal(err)
		}
		var samples []storage.Sample
		for i := 30; i < 60; i++ {
			samples = append(samples, storage.Sample{Labels: series(round, i), Value: 1})
		}
		if err := db.AppendSamples(t0, samples); err != nil {
			t.Fatal(err)
		}
		// A new pair on a series whose other pairs are all known.
		mustID(t, db, add(lbls("__name__", "m0", "host", "h0", "id", fmt.Sprintf("%d-0", round), "job", fmt.Sprintf("new%d", round))))
		check(db)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	db := openDir(t, dir)
	defer db.Close()
	check(db)
}

// TestSeriesIDsHashCollision forces every label set to one hash, including
// sets whose concatenated names and values are equal ({a="bc"}, {ab="c"}),
// and checks that the batch path keeps them apart, before and after reopen.
func TestSeriesIDsHashCollision(t *testing.T) {
	dir := t.TempDir()
	collide := func(storage.Labels) uint64 { return 7 }
	lss := []storage.Labels{
		lbls("a", "bc"),
		lbls("ab", "c"),
		lbls("__name__", "x", "a", "bc"),
		lbls("__name__", "x"),
		lbls("a", "bc"), // repeated: same id as the first
	}
	db := openDir(t, dir)
	storage.SetHashForTest(db, collide)
	ids, created, err := db.SeriesIDs(nil, lss)
	if err != nil || created != 4 {
		t.Fatalf("SeriesIDs = %v, %d, %v; want 4 created", ids, created, err)
	}
	if ids[4] != ids[0] {
		t.Errorf("repeated label set got ids %d and %d", ids[0], ids[4])
	}
	if u := slices.Compact(slices.Sorted(slices.Values(ids[:4]))); len(u) != 4 {
		t.Errorf("colliding series share ids: %v", ids)
	}
	if n := storage.CachedSeriesForTest(db); n != 4 {
		t.Errorf("cache holds %d series, want 4", n)
	}
	for i, ls := range lss {
		if got := mustID(t, db, ls); got != ids[i] {
			t.Errorf("cached SeriesID(%s) = %d, want %d", ls, got, ids[i])
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir)
	defer db.Close()
	storage.SetHashForTest(db, collide)
	slices.Reverse(lss)
	slices.Reverse(ids)
	got, created, err := db.SeriesIDs(nil, lss)
	if err != nil || created != 0 || !slices.Equal(got, ids) {
		t.Errorf("SeriesIDs after reopen = %v, %d, %v; want %v, 0 created", got, created, err, ids)
	}
	for i, ls := range lss {
		back, err := db.SeriesLabels(ids[i])
		if err != nil || !back.Equal(ls) {
			t.Errorf("SeriesLabels(%d) = %s, %v; want %s", ids[i], back, err, ls)
		}
	}
}
