package storage

import (
	"time"

	"github.com/dgraph-io/badger/v4"
)

// SetHashForTest replaces the series hash of db, to force hash collisions.
// It must be called before the first SeriesID.
func SetHashForTest(db *DB, hash func(Labels) uint64) { db.hash = hash }

// CachedSeriesForTest returns the number of series in db's cache.
func CachedSeriesForTest(db *DB) int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	n := len(db.series)
	for _, s := range db.collisions {
		n += len(s)
	}
	return n
}

// SetNowForTest replaces the clock of db's read-time retention cut.
func SetNowForTest(db *DB, now func() time.Time) { db.now = now }

// FlushRecordsForTest returns the number of flush records (0x05) in db.
func FlushRecordsForTest(db *DB) (int, error) {
	n := 0
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, []byte{prefixFlush})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	return n, err
}

// SetKnownValuesLimitForTest sets the size at which db's set of known
// label-value records is cleared.
func SetKnownValuesLimitForTest(db *DB, n int) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.knownLimit = n
}
