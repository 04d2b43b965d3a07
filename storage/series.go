package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	if id, err = db.nextID(); err != nil {
		return 0, false, err
	}
	err = db.bdb.Update(func(txn *badger.Txn) error {
		return writeSeries(txn.Set, h, id, ls)
	})
	if err != nil {
		return 0, false, fmt.Errorf("storage: cannot write series %s: %w", truncate(ls.String()), err)
	}
	db.cache(h, id, ls)
	return id, true, nil
}

// SeriesIDs is SeriesID for many label sets at once: it appends the id of
// each lss[i] to dst and returns it, with the number of series it created.
// The new series are written with one Badger WriteBatch, so creating many
// series costs one batch instead of one transaction each. On error no id is
// returned and the cache is left as it was (series written before a failed
// batch may exist on disk and are found again by the next call).
func (db *DB) SeriesIDs(dst []uint64, lss []Labels) ([]uint64, int, error) {
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
	ids := dst[start:]
	// added records the cache entries made here, to undo them on error.
	var added []int
	undo := func() {
		for _, i := range added {
			db.uncache(hashes[i], ids[i])
		}
	}
	var toWrite []int
	err := db.bdb.View(func(txn *badger.Txn) error {
		for _, i := range misses {
			if id, ok := db.cached(hashes[i], lss[i]); ok {
				ids[i] = id // found earlier in this batch, or by another caller
				continue
			}
			id, found, err := db.stored(txn, hashes[i], lss[i])
			if err != nil {
				return err
			}
			if !found {
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
	})
	if err != nil {
		undo()
		return dst[:start], 0, err
	}
	if len(toWrite) == 0 {
		return dst, 0, nil
	}
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, i := range toWrite {
		if err := writeSeries(wb.Set, hashes[i], ids[i], lss[i]); err != nil {
			undo()
			return dst[:start], 0, fmt.Errorf("storage: cannot write series %s: %w", truncate(lss[i].String()), err)
		}
	}
	if err := wb.Flush(); err != nil {
		undo()
		return dst[:start], 0, fmt.Errorf("storage: cannot write %d series: %w", len(toWrite), err)
	}
	return dst, len(toWrite), nil
}

// writeSeries writes the records of a new series through set: the series
// record, its hash record, and for each label a postings record and a
// label-value record (FORMAT.md).
func writeSeries(set func(k, v []byte) error, h, id uint64, ls Labels) error {
	if err := set(seriesKey(id), appendLabels(nil, ls)); err != nil {
		return err
	}
	if err := set(hashKey(h, id), nil); err != nil {
		return err
	}
	for _, l := range ls {
		if err := set(postingsKey(l.Name, l.Value, id), nil); err != nil {
			return err
		}
		if err := set(valueKey(l.Name, l.Value), nil); err != nil {
			return err
		}
	}
	return nil
}

// nextID returns a new series id. Id 0 is never used, so that callers may
// use it for "no series".
func (db *DB) nextID() (uint64, error) {
	for {
		id, err := db.seq.Next()
		if err != nil {
			return 0, fmt.Errorf("storage: cannot allocate a series id: %w", err)
		}
		if id != 0 {
			return id, nil
		}
	}
}

// cached returns the id of ls from the cache. db.mu must be held.
func (db *DB) cached(h uint64, ls Labels) (uint64, bool) {
	for _, s := range db.series[h] {
		if s.labels.Equal(ls) {
			return s.id, true
		}
	}
	return 0, false
}

// cache adds series id to the cache with a private copy of ls (the caller
// may reuse the memory of its strings). db.mu must be held for writing.
func (db *DB) cache(h, id uint64, ls Labels) {
	own := make(Labels, len(ls))
	for i, l := range ls {
		own[i] = Label{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
	}
	db.series[h] = append(db.series[h], cachedSeries{id: id, labels: own})
}

// uncache removes series id from the cache. db.mu must be held for writing.
func (db *DB) uncache(h, id uint64) {
	db.series[h] = slices.DeleteFunc(db.series[h], func(s cachedSeries) bool { return s.id == id })
	if len(db.series[h]) == 0 {
		delete(db.series, h)
	}
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

// appendPostings appends the ids of the series with label name=value to
// dst, in ascending order.
func appendPostings(dst []uint64, txn *badger.Txn, name, value string) []uint64 {
	prefix := nameValuePrefix(nil, prefixPostings, name, value, true)
	it := keyIterator(txn, prefix)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		key := it.Item().Key()
		if len(key) == len(prefix)+8 {
			dst = append(dst, binary.BigEndian.Uint64(key[len(prefix):]))
		}
	}
	return dst
}
