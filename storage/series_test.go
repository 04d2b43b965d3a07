package storage_test

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// lbls builds Labels from name, value pairs, which must be sorted by name.
func lbls(kv ...string) storage.Labels {
	ls := make(storage.Labels, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		ls = append(ls, storage.Label{Name: kv[i], Value: kv[i+1]})
	}
	return ls
}

// mustID returns the id of ls, failing the test on error.
func mustID(t testing.TB, db *storage.DB, ls storage.Labels) uint64 {
	t.Helper()
	id, _, err := db.SeriesID(ls)
	if err != nil {
		t.Fatalf("SeriesID(%s): %v", ls, err)
	}
	return id
}

func openDir(t *testing.T, dir string) *storage.DB {
	t.Helper()
	cfg := storage.DefaultConfig(dir)
	db, err := storage.Open(cfg, nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

func TestSeriesIDStableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir)
	series := []storage.Labels{
		lbls("__name__", "up", "job", "api"),
		lbls("__name__", "up", "job", "web"),
		lbls("__name__", "http_requests_total", "code", "200", "job", "api"),
	}
	want := make([]uint64, len(series))
	for i, ls := range series {
		id, created, err := db.SeriesID(ls)
		if err != nil || !created || id == 0 {
			t.Fatalf("SeriesID(%s) = %d, %v, %v; want a new non-zero id", ls, id, created, err)
		}
		want[i] = id
	}
	if want[0] == want[1] || want[1] == want[2] {
		t.Fatalf("ids not distinct: %v", want)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = openDir(t, dir)
	defer db.Close()
	if n := storage.CachedSeriesForTest(db); n != 0 {
		t.Fatalf("cache after reopen holds %d series, want 0", n)
	}
	for i, ls := range series {
		id, created, err := db.SeriesID(ls)
		if err != nil || created || id != want[i] {
			t.Errorf("after reopen SeriesID(%s) = %d, %v, %v; want %d, false, nil", ls, id, created, err, want[i])
		}
		got, err := db.SeriesLabels(id)
		if err != nil || !got.Equal(ls) {
			t.Errorf("SeriesLabels(%d) = %s, %v; want %s", id, got, err, ls)
		}
	}
	// A new series after reopen gets an id never handed out before.
	id := mustID(t, db, lbls("__name__", "new"))
	if slices.Contains(want, id) {
		t.Errorf("new series got reused id %d", id)
	}
	if _, err := db.SeriesLabels(1 << 60); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("SeriesLabels(unknown) error = %v, want ErrNotFound", err)
	}
}

func TestSeriesIDCacheHit(t *testing.T) {
	db := storagetest.OpenTemp(t)
	ls := lbls("__name__", "up", "instance", "a:1", "job", "api")
	id := mustID(t, db, ls)
	// A caller may reuse its label memory: the cache keeps its own copy.
	reused := slices.Clone(ls)
	reused[2].Value = "other"
	if got := mustID(t, db, ls); got != id {
		t.Fatalf("second SeriesID = %d, want %d", got, id)
	}
	// The hit path reads no Badger record: a Badger read allocates, the
	// hit path must not.
	allocs := testing.AllocsPerRun(100, func() {
		if got, created, err := db.SeriesID(ls); got != id || created || err != nil {
			t.Fatalf("SeriesID = %d, %v, %v", got, created, err)
		}
	})
	if allocs != 0 {
		t.Errorf("cache hit allocates %v times, want 0", allocs)
	}
}

func TestSeriesIDHashCollision(t *testing.T) {
	dir := t.TempDir()
	collide := func(storage.Labels) uint64 { return 42 }
	db := openDir(t, dir)
	storage.SetHashForTest(db, collide)
	a, b := lbls("__name__", "a"), lbls("__name__", "b")
	idA, idB := mustID(t, db, a), mustID(t, db, b)
	if idA == idB {
		t.Fatalf("colliding series got the same id %d", idA)
	}
	if got := mustID(t, db, a); got != idA {
		t.Errorf("cached SeriesID(a) = %d, want %d", got, idA)
	}
	if got := mustID(t, db, b); got != idB {
		t.Errorf("cached SeriesID(b) = %d, want %d", got, idB)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// After reopen the ids come from the stored hash records, which hold
	// both ids under one hash; the labels decide.
	db = openDir(t, dir)
	defer db.Close()
	storage.SetHashForTest(db, collide)
	if got := mustID(t, db, b); got != idB {
		t.Errorf("stored SeriesID(b) = %d, want %d", got, idB)
	}
	if got := mustID(t, db, a); got != idA {
		t.Errorf("stored SeriesID(a) = %d, want %d", got, idA)
	}
	idC, created, err := db.SeriesID(lbls("__name__", "c"))
	if err != nil || !created || idC == idA || idC == idB {
		t.Errorf("SeriesID(c) = %d, %v, %v; want a new id", idC, created, err)
	}
}

func TestSeriesIDInvalid(t *testing.T) {
	db := storagetest.OpenTemp(t)
	for _, ls := range []storage.Labels{
		nil,
		lbls("job", "a", "__name__", "up"),
		lbls("__name__", "up", "__name__", "up"),
		lbls("__name__", ""),
		lbls("", "x"),
	} {
		if _, _, err := db.SeriesID(ls); !errors.Is(err, storage.ErrInvalidLabels) {
			t.Errorf("SeriesID(%s) error = %v, want ErrInvalidLabels", ls, err)
		}
	}
	if _, _, err := db.SeriesIDs(nil, []storage.Labels{lbls("b", "1", "a", "2")}); !errors.Is(err, storage.ErrInvalidLabels) {
		t.Errorf("SeriesIDs(unsorted) error = %v, want ErrInvalidLabels", err)
	}
}

func TestSeriesIDsBatch(t *testing.T) {
	db := storagetest.OpenTemp(t)
	known := mustID(t, db, lbls("__name__", "known"))
	lss := []storage.Labels{
		lbls("__name__", "x", "i", "1"),
		lbls("__name__", "known"),
		lbls("__name__", "x", "i", "2"),
		lbls("__name__", "x", "i", "1"), // repeated in the batch
	}
	ids, created, err := db.SeriesIDs(nil, lss)
	if err != nil {
		t.Fatal(err)
	}
	if created != 2 {
		t.Errorf("created = %d, want 2", created)
	}
	if ids[1] != known || ids[0] != ids[3] || ids[0] == ids[2] {
		t.Errorf("ids = %v, want [a %d b a]", ids, known)
	}
	for i, ls := range lss {
		if got := mustID(t, db, ls); got != ids[i] {
			t.Errorf("SeriesID(%s) = %d, want %d", ls, got, ids[i])
		}
	}
	got, err := db.Select(mustMatcher(t, storage.MatchEqual, "__name__", "x"))
	if err != nil || !slices.Equal(got, []uint64{min(ids[0], ids[2]), max(ids[0], ids[2])}) {
		t.Errorf("Select after batch = %v, %v", got, err)
	}
}

func TestLabelNamesValues(t *testing.T) {
	db := storagetest.OpenTemp(t)
	for _, ls := range []storage.Labels{
		lbls("__name__", "up", "job", "api", "zone", "eu"),
		lbls("__name__", "up", "job", "web"),
		lbls("__name__", "requests", "code", "500", "job", "api"),
		lbls("__name__", "requests", "code", "200", "job", "web"),
		lbls("__name__", "requests", "code", "20", "job", "web"),
	} {
		mustID(t, db, ls)
	}
	names, err := db.LabelNames()
	if want := []string{"__name__", "code", "job", "zone"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("LabelNames() = %q, %v; want %q", names, err, want)
	}
	for name, want := range map[string][]string{
		"__name__": {"requests", "up"},
		"code":     {"20", "200", "500"},
		"job":      {"api", "web"},
		"zone":     {"eu"},
		"missing":  nil,
		"cod":      nil,
	} {
		got, err := db.LabelValues(name)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("LabelValues(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	db, err := storage.Open(storage.DefaultConfig(t.TempDir()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustID(t, db, lbls("__name__", "up"))
	if err := db.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
	if _, _, err := db.SeriesID(lbls("__name__", "up")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("SeriesID after Close: %v, want ErrClosed", err)
	}
	if _, err := db.SeriesLabels(1); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("SeriesLabels after Close: %v, want ErrClosed", err)
	}
	if _, err := db.Select(mustMatcher(t, storage.MatchEqual, "__name__", "up")); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("Select after Close: %v, want ErrClosed", err)
	}
	if _, err := db.LabelNames(); !errors.Is(err, storage.ErrClosed) {
		t.Errorf("LabelNames after Close: %v, want ErrClosed", err)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := storage.DefaultConfig("x").Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for name, mod := range map[string]func(*storage.Config){
		"no dir":            func(c *storage.Config) { c.Dir = "" },
		"tiny memtable":     func(c *storage.Config) { c.MemTableSize = 1 << 10 },
		"negative cache":    func(c *storage.Config) { c.BlockCacheSize = -1 },
		"no index cache":    func(c *storage.Config) { c.IndexCacheSize = 0 },
		"small vlog":        func(c *storage.Config) { c.ValueLogFileSize = 1 << 10 },
		"huge vlog":         func(c *storage.Config) { c.ValueLogFileSize = 2 << 30 },
		"zero threshold":    func(c *storage.Config) { c.ValueThreshold = 0 },
		"threshold > batch": func(c *storage.Config) { c.MemTableSize = 1 << 20; c.ValueThreshold = 1 << 19 },
		"negative gc":       func(c *storage.Config) { c.GCInterval = -1 },
	} {
		c := storage.DefaultConfig("x")
		mod(&c)
		if err := c.Validate(); !errors.Is(err, storage.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := storage.Open(c, nil, nil); !errors.Is(err, storage.ErrInvalidConfig) {
			t.Errorf("%s: Open() = %v, want ErrInvalidConfig", name, err)
		}
	}
}

func ExampleDB_Select() {
	dir, err := os.MkdirTemp("", "storage-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err != nil {
		panic(err)
	}
	defer db.Close()
	api, _, _ := db.SeriesID(storage.Labels{{Name: "__name__", Value: "up"}, {Name: "job", Value: "api"}})
	_, _, _ = db.SeriesID(storage.Labels{{Name: "__name__", Value: "up"}, {Name: "job", Value: "web"}})
	notWeb, _ := storage.NewMatcher(storage.MatchNotRegexp, "job", "w.*")
	up, _ := storage.NewMatcher(storage.MatchEqual, "__name__", "up")
	ids, _ := db.Select(up, notWeb)
	fmt.Println(slices.Equal(ids, []uint64{api}))
	// Output: true
}

func TestSeriesIDConcurrent(t *testing.T) {
	db := storagetest.OpenTemp(t)
	const goroutines, series = 4, 200
	results := make([][]uint64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range series {
				id, _, err := db.SeriesID(lbls("__name__", "c", "i", fmt.Sprint(i)))
				if err != nil {
					t.Error(err)
					return
				}
				results[g] = append(results[g], id)
			}
		})
	}
	wg.Wait()
	for g := 1; g < goroutines; g++ {
		if !slices.Equal(results[g], results[0]) {
			t.Fatalf("goroutine %d got ids %v, goroutine 0 got %v", g, results[g][:5], results[0][:5])
		}
	}
	got, err := db.Select(mustMatcher(t, storage.MatchEqual, "__name__", "c"))
	if err != nil || len(got) != series {
		t.Errorf("Select = %d ids, %v; want %d", len(got), err, series)
	}
}
