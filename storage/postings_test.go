package storage

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// openInternal opens a DB in dir for the tests of this file.
func openInternal(t *testing.T, dir string) *DB {
	t.Helper()
	db, err := Open(DefaultConfig(dir), nil, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return db
}

// postingsRecords returns the number of 0x03 records of name=value.
func postingsRecords(t *testing.T, db *DB, name, value string) int {
	t.Helper()
	n := 0
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := nameValuePrefix(nil, prefixPostings, name, value, true)
		it := keyIterator(txn, prefix)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// selectIDs runs Select with one matcher.
func selectIDs(t *testing.T, db *DB, typ MatchType, name, value string) []uint64 {
	t.Helper()
	m, err := NewMatcher(typ, name, value)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.Select(m)
	if err != nil {
		t.Fatalf("Select(%s): %v", m, err)
	}
	return ids
}

// TestPostingsMergeAcrossBatches writes the series of one label pair in
// several SeriesIDs and SeriesID calls, across a reopen, with records
// large enough to be split, and checks that Select merges them, that the
// ids are stable across the reopen, and that each call wrote few records.
func TestPostingsMergeAcrossBatches(t *testing.T) {
	dir := t.TempDir()
	db := openInternal(t, dir)
	if db.mayHaveStored {
		t.Error("a fresh store reports stored series")
	}
	var want, wantOdd []uint64
	allIDs := map[string]uint64{}
	batch := func(db *DB, from, to int) {
		t.Helper()
		var lss []Labels
		for i := from; i < to; i++ {
			// job=api for all; parity=odd for every other one, so its ids
			// have gaps; id=i unique.
			parity := "even"
			if i%2 == 1 {
				parity = "odd"
			}
			lss = append(lss, Labels{{"__name__", "m"}, {"id", fmt.Sprint(i)}, {"job", "api"}, {"parity", parity}})
		}
		ids, created, err := db.SeriesIDs(nil, lss)
		if err != nil {
			t.Fatal(err)
		}
		for j, id := range ids {
			key := lss[j].String()
			if old, ok := allIDs[key]; ok {
				if old != id {
					t.Fatalf("series %s: id %d, was %d", key, id, old)
				}
				continue
			}
			allIDs[key] = id
			want = append(want, id)
			if lss[j][3].Value == "odd" {
				wantOdd = append(wantOdd, id)
			}
		}
		_ = created
	}
	batch(db, 0, 3000) // 3000 consecutive ids: split into 3 records
	batch(db, 3000, 3100)
	for i := 3100; i < 3105; i++ { // one record per call
		batch(db, i, i+1)
	}
	batch(db, 0, 10) // known series: nothing written
	if got := postingsRecords(t, db, "job", "api"); got < 3+1+5 || got > 3+1+5+2 {
		t.Errorf("job=api has %d postings records, want about 9", got)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openInternal(t, dir)
	defer db.Close()
	if !db.mayHaveStored {
		t.Error("a reopened store reports no stored series")
	}
	batch(db, 2990, 3200) // 115 stored (not cached), 95 new
	slices.Sort(want)
	slices.Sort(wantOdd)
	if got := selectIDs(t, db, MatchEqual, "job", "api"); !slices.Equal(got, want) {
		t.Errorf("job=api: %d ids, want %d (first %v)", len(got), len(want), got[:min(len(got), 5)])
	}
	if got := selectIDs(t, db, MatchEqual, "parity", "odd"); !slices.Equal(got, wantOdd) {
		t.Errorf("parity=odd: %d ids, want %d", len(got), len(wantOdd))
	}
	if got := selectIDs(t, db, MatchRegexp, "parity", "o.*|e.*"); !slices.Equal(got, want) {
		t.Errorf("parity=~o.*|e.*: %d ids, want %d", len(got), len(want))
	}
	m1, _ := NewMatcher(MatchEqual, "job", "api")
	m2, _ := NewMatcher(MatchNotEqual, "parity", "even")
	if got, err := db.Select(m1, m2); err != nil || !slices.Equal(got, wantOdd) {
		t.Errorf("job=api,parity!=even: %d ids, %v; want %d", len(got), err, len(wantOdd))
	}
	if got := selectIDs(t, db, MatchEqual, "id", "3104"); len(got) != 1 || got[0] != allIDs[Labels{{"__name__", "m"}, {"id", "3104"}, {"job", "api"}, {"parity", "even"}}.String()] {
		t.Errorf("id=3104: %v", got)
	}
	vs, err := db.LabelValues("parity")
	if err != nil || !slices.Equal(vs, []string{"even", "odd"}) {
		t.Errorf("LabelValues(parity) = %q, %v", vs, err)
	}
}

// TestPostingsEncoding checks the record split and round trip, and that a
// pair's records are merged in order even if they overlap.
func TestPostingsEncoding(t *testing.T) {
	prefix := string(nameValuePrefix(nil, prefixPostings, "job", "api", true))
	var ids []uint64
	for i := uint64(1); len(ids) < 5000; i++ {
		ids = append(ids, i*i) // deltas from 1 to 3 bytes
	}
	var got []uint64
	records := 0
	for rest := ids; len(rest) > 0; records++ {
		key, v, n := encodePostings(prefix, rest)
		if len(v) > maxPostingsValue+10 {
			t.Errorf("record of %d bytes", len(v))
		}
		var err error
		if got, err = decodePostings(got, key, len(prefix), v); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	if !slices.Equal(got, ids) {
		t.Fatalf("round trip lost ids: %d of %d", len(got), len(ids))
	}
	if records < 5 {
		t.Errorf("%d records, want a split", records)
	}
	key, _, _ := encodePostings(prefix, []uint64{7})
	for _, bad := range []struct {
		key, v []byte
	}{
		{key, []byte{0}},           // zero delta
		{key, []byte{0x80}},        // truncated varint
		{key[:len(key)-1], nil},    // short key
		{append(key, 1), []byte{}}, // long key
	} {
		if _, err := decodePostings(nil, bad.key, len(prefix), bad.v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodePostings(%x, %x) = %v, want ErrCorrupt", bad.key, bad.v, err)
		}
	}

	// Overlapping records (never written by SeriesIDs) are still merged.
	db := openInternal(t, t.TempDir())
	defer db.Close()
	pb := newPostingsBatch(1)
	for _, id := range []uint64{10, 30, 20, 10} {
		pb.add("job", "api", id)
	}
	wb := db.bdb.NewWriteBatch()
	if err := pb.write(wb.Set); err != nil {
		t.Fatal(err)
	}
	k, v, _ := encodePostings(prefix, []uint64{15, 25, 40})
	if err := wb.Set(k, v); err != nil {
		t.Fatal(err)
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		got, err := appendPostings([]uint64{1}, txn, "job", "api")
		if want := []uint64{1, 10, 15, 20, 25, 30, 40}; err != nil || !slices.Equal(got, want) {
			t.Errorf("appendPostings = %v, %v; want %v", got, err, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFormatVersion checks that Open refuses a store of another format
// version, and an unversioned (version 1) store.
func TestFormatVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(txn *badger.Txn) error
	}{
		{"other version", func(txn *badger.Txn) error { return txn.Set(formatKey, []byte{3}) }},
		{"unversioned", func(txn *badger.Txn) error { return txn.Delete(formatKey) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openInternal(t, dir)
			if _, _, err := db.SeriesID(Labels{{"__name__", "up"}}); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			bdb, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := bdb.Update(tc.edit); err != nil {
				t.Fatal(err)
			}
			if err := bdb.Close(); err != nil {
				t.Fatal(err)
			}
			db, err = Open(DefaultConfig(dir), nil, nil)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "format version") {
				t.Errorf("Open: %v, want ErrFormat", err)
			}
		})
	}
	// A store of this version opens again.
	dir := t.TempDir()
	db := openInternal(t, dir)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openInternal(t, dir)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPipeBatch writes more entries than one Badger transaction takes,
// with no estimate (so every transaction after the first is created late)
// and with one, and reads them all back.
func TestPipeBatch(t *testing.T) {
	cfg := DefaultConfig(t.TempDir())
	cfg.MemTableSize = minMemTableSize // small transactions
	db, err := Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const n = 20000
	for _, estimate := range []int{0, n} {
		pb := newPipeBatch(db.bdb, estimate, 20*estimate)
		for i := range n {
			if err := pb.Set(fmt.Appendf(nil, "\x0bk%d-%06d", estimate, i), []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		if pb.cur < 2 {
			t.Errorf("estimate %d: %d transactions committed, want several", estimate, pb.cur)
		}
		if err := pb.Flush(); err != nil {
			t.Fatal(err)
		}
		pb.Cancel() // harmless after Flush
		got := 0
		err := db.bdb.View(func(txn *badger.Txn) error {
			prefix := fmt.Appendf(nil, "\x0bk%d-", estimate)
			it := keyIterator(txn, prefix)
			defer it.Close()
			for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
				got++
			}
			return nil
		})
		if err != nil || got != n {
			t.Errorf("estimate %d: %d keys read back, %v; want %d", estimate, got, err, n)
		}
	}
}
