package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// SeriesID returns the id of the series ls, creating the series if it does
// not exist yet (created is then true). Ids are stable: the same label set
// gets the same id after a restart. ls must be sorted by name, with no
// empty name or value. A series seen since Open costs one hash and one map
// lookup, with no Badger read and no allocation. ls is not retained.
func (db *DB) SeriesID(ls Labels) (id uint64, created bool, err error) {
	if err := db.acquire(); err != nil {
		return 0, false, err
	}
	defer db.release()

	h := db.hash(ls)
	db.mu.RLock()
	id, ok := db.cached(h, ls)
	db.mu.RUnlock()
	if ok {
		return id, false, nil
	}
	if err := ls.validate(); err != nil {
		return 0, false, err
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	if id, ok := db.cached(h, ls); ok {
		return id, false, nil
	}
	if db.mayHaveStored {
		var found bool
		err = db.bdb.View(func(txn *badger.Txn) error {
			id, found, err = db.stored(txn, h, ls)
			return err
		})
		if err != nil {
			return 0, false, err
		}
		if found {
			db.cache(h, id, ls)
			return id, false, nil
		}
	}
	if id, err = db.nextID(); err != nil {
		return 0, false, err
	}
	enc := appendLabels(nil, ls)
	pending := make(map[string]struct{})
	err = db.bdb.Update(func(txn *badger.Txn) error {
		pb := newPostingsBatch(len(ls))
		if err := db.writeIndex(txn.Set, id, ls, pending, pb); err != nil {
			return err
		}
		if err := pb.write(txn.Set); err != nil {
			return err
		}
		return writeSeries(txn.Set, h, id, enc)
	})
	if err != nil {
		db.mayHaveStored = true // a part may have been written
		return 0, false, fmt.Errorf("storage: cannot write series %s: %w", truncate(ls.String()), err)
	}
	db.rememberValues(pending)
	db.cacheEncoded(h, id, string(enc))
	return id, true, nil
}

// SeriesIDs is SeriesID for many label sets at once: it appends the id of
// each lss[i] to dst and returns it, with the number of series it created.
// The new series are written together, in a pipeBatch of Badger
// transactions: each costs its series and hash records, a label-value
// record per pair not seen before, and a postings record per pair of the
// call, not per series (FORMAT.md). On error no id is returned and the
// cache is left as it was (series written before a failed batch may exist
// on disk and are found again by the next call).
func (db *DB) SeriesIDs(dst []uint64, lss []Labels) ([]uint64, int, error) {
	return db.seriesIDs(dst, lss, false, 0)
}

// seriesIDs is SeriesIDs; with budget, it creates at most the series that
// the flush at time t has left of Config.MaxNewSeriesPerFlush, and returns
// id 0 for the series past it (not created, not cached).
func (db *DB) seriesIDs(dst []uint64, lss []Labels, budget bool, t int64) ([]uint64, int, error) {
	if err := db.acquire(); err != nil {
		return dst, 0, err
	}
	defer db.release()

	start := len(dst)
	hashes := make([]uint64, len(lss))
	var misses []int
	db.mu.RLock()
	for i, ls := range lss {
		hashes[i] = db.hash(ls)
		id, ok := db.cached(hashes[i], ls)
		if !ok {
			misses = append(misses, i)
		}
		dst = append(dst, id)
	}
	db.mu.RUnlock()
	if len(misses) == 0 {
		return dst, 0, nil
	}
	for _, i := range misses {
		if err := lss[i].validate(); err != nil {
			return dst[:start], 0, err
		}
	}

	db.mu.Lock()
	defer db.mu.Unlock()
	left := -1 // no bound
	if budget && db.cfg.MaxNewSeriesPerFlush > 0 {
		if t != db.budgetT {
			db.budgetT, db.newLeft = t, db.cfg.MaxNewSeriesPerFlush
		}
		left = db.newLeft
	}
	ids := dst[start:]
	// added records the cache entries made here, to undo them on error.
	var added []int
	undo := func() {
		for _, i := range added {
			db.uncache(hashes[i], ids[i])
		}
	}
	var toWrite []int
	// lookup finds or creates the series of the misses; txn is nil when
	// no series can be stored but not cached (see DB.mayHaveStored).
	lookup := func(txn *badger.Txn) error {
		for _, i := range misses {
			if id, ok := db.cached(hashes[i], lss[i]); ok {
				ids[i] = id // found earlier in this batch, or by another caller
				continue
			}
			var id uint64
			found := false
			if txn != nil {
				var err error
				if id, found, err = db.stored(txn, hashes[i], lss[i]); err != nil {
					return err
				}
			}
			if !found {
				if left == 0 {
					ids[i] = 0 // past the flush's budget: stored by a later flush
					continue
				}
				left--
				var err error
				if id, err = db.nextID(); err != nil {
					return err
				}
				toWrite = append(toWrite, i)
			}
			ids[i] = id
			db.cache(hashes[i], id, lss[i])
			added = append(added, i)
		}
		return nil
	}
	var err error
	if db.mayHaveStored {
		err = db.bdb.View(lookup)
	} else {
		err = lookup(nil)
	}
	if err != nil {
		undo()
		return dst[:start], 0, err
	}
	if len(toWrite) == 0 {
		return dst, 0, nil
	}
	if left >= 0 {
		db.newLeft = left
	}
	entries, size := 0, 0
	for _, i := range toWrite {
		// Series, hash, and per label a postings and a label-value
		// record: an upper bound on the entries and their size.
		entries += 2 + 2*len(lss[i])
		for _, l := range lss[i] {
			size += 3*(len(l.Name)+len(l.Value)) + 30
		}
	}
	wb := newPipeBatch(db.bdb, entries, size)
	defer wb.Cancel()
	// pending holds the 0x04 keys of this batch, so that a pair shared by
	// many new series is written once.
	pending := make(map[string]struct{}, len(toWrite))
	pb := newPostingsBatch(len(toWrite))
	for _, i := range toWrite {
		if err := db.writeIndex(wb.Set, ids[i], lss[i], pending, pb); err != nil {
			undo()
			db.mayHaveStored = true // the batch may have written a part
			return dst[:start], 0, fmt.Errorf("storage: cannot write the labels of series %s: %w", truncate(lss[i].String()), err)
		}
	}
	if err := pb.write(wb.Set); err != nil {
		undo()
		db.mayHaveStored = true
		return dst[:start], 0, fmt.Errorf("storage: cannot write the postings of %d series: %w", len(toWrite), err)
	}
	var enc []byte
	for _, i := range toWrite {
		enc = appendLabels(enc[:0], lss[i])
		if err := writeSeries(wb.Set, hashes[i], ids[i], enc); err != nil {
			undo()
			db.mayHaveStored = true
			return dst[:start], 0, fmt.Errorf("storage: cannot write series %s: %w", truncate(lss[i].String()), err)
		}
	}
	if err := wb.Flush(); err != nil {
		undo()
		db.mayHaveStored = true
		return dst[:start], 0, fmt.Errorf("storage: cannot write %d series: %w", len(toWrite), err)
	}
	db.rememberValues(pending)
	return dst, len(toWrite), nil
}

// maxKnownValues bounds DB.knownValues: about 60 bytes an entry, so a few
// MiB. Past it the set is cleared, and the next series with a pair writes
// its 0x04 record again (harmless: the key is rewritten, still empty).
const maxKnownValues = 1 << 16

// writeIndex writes through set, for each label of the new series id,
// unless the pair is in db.knownValues or pending, a label-value record,
// whose key it then adds to pending, and adds id to the postings of the
// label in pb (FORMAT.md). The caller writes pb, then the series records
// (writeSeries), and passes pending to rememberValues once the write
// succeeded. db.mu must be held for writing.
func (db *DB) writeIndex(set func(k, v []byte) error, id uint64, ls Labels, pending map[string]struct{}, pb *postingsBatch) error {
	for _, l := range ls {
		pb.add(l.Name, l.Value, id)
		k := valueKey(l.Name, l.Value)
		if _, ok := db.knownValues[string(k)]; ok {
			continue
		}
		if _, ok := pending[string(k)]; ok {
			continue
		}
		if err := set(k, nil); err != nil {
			return err
		}
		pending[string(k)] = struct{}{}
	}
	return nil
}

// writeSeries writes through set the series record of id (enc, its labels
// encoded by appendLabels; set must not retain it past the call, so it is
// copied) and then its hash record, after the series' postings and
// label values: a crash that keeps a prefix of the writes leaves a series
// either whole or without a hash record (never found, so created again
// with a new id; its old id stays in postings without a series).
func writeSeries(set func(k, v []byte) error, h, id uint64, enc []byte) error {
	if err := set(seriesKey(id), slices.Clone(enc)); err != nil {
		return err
	}
	return set(hashKey(h, id), nil)
}

// rememberValues adds the 0x04 keys of pending, now written, to
// db.knownValues, clearing it first if it would pass db.knownLimit.
// db.mu must be held for writing.
func (db *DB) rememberValues(pending map[string]struct{}) {
	if len(db.knownValues)+len(pending) > db.knownLimit {
		clear(db.knownValues)
	}
	for k := range pending {
		if len(db.knownValues) >= db.knownLimit {
			return
		}
		db.knownValues[k] = struct{}{}
	}
}

// nextID returns a new series id. Id 0 is never used, so that callers may
// use it for "no series".
func (db *DB) nextID() (uint64, error) { return nextNonZero(db.seq, "series") }

// nextNonZero returns the next number of seq that is not 0 (Badger
// sequences start at 0; our ids use 0 for "none").
func nextNonZero(seq *badger.Sequence, what string) (uint64, error) {
	for {
		id, err := seq.Next()
		if err != nil {
			return 0, fmt.Errorf("storage: cannot allocate a %s id: %w", what, err)
		}
		if id != 0 {
			return id, nil
		}
	}
}

// cached returns the id of ls from the cache. db.mu must be held.
func (db *DB) cached(h uint64, ls Labels) (uint64, bool) {
	s, ok := db.series[h]
	if !ok {
		return 0, false
	}
	if equalEncoded(s.labels, ls) {
		return s.id, true
	}
	for _, s := range db.collisions[h] {
		if equalEncoded(s.labels, ls) {
			return s.id, true
		}
	}
	return 0, false
}

// cache adds series id to the cache with its own encoding of ls (the
// caller may reuse the memory of its strings). db.mu must be held for
// writing.
func (db *DB) cache(h, id uint64, ls Labels) {
	db.cacheEncoded(h, id, string(appendLabels(nil, ls)))
}

// cacheEncoded adds series id, whose labels encode to enc, to the cache.
// db.mu must be held for writing.
func (db *DB) cacheEncoded(h, id uint64, enc string) {
	s := cachedSeries{id: id, labels: enc}
	if _, ok := db.series[h]; ok {
		db.collisions[h] = append(db.collisions[h], s)
		return
	}
	db.series[h] = s
}

// uncache removes series id from the cache. db.mu must be held for writing.
func (db *DB) uncache(h, id uint64) {
	more := db.collisions[h]
	if s, ok := db.series[h]; ok && s.id == id {
		if len(more) == 0 {
			delete(db.series, h)
			return
		}
		db.series[h] = more[0]
		more = more[1:]
	} else {
		more = slices.DeleteFunc(more, func(s cachedSeries) bool { return s.id == id })
	}
	if len(more) == 0 {
		delete(db.collisions, h)
	} else {
		db.collisions[h] = more
	}
}

// equalEncoded reports whether enc, labels encoded by appendLabels, holds
// exactly ls. It does not allocate.
func equalEncoded(enc string, ls Labels) bool {
	n, k := uvarintString(enc)
	if k <= 0 || n != uint64(len(ls)) {
		return false
	}
	enc = enc[k:]
	for _, l := range ls {
		var ok bool
		if enc, ok = cutEncoded(enc, l.Name); !ok {
			return false
		}
		if enc, ok = cutEncoded(enc, l.Value); !ok {
			return false
		}
	}
	return enc == ""
}

// cutEncoded reports whether enc starts with s as written by appendString,
// and returns the rest of enc.
func cutEncoded(enc, s string) (string, bool) {
	n, k := uvarintString(enc)
	if k <= 0 || n != uint64(len(s)) || len(enc)-k < len(s) || enc[k:k+len(s)] != s {
		return "", false
	}
	return enc[k+len(s):], true
}

// uvarintString is binary.Uvarint for a string.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		b := s[i]
		if b < 0x80 {
			return x | uint64(b)<<shift, i + 1
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

// stored looks ls up in Badger: it reads the ids recorded under hash h and
// compares their labels with ls, so a hash collision yields the right id.
func (db *DB) stored(txn *badger.Txn, h uint64, ls Labels) (uint64, bool, error) {
	prefix := hashPrefix(h)
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		key := it.Item().Key()
		if len(key) != len(prefix)+8 {
			return 0, false, fmt.Errorf("%w: hash key of %d bytes", ErrCorrupt, len(key))
		}
		id := binary.BigEndian.Uint64(key[len(prefix):])
		got, err := readLabels(txn, id)
		if err != nil {
			return 0, false, err
		}
		if got.Equal(ls) {
			return id, true, nil
		}
	}
	return 0, false, nil
}

// readLabels reads the series record of id.
func readLabels(txn *badger.Txn, id uint64) (Labels, error) {
	item, err := txn.Get(seriesKey(id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: series %d", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: cannot read series %d: %w", id, err)
	}
	var ls Labels
	err = item.Value(func(v []byte) error {
		ls, err = decodeLabels(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("series %d: %w", id, err)
	}
	return ls, nil
}

// SeriesLabels returns the labels of series id, or an error wrapping
// ErrNotFound if there is no such series.
func (db *DB) SeriesLabels(id uint64) (Labels, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var ls Labels
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		ls, err = readLabels(txn, id)
		return err
	})
	return ls, err
}

// LabelNames returns every label name of the stored series, sorted.
func (db *DB) LabelNames() ([]string, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var names []string
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixValues}
		it := keyIterator(txn, prefix)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); {
			key := it.Item().Key()
			name, _, err := decodeString(key[1:])
			if err != nil {
				return fmt.Errorf("label-value key: %w", err)
			}
			names = append(names, name)
			// Skip the other values of this name.
			next := prefixEnd(nameValuePrefix(nil, prefixValues, name, "", false))
			if next == nil {
				break
			}
			it.Seek(next)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(names) // keys order names by length first
	return names, nil
}

// LabelValues returns every value of label name in the stored series,
// sorted.
func (db *DB) LabelValues(name string) ([]string, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var values []string
	err := db.bdb.View(func(txn *badger.Txn) error {
		return eachValue(txn, name, "", func(v string) error {
			values = append(values, v)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return values, nil // keys sort by value within a name
}

// keyIterator returns a key-only iterator over prefix.
func keyIterator(txn *badger.Txn, prefix []byte) *badger.Iterator {
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = prefix
	return txn.NewIterator(opts)
}

// eachValue calls fn for each value of label name that starts with
// valuePrefix, in ascending order.
func eachValue(txn *badger.Txn, name, valuePrefix string, fn func(string) error) error {
	namePrefix := nameValuePrefix(nil, prefixValues, name, "", false)
	prefix := append(namePrefix[:len(namePrefix):len(namePrefix)], valuePrefix...)
	it := keyIterator(txn, prefix)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if err := fn(string(it.Item().Key()[len(namePrefix):])); err != nil {
			return err
		}
	}
	return nil
}
