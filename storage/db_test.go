package storage_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/telltale-dev/telltale/storage"
)

// TestOpenRemovesEmptyFiles reproduces dgraph-io/badger#2207: a zero-byte
// memtable (or value-log) file left by a crash makes Badger v4.9.6 refuse to
// open. It shows that raw badger.Open fails and that storage.Open removes
// the file, opens, and keeps the data.
func TestOpenRemovesEmptyFiles(t *testing.T) {
	for _, tc := range []struct {
		file    string // zero-byte file to plant, named as Badger names them
		wantErr string // raw badger.Open error
	}{
		{"00099.mem", "while opening memtables"},
		{"000099.vlog", "Open existing file"},
		{"000001.vlog", "Open existing file"}, // the first and only value log, emptied
	} {
		t.Run(tc.file, func(t *testing.T) {
			dir := t.TempDir()
			db := openDir(t, dir)
			ls := lbls("__name__", "up", "job", "api")
			id := mustID(t, db, ls)
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			empty := filepath.Join(dir, tc.file)
			plant := func() {
				t.Helper()
				if err := os.WriteFile(empty, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}

			plant()
			raw, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err == nil {
				raw.Close()
				t.Fatalf("raw badger.Open with zero-byte %s succeeded; the workaround may no longer be needed", tc.file)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("raw badger.Open error = %v, want it to contain %q", err, tc.wantErr)
			}
			// The failed open sized the file; plant the zero-byte file again.
			if err := os.Remove(empty); err != nil {
				t.Fatal(err)
			}
			plant()

			var logBuf bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logBuf, nil))
			db, err = storage.Open(storage.DefaultConfig(dir), nil, log)
			if err != nil {
				t.Fatalf("storage.Open: %v", err)
			}
			defer db.Close()
			if got, created, err := db.SeriesID(ls); err != nil || created || got != id {
				t.Errorf("SeriesID after recovery = %d, %v, %v; want %d, false, nil", got, created, err, id)
			}
			if !strings.Contains(logBuf.String(), "level=WARN") || !strings.Contains(logBuf.String(), tc.file) {
				t.Errorf("no warning naming %s in the log:\n%s", tc.file, logBuf.String())
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := storage.DefaultConfig(t.TempDir())
	db, err := storage.Open(cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `
# HELP telltale_storage_memory_budget_bytes Configured memory budget of Badger by part: memtables (size × count), block_cache, index_cache.
# TYPE telltale_storage_memory_budget_bytes gauge
telltale_storage_memory_budget_bytes{part="block_cache"} 0
telltale_storage_memory_budget_bytes{part="index_cache"} 1.6777216e+07
telltale_storage_memory_budget_bytes{part="memtables"} 1.6777216e+07
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "telltale_storage_memory_budget_bytes"); err != nil {
		t.Error(err)
	}
	n, err := testutil.GatherAndCount(reg, "telltale_storage_lsm_size_bytes", "telltale_storage_vlog_size_bytes", "telltale_storage_gc_runs_total")
	if err != nil || n != 5 {
		t.Errorf("GatherAndCount = %d, %v; want 5 series", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Close unregisters, so a DB can be opened again on the same registry.
	db, err = storage.Open(cfg, reg, nil)
	if err != nil {
		t.Fatalf("reopen on the same registry: %v", err)
	}
	db.Close()
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	db := openDir(t, dir)
	defer db.Close()
	if err := os.WriteFile(filepath.Join(dir, "00077.mem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err == nil {
		t.Fatal("second Open of an open directory succeeded")
	}
	if runtime.GOOS == "linux" && !errors.Is(err, storage.ErrLocked) {
		t.Errorf("second Open error = %v, want ErrLocked", err)
	}
	// The empty file belongs to the open store: the refused Open left it.
	if _, err := os.Stat(filepath.Join(dir, "00077.mem")); err != nil {
		t.Errorf("refused Open removed a file of the open store: %v", err)
	}
}

func TestGCLoop(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.GCInterval = 10 * time.Millisecond
	db, err := storage.Open(cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := testutil.GatherAndCount(reg, "telltale_storage_gc_runs_total")
		if err != nil {
			t.Fatal(err)
		}
		mfs, _ := reg.Gather()
		var runs float64
		for _, mf := range mfs {
			if mf.GetName() == "telltale_storage_gc_runs_total" {
				for _, m := range mf.GetMetric() {
					runs += m.GetCounter().GetValue()
				}
			}
		}
		if n == 3 && runs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no GC run counted within 5s (series %d, runs %v)", n, runs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close with GC running: %v", err)
	}
}

// plainTables returns the number of tables (.sst files) in dir that hold
// the fillers' text as it is, not compressed, and of all tables.
func plainTables(t *testing.T, dir string) (plain, all int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.sst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all++
		if bytes.Contains(b, bytes.Repeat([]byte("text "), 20)) {
			plain++
		}
	}
	return plain, all
}

// TestOpenSnappyTables opens, with today's settings (tables not
// compressed, no block cache), a directory whose tables an older Telltale
// wrote compressed with Snappy, and reads every event and issue back; then
// writes on, and reads both after compaction has had the chance to mix
// them.
func TestOpenSnappyTables(t *testing.T) {
	dir := t.TempDir()
	restore := storage.SetTableCompressionForTest()
	old := storage.DefaultConfig(dir)
	old.BlockCacheSize = 32 << 20 // Badger requires one for compressed tables
	db, err := storage.Open(old, nil, nil)
	if err != nil {
		restore()
		t.Fatal(err)
	}
	issue, _ := db.NextIssueID()
	body := func(i int) []byte { return bytes.Repeat([]byte(fmt.Sprintf(`{"n":%d,"pad":"xxxxxxxx"}`, i)), 40) }
	write := func(db *storage.DB, from, to int) {
		t.Helper()
		var evs []storage.EventRecord
		for i := from; i < to; i++ {
			evs = append(evs, storage.EventRecord{Project: 1, ID: eventID(i), Issue: issue, Time: int64(1000 + i), Value: db.CompressEvent(nil, body(i))})
		}
		rec := storage.IssueRecord{ID: issue, Project: 1, Hash: hashOf("h"), LastSeen: int64(999 + to), PrevLastSeen: int64(999 + from), Data: []byte(fmt.Sprint("state ", to))}
		if from == 0 {
			rec.PrevLastSeen = 0
		}
		// An issue of another project with a text that compresses well,
		// so that a Snappy table is smaller on disk than its contents.
		other, _ := db.NextIssueID()
		filler := storage.IssueRecord{ID: other, Project: 2, Hash: hashOf(fmt.Sprint(from)), LastSeen: 1, Data: []byte("s"), Text: bytes.Repeat([]byte("text "), 180)}
		if err := db.WriteEvents(evs, []storage.IssueRecord{rec, filler}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 2000
	for i := 0; i < n; i += 100 {
		write(db, i, i+100)
	}
	err = db.Close() // flushes the memtable into a table
	restore()
	if err != nil {
		t.Fatal(err)
	}

	check := func(db *storage.DB, upto int) {
		t.Helper()
		for i := 0; i < upto; i += 97 {
			got, err := db.Event(1, eventID(i))
			if err != nil || !bytes.Equal(got.Body, body(i)) || got.Time != int64(1000+i) {
				t.Fatalf("event %d = %+v, %v", i, got, err)
			}
		}
		evs, err := db.IssueEvents(issue, 0, upto+1, false)
		if err != nil || len(evs) != upto || evs[0].Time != int64(999+upto) {
			t.Fatalf("IssueEvents: %d events, %v; want %d", len(evs), err, upto)
		}
		if id, ok, err := db.IssueByHash(1, hashOf("h")); err != nil || !ok || id != issue {
			t.Fatalf("IssueByHash = %d, %v, %v", id, ok, err)
		}
		if seen, err := db.IssuesBySeen(1, 0, 10); err != nil || len(seen) != 1 || seen[0] != issue {
			t.Fatalf("IssuesBySeen = %v, %v", seen, err)
		}
	}
	db, err = storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if plain, all := plainTables(t, dir); all == 0 || plain != 0 {
		t.Fatalf("%d of %d tables not compressed: the test wrote no Snappy table", plain, all)
	}
	check(db, n)
	for i := n; i < 2*n; i += 100 {
		write(db, i, i+100)
	}
	db = reopen(t, db, dir)
	defer db.Close()
	if plain, all := plainTables(t, dir); plain == 0 {
		t.Fatalf("all %d tables compressed: new tables should not be", all)
	}
	check(db, 2*n)
}
