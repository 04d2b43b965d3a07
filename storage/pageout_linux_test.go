package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
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

// smapsSample is /proc/self/smaps as Linux writes it, shortened: a table
// and a value-log file of the DB in /data/tt dir (with a space), an
// anonymous mapping between them, and files elsewhere.
const smapsSample = `7f0000000000-7f0000100000 r--s 00000000 fe:01 1234                       /data/tt dir/000003.sst
Size:               1024 kB
Rss:                  50 kB
Pss:                  50 kB
VmFlags: rd sh mr mw me ms sd
7f0000100000-7f0000200000 rw-p 00000000 00:00 0
Size:               1024 kB
Rss:                 999 kB
VmFlags: rd wr mr mw me ac sd
7f0000200000-7f0008200000 rw-s 00000000 fe:01 1235                       /data/tt dir/000001.vlog
Size:             131072 kB
Rss:                 100 kB
THPeligible:    0
VmFlags: rd wr sh mr mw me ms sd
7f0008200000-7f0008300000 r--s 00000000 fe:01 1236                       /data/tt dir/sub/000004.sst
Rss:                 300 kB
7f0008300000-7f0008400000 r--s 00000000 fe:01 1237                       /data/tt dir/MANIFEST
Rss:                 400 kB
7f0008400000-7f0008500000 r--s 00000000 fe:01 1238                       /data/tt dir/000002.sst (deleted)
Rss:                 500 kB
`

// TestMappedFiles reads the DB's mappings and their resident bytes from
// an smaps sample.
func TestMappedFiles(t *testing.T) {
	db := &DB{absDir: "/data/tt dir"}
	maps, resident, err := db.mappedFiles(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x7f0000000000, 0x7f0000100000}, {0x7f0000200000, 0x7f0008200000}}
	if fmt.Sprint(maps) != fmt.Sprint(want) || resident != 150<<10 {
		t.Fatalf("mappedFiles = %x, %d bytes; want %x, %d", maps, resident, want, 150<<10)
	}
}

// FuzzMappedFiles checks that any smaps text parses without a panic into
// mappings of the DB's files with a resident size that is not negative.
func FuzzMappedFiles(f *testing.F) {
	f.Add(smapsSample)
	f.Add("7f-7e r--s 0 fe:01 1 /data/tt dir/1.sst\nRss: -5 kB\n")
	f.Add("Rss: 12 kB\n-\n /data/tt dir/x.vlog\n")
	db := &DB{absDir: "/data/tt dir"}
	f.Fuzz(func(t *testing.T, smaps string) {
		maps, resident, err := db.mappedFiles(strings.NewReader(smaps))
		if err != nil {
			return
		}
		if resident < 0 {
			t.Fatalf("resident %d bytes", resident)
		}
		for _, m := range maps {
			if m.end <= m.start {
				t.Fatalf("mapping %x-%x is empty", m.start, m.end)
			}
		}
	})
}
