package storage

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPageOut writes events over several value-log files, hands the pages
// of the files no longer written back to the kernel, and reads every event
// back unchanged.
func TestPageOut(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.ValueLogFileSize = 1 << 20
	cfg.PageOutInterval = 0 // called by hand below
	db, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := map[[16]byte][]byte{}
	for batch := range 8 {
		var evs []EventRecord
		for i := range 64 {
			var id [16]byte
			binary.BigEndian.PutUint64(id[:], uint64(batch*64+i+1))
			body := make([]byte, 8<<10) // incompressible: the value log fills
			for j := range body {
				body[j] = byte(rng.Uint32())
			}
			bodies[id] = body
			evs = append(evs, EventRecord{Project: 1, ID: id, Issue: 1, Time: int64(batch*64 + i), Value: db.CompressEvent(nil, body)})
		}
		if err := db.WriteEvents(evs, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Below PageOutAbove nothing is handed back.
	db.cfg.PageOutAbove = 1 << 40
	if n, err := db.pageOut(); err != nil || n != 0 {
		t.Fatalf("pageOut below PageOutAbove advised %d bytes (%v), want 0", n, err)
	}
	db.cfg.PageOutAbove = 0
	n, err := db.pageOut()
	if err != nil || n < 2<<20 {
		t.Fatalf("pageOut advised %d bytes (%v); want at least the two full 1 MiB value-log files (mapped at twice that)", n, err)
	}
	for id, want := range bodies {
		got, err := db.Event(1, id)
		if err != nil || !bytes.Equal(got.Body, want) {
			t.Fatalf("event %x after page-out: %d bytes, %v", id, len(got.Body), err)
		}
	}
}

// statusSample is /proc/self/status as Linux writes it, shortened.
const statusSample = `Name:	telltale
VmHWM:	  155760 kB
VmRSS:	  131468 kB
RssAnon:	  112560 kB
RssFile:	   18908 kB
RssShmem:	       0 kB
Threads:	12
`

// TestFileRSS reads the file-backed resident size from a status sample,
// and fails without one.
func TestFileRSS(t *testing.T) {
	if n, err := fileRSS(strings.NewReader(statusSample)); err != nil || n != 18908<<10 {
		t.Fatalf("fileRSS = %d, %v; want %d", n, err, 18908<<10)
	}
	for _, bad := range []string{"Name: x\n", "RssFile:\t -1 kB\n", "RssFile: many kB\n"} {
		if n, err := fileRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("fileRSS(%q) = %d, want an error", bad, n)
		}
	}
}

// FuzzFileRSS checks that any status text parses without a panic into a
// size that is not negative, or an error.
func FuzzFileRSS(f *testing.F) {
	f.Add(statusSample)
	f.Add("RssFile:\t 99999999999 kB\n")
	f.Add("RssFile:")
	f.Fuzz(func(t *testing.T, status string) {
		if n, err := fileRSS(strings.NewReader(status)); err == nil && n < 0 {
			t.Fatalf("fileRSS = %d", n)
		}
	})
}
