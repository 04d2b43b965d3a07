package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/aggregate/issues"
	"github.com/telltale-dev/telltale/storage"
)

// TestKill9AcknowledgedEvents floods a child telltale with events from 8
// connections, kills it with SIGKILL in the middle, reopens its store and
// checks that every event answered 200 is there (DESIGN §5: an
// acknowledged event survives kill -9).
func TestKill9AcknowledgedEvents(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "telltale.yaml")
	cfg := fmt.Sprintf("projects:\n  - { id: 1, slug: flood, keys: [%q] }\nauth:\n  tokens: [%q]\n", testKey, testToken)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	c := startChild(t, "serve", "-config", cfgFile, "-data-dir", data,
		"-http-addr", "127.0.0.1:0", "-statsd-addr", "127.0.0.1:0")
	httpAddr, _ := c.addrs()

	var (
		mu    sync.Mutex
		acked [][16]byte
		seq   atomic.Uint64
		wg    sync.WaitGroup
		stop  = make(chan struct{})
	)
	url := "http://" + httpAddr + "/api/1/envelope/"
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				var id [16]byte
				copy(id[:], fmt.Sprintf("kill%012d", n))
				hexID := hex.EncodeToString(id[:])
				body := fmt.Sprintf("{\"event_id\":%q}\n{\"type\":\"event\"}\n{\"message\":\"flood %d\",\"level\":\"error\",\"exception\":[{\"type\":\"FloodError%d\",\"value\":\"n=%d\"}]}\n", hexID, n, n%5, n)
				req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
				req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_key="+testKey)
				resp, err := client.Do(req)
				if err != nil {
					return // the server is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, id)
					mu.Unlock()
				}
			}
		}()
	}
	// Past a second, so that commits have checkpointed the issue journal
	// (storage/journal.go) before the kill, and written entries after.
	start := time.Now()
	eventually(t, "events acknowledged", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 300 || time.Since(start) < 1500*time.Millisecond {
			return fmt.Errorf("%d acknowledged", len(acked))
		}
		return nil
	})
	if err := c.cmd.Process.Kill(); err != nil { // SIGKILL, mid-flood
		t.Fatal(err)
	}
	c.cmd.Wait()
	close(stop)
	wg.Wait()

	db, err := storage.Open(storage.DefaultConfig(data), nil, nil)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer db.Close()
	missing := 0
	for _, id := range acked {
		if _, err := db.Event(1, id); err != nil {
			missing++
			if missing <= 3 {
				t.Errorf("acknowledged event %x: %v", id, err)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged events lost after kill -9", missing, len(acked))
	}

	// Each issue's count, read back through the issue journal, is the
	// number of its events stored: a commit writes both or neither.
	tr, err := issues.New(issues.Config{}, db, nil, nil)
	if err != nil {
		t.Fatalf("issues after kill -9: %v", err)
	}
	var ids []uint64
	if err := db.Issues(func(rec storage.IssueRecord) error { ids = append(ids, rec.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, id := range ids {
		is, ok := tr.Get(id)
		evs, err := db.IssueEvents(id, 0, math.MaxInt, false)
		if !ok || err != nil {
			t.Fatalf("issue %d: %v, %v", id, ok, err)
		}
		if is.Count != uint64(len(evs)) {
			t.Errorf("issue %d counts %d events, %d are stored", id, is.Count, len(evs))
		}
		stored += len(evs)
	}
	if stored < len(acked) {
		t.Errorf("%d events stored in %d issues, %d were acknowledged", stored, len(ids), len(acked))
	}
	t.Logf("%d acknowledged events, all stored and counted in %d issues; %d stored, %d sent", len(acked), len(ids), stored, seq.Load())
}
