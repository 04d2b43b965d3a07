package storage_test

import (
	"bytes"
	"errors"
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
telltale_storage_memory_budget_bytes{part="block_cache"} 3.3554432e+07
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
