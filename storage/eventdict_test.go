package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/s2"
)

// variedBody is eventBody with what differs between events of one
// application: ids, values, line numbers.
func variedBody(i int) []byte {
	b := eventBody(20)
	b = bytes.Replace(b, []byte("0123456789abcdef0123456789abcdef"), fmt.Appendf(nil, "%032x", i), 1)
	return bytes.Replace(b, []byte(`"boom"`), fmt.Appendf(nil, `"boom %d at %d"`, i, i*7919), 1)
}

// TestEventDictionary writes events before and after the store makes its
// first dictionary, and after the next, across restarts: every event reads
// back, those compressed with a dictionary are much smaller, and an event
// whose dictionary is missing or unreadable is corruption, not a crash.
func TestEventDictionary(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	open := func() *DB {
		t.Helper()
		db, err := Open(DefaultConfig(dir), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		db.now = func() time.Time { return clock }
		return db
	}
	dictOf := func(v []byte) uint64 {
		id, n := binary.Uvarint(v)
		if n <= 0 {
			t.Fatalf("no dictionary id in %x", v[:min(len(v), 8)])
		}
		return id
	}
	written := map[[16]byte][]byte{}
	write := func(db *DB, i int) (dict uint64, size int) {
		t.Helper()
		body := variedBody(i)
		value := db.CompressEvent(nil, body)
		comp := value[eventHeadroom:] // after the room for the record's header
		id := [16]byte{byte(i >> 8), byte(i)}
		if err := db.WriteEvents([]EventRecord{{Project: 1, ID: id, Issue: 1, Time: int64(i), Value: value}}, nil); err != nil {
			t.Fatal(err)
		}
		written[id] = body
		// Padded up to the value threshold, so that it goes to the value
		// log; the block's own length follows the dictionary id.
		if len(comp) <= int(db.cfg.ValueThreshold) {
			t.Fatalf("a value of %d bytes, not over the threshold of %d", len(comp), db.cfg.ValueThreshold)
		}
		_, n := binary.Uvarint(comp)
		block, m := binary.Uvarint(comp[n:])
		if m <= 0 || int(block) > len(comp)-n-m {
			t.Fatalf("block length %d in a value of %d bytes", block, len(comp))
		}
		return dictOf(comp), int(block)
	}
	checkAll := func(db *DB) {
		t.Helper()
		for id, body := range written {
			rec, err := db.Event(1, id)
			if err != nil || !bytes.Equal(rec.Body, body) {
				t.Fatalf("event %x: %v, body equal %v", id, err, bytes.Equal(rec.Body, body))
			}
		}
	}

	db := open()
	plain := len(s2.Encode(nil, variedBody(0)))
	i := 0
	for ; ; i++ {
		d, _ := write(db, i)
		if d != 0 {
			break
		}
		if i > 100 {
			t.Fatal("no dictionary after 100 events")
		}
	}
	if want := dictSample / len(variedBody(0)); i < want-1 || i > want+1 {
		t.Errorf("the first dictionary came at event %d, want about %d (64 KiB of bodies)", i, want)
	}
	d, size := write(db, i+1)
	if d != 1 || size > plain/2 {
		t.Errorf("with dictionary %d: %d bytes, plain S2 %d", d, size, plain)
	}
	checkAll(db)
	db.Close()

	// Reopened, the store keeps using its dictionary, and reads with it.
	db = open()
	checkAll(db)
	if d, _ := write(db, i+2); d != 1 {
		t.Errorf("after a restart: dictionary %d, want 1", d)
	}
	// A day later the first no longer serves (it is to expire with the
	// last event compressed with it): events go without a dictionary
	// until the next is made, and all stay readable.
	clock = clock.Add(dictMaxAge + time.Minute)
	for j := i + 3; ; j++ {
		if d, _ := write(db, j); d == 2 {
			break
		} else if d != 0 || j > i+100 {
			t.Fatalf("event %d: dictionary %d while the second is sampled", j, d)
		}
	}
	checkAll(db)
	db.Close()

	db = open()
	defer db.Close()
	checkAll(db)
	// An event naming a dictionary that is not there, and a dictionary
	// record that cannot be read: corruption, and the store still opens.
	put := func(k, v []byte) {
		t.Helper()
		if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
			t.Fatal(err)
		}
	}
	good, err := db.bdb.NewTransaction(false).Get(eventKey(1, [16]byte{0, byte(i + 1)}))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := good.ValueCopy(nil)
	// The same record, naming dictionary 9: format, issue, time, then
	// the dictionary id before the block.
	rest := v[1:]
	_, n1 := binary.Uvarint(rest)
	_, n2 := binary.Varint(rest[n1:])
	_, n3 := binary.Uvarint(rest[n1+n2:])
	missing := append(append([]byte{eventFormatS2Dict}, rest[:n1+n2]...), 9)
	missing = append(missing, rest[n1+n2+n3:]...)
	put(eventKey(1, [16]byte{9}), missing)
	if _, err := db.Event(1, [16]byte{9}); !errors.Is(err, ErrCorrupt) || !errors.Is(err, errNoDict) {
		t.Errorf("an event of a missing dictionary: %v", err)
	}
	put(eventDictKey(1), []byte{dictVersion + 1, 0})
	db.Close()
	db = open()
	if _, err := db.Event(1, [16]byte{0, byte(i + 1)}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("an event of an unreadable dictionary: %v", err)
	}
	if d, _ := write(db, 500); d != 2 {
		t.Errorf("the newest readable dictionary serves: got %d, want 2", d)
	}
}

// TestEventDictionaryConcurrent compresses from several goroutines while
// the first dictionary is sampled and made (run with -race): every value
// decodes to its body, and they agree on the dictionaries.
func TestEventDictionaryConcurrent(t *testing.T) {
	db, err := Open(DefaultConfig(t.TempDir()), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const workers, each = 4, 30
	type out struct {
		body, comp []byte
	}
	results := make(chan out, workers*each)
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				body := variedBody(w*each + i)
				results <- out{body, db.CompressEvent(nil, body)[eventHeadroom:]}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(results)
	dicts := map[uint64]int{}
	for r := range results {
		id, n := binary.Uvarint(r.comp)
		dicts[id]++
		got, err := db.codec.decode(eventFormatS2Dict, r.comp)
		if n <= 0 || err != nil || !bytes.Equal(got, r.body) {
			t.Fatalf("a value of dictionary %d does not decode to its body: %v", id, err)
		}
	}
	if len(dicts) != 2 || dicts[1] == 0 {
		t.Errorf("values by dictionary %v, want some without and the rest with dictionary 1", dicts)
	}
}

// TestEventDictionaryCache makes more dictionaries than are kept in memory,
// one a day, and reads the events of all of them after a restart: only the
// newest is read at open, the others when an event needs them, and no more
// than maxCachedDicts stay.
func TestEventDictionaryCache(t *testing.T) {
	dir := t.TempDir()
	clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	db, err := Open(DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.now = func() time.Time { return clock }
	bodies := map[[16]byte][]byte{}
	byDict := map[uint64]int{}
	for i := 0; len(byDict) <= maxCachedDicts+2; i++ {
		body := variedBody(i)
		value := db.CompressEvent(nil, body)
		d, _ := binary.Uvarint(value[eventHeadroom:])
		if _, seen := byDict[d]; !seen && d != 0 {
			clock = clock.Add(dictMaxAge + time.Minute) // the next day's sample starts
		}
		byDict[d]++
		id := [16]byte{byte(i >> 8), byte(i)}
		if err := db.WriteEvents([]EventRecord{{Project: 1, ID: id, Issue: 1, Time: int64(i), Value: value}}, nil); err != nil {
			t.Fatal(err)
		}
		bodies[id] = body
		if i > 2000 {
			t.Fatalf("only %d dictionaries after %d events", len(byDict), i)
		}
	}
	db.Close()

	db, err = Open(DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := len(db.dicts.cached); n != 1 {
		t.Errorf("%d dictionaries read at open, want the newest only", n)
	}
	for id, body := range bodies {
		rec, err := db.Event(1, id)
		if err != nil || !bytes.Equal(rec.Body, body) {
			t.Fatalf("event %x: %v", id, err)
		}
	}
	if n := len(db.dicts.cached); n > maxCachedDicts {
		t.Errorf("%d dictionaries in memory, want at most %d", n, maxCachedDicts)
	}
}

// TestEventDictionaryExpires checks that a dictionary, which holds pieces
// of events, expires with the last event it can have compressed when
// events expire, and not otherwise.
func TestEventDictionaryExpires(t *testing.T) {
	for _, retention := range []time.Duration{0, 720 * time.Hour} {
		cfg := DefaultConfig(t.TempDir())
		cfg.EventRetention = retention
		db, err := Open(cfg, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; db.dicts.cur.Load() == nil; i++ {
			db.CompressEvent(nil, variedBody(i))
			if i > 100 {
				t.Fatal("no dictionary")
			}
		}
		item, err := db.bdb.NewTransaction(false).Get(eventDictKey(1))
		if err != nil {
			t.Fatal(err)
		}
		exp := item.ExpiresAt()
		switch {
		case retention == 0 && exp != 0:
			t.Errorf("without event retention the dictionary expires at %d", exp)
		case retention > 0:
			want := time.Now().Add(dictMaxAge + retention)
			if got := time.Unix(int64(exp), 0); got.Before(want) || got.After(want.Add(2*time.Hour)) {
				t.Errorf("with %v of retention the dictionary expires at %v, want just after %v", retention, got, want)
			}
		}
		db.Close()
	}
}
