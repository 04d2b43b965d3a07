package storage

import (
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
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
func FlushRecordsForTest(db *DB) (int, error) { return countKeys(db, prefixFlush) }

// countKeys returns the number of keys with prefix in db.
func countKeys(db *DB, prefix byte) (int, error) {
	n := 0
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, []byte{prefix})
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

// JournalEntriesForTest returns the number of issue journal entries (0x12)
// stored.
func JournalEntriesForTest(db *DB) (int, error) { return countKeys(db, prefixIssueJournal) }

// SetJournalEveryForTest sets how often writes checkpoint the issue journal.
func SetJournalEveryForTest(db *DB, every time.Duration) {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	db.journal.every = every
}

// CrashCloseForTest closes db as a crash would leave the issue journal:
// its entries stay, none is checkpointed.
func CrashCloseForTest(db *DB) error {
	db.journal.mu.Lock()
	clear(db.journal.latest)
	db.journal.pending.Store(0)
	db.journal.first = db.journal.seq + 1
	db.journal.mu.Unlock()
	return db.Close()
}

// WriteJournalStatesForTest writes the journal's states to the issue
// records and deletes no entry: a checkpoint cut by a crash.
func WriteJournalStatesForTest(db *DB) error {
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	wb := newTxnBatch(db.bdb)
	defer wb.Discard()
	if err := db.journal.checkpoint(wb, 0); err != nil {
		return err
	}
	return wb.Commit()
}

// DecodeJournalForTest decodes an issue journal entry.
func DecodeJournalForTest(v []byte, fn func(id uint64, state []byte)) error {
	return decodeJournal(v, fn)
}

// SetTableCompressionForTest makes the DBs opened afterwards write tables
// with Snappy, as Telltale did before, until the returned func is called.
func SetTableCompressionForTest() (restore func()) {
	tableCompression = options.Snappy
	return func() { tableCompression = options.None }
}
