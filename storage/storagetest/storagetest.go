// Package storagetest holds test helpers for package storage: OpenTemp opens
// a DB in a temporary directory that is closed and removed when the test
// ends. Only _test.go files may import it (it imports testing).
package storagetest

import (
	"testing"

	"github.com/telltale-dev/telltale/storage"
)

// OpenTemp opens a DB with storage.DefaultConfig in tb.TempDir(), with no
// metrics registry and a discarding logger, and closes it when the test and
// its subtests end. It fails the test if the DB cannot be opened or closed.
func OpenTemp(tb testing.TB) *storage.DB {
	tb.Helper()
	db, err := storage.Open(storage.DefaultConfig(tb.TempDir()), nil, nil)
	if err != nil {
		tb.Fatalf("storage.Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("storage.DB.Close: %v", err)
		}
	})
	return db
}
