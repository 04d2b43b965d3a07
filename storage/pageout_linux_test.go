package storage

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
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
