//go:build !linux

package storage

// pageOut does nothing where MADV_PAGEOUT does not exist.
func (db *DB) pageOut() (int64, error) { return 0, nil }
