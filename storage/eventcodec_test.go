package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/zstd"
)

// eventBody is a JSON document shaped like a stored event: repetitive
// frames, as compressors see them.
func eventBody(frames int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"event_id":"0123456789abcdef0123456789abcdef","exception":{"values":[{"type":"*errors.errorString","value":"boom","stacktrace":{"frames":[`)
	for i := range frames {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"function":"handler%d","module":"example.com/app/internal/pkg%d","filename":"pkg%d/file.go","abs_path":"/src/app/pkg%d/file.go","lineno":%d,"in_app":true}`, i, i%5, i%5, i%5, 10+i*7)
	}
	b.WriteString(`]}}]},"tags":[["server_name","web-1"],["environment","production"]]}`)
	return b.Bytes()
}

// TestEventFormats stores an event as this build does (S2) and one as
// builds before it did (zstd), and reads both back; a record of an unknown
// format or with a cut body is corruption, not a crash.
func TestEventFormats(t *testing.T) {
	db, err := Open(DefaultConfig(t.TempDir()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	body := eventBody(20)
	newID, oldID := [16]byte{1}, [16]byte{2}
	comp := db.CompressEvent([]byte("prefix"), body)
	if !bytes.HasPrefix(comp, []byte("prefix")) {
		t.Fatalf("CompressEvent did not append to dst: %q", comp[:6])
	}
	if err := db.WriteEvents([]EventRecord{{Project: 1, ID: newID, Issue: 3, Time: 7, Value: comp[len("prefix"):]}}, nil); err != nil {
		t.Fatal(err)
	}
	if len(comp)-len("prefix") >= len(body)/2 {
		t.Errorf("compressed %d bytes to %d", len(body), len(comp)-len("prefix"))
	}

	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	old := []byte{eventFormatZstd}
	old = binary.AppendUvarint(old, 4)
	old = binary.AppendVarint(old, 8)
	old = enc.EncodeAll(body, old)
	put := func(id [16]byte, v []byte) {
		t.Helper()
		if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(eventKey(1, id), v) }); err != nil {
			t.Fatal(err)
		}
	}
	put(oldID, old)

	for _, c := range []struct {
		id          [16]byte
		issue, time int64
	}{{newID, 3, 7}, {oldID, 4, 8}} {
		rec, err := db.Event(1, c.id)
		if err != nil {
			t.Fatalf("event %x: %v", c.id, err)
		}
		if !bytes.Equal(rec.Body, body) || rec.Issue != uint64(c.issue) || rec.Time != c.time {
			t.Errorf("event %x: issue %d time %d body %d bytes, want %d %d %d bytes", c.id, rec.Issue, rec.Time, len(rec.Body), c.issue, c.time, len(body))
		}
	}

	// Corrupt records: an unknown format, an S2 body cut short, an S2
	// header claiming more than maxEventBody.
	v, err := db.bdb.NewTransaction(false).Get(eventKey(1, newID))
	if err != nil {
		t.Fatal(err)
	}
	good, _ := v.ValueCopy(nil)
	huge := append([]byte{eventFormatS2, 3, 14}, binary.AppendUvarint(nil, maxEventBody+1)...)
	for name, bad := range map[string][]byte{
		"format": append([]byte{9}, good[1:]...),
		"cut":    good[:len(good)/2], // into the block, not only its padding
		"huge":   huge,
		"empty":  {},
	} {
		id := [16]byte{3, byte(len(name))}
		put(id, bad)
		if _, err := db.Event(1, id); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}
