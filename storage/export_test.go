package storage

// SetHashForTest replaces the series hash of db, to force hash collisions.
// It must be called before the first SeriesID.
func SetHashForTest(db *DB, hash func(Labels) uint64) { db.hash = hash }

// CachedSeriesForTest returns the number of series in db's cache.
func CachedSeriesForTest(db *DB) int {
	db.mu.RLock()
	defer db.mu.RUnlock()
	n := 0
	for _, s := range db.series {
		n += len(s)
	}
	return n
}
