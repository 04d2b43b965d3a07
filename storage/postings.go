package storage

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// maxPostingsValue is the size in bytes at which a postings record is
// closed and the next id of its pair starts a new record, so that records
// stay under the default ValueThreshold and live in the LSM tree, where
// Select reads them without a value-log read.
const maxPostingsValue = 1000

// postingsBatch gathers the ids of the series created by one write (a
// SeriesIDs or SeriesID call) by label pair, so that each pair costs one
// postings record per write instead of one key per series (FORMAT.md).
type postingsBatch struct {
	// index maps the key prefix of a pair (0x03 | name | value) to its
	// entry in lists.
	index map[string]int
	lists []postingsList
	// buf is scratch space for key prefixes.
	buf []byte
}

// postingsList is the new ids of one label pair, in the order added.
type postingsList struct {
	prefix string
	ids    []uint64
	// unsorted is set if an id was added after a larger one (never for ids
	// handed out by one call; checked so that a record is always sorted).
	unsorted bool
}

// newPostingsBatch returns an empty postingsBatch with room for about
// pairs label pairs.
func newPostingsBatch(pairs int) *postingsBatch {
	return &postingsBatch{index: make(map[string]int, pairs), lists: make([]postingsList, 0, pairs)}
}

// add records that series id has label name=value.
func (pb *postingsBatch) add(name, value string, id uint64) {
	pb.buf = nameValuePrefix(pb.buf[:0], prefixPostings, name, value, true)
	i, ok := pb.index[string(pb.buf)]
	if !ok {
		i = len(pb.lists)
		p := string(pb.buf)
		pb.index[p] = i
		pb.lists = append(pb.lists, postingsList{prefix: p, ids: make([]uint64, 0, 1)})
	}
	l := &pb.lists[i]
	if n := len(l.ids); n > 0 && id <= l.ids[n-1] {
		l.unsorted = true
	}
	l.ids = append(l.ids, id)
}

// write writes the postings records of the batch through set: for each
// pair, its ids in ascending order, split into records of about
// maxPostingsValue bytes.
func (pb *postingsBatch) write(set func(k, v []byte) error) error {
	for i := range pb.lists {
		l := &pb.lists[i]
		ids := l.ids
		if l.unsorted {
			slices.Sort(ids)
			ids = slices.Compact(ids)
		}
		for len(ids) > 0 {
			key, v, n := encodePostings(l.prefix, ids)
			if err := set(key, v); err != nil {
				return err
			}
			ids = ids[n:]
		}
	}
	return nil
}

// encodePostings returns the key and value of the postings record that
// starts with ids[0] (ids sorted, distinct), and how many ids it holds: the
// key is prefix | ids[0] (uint64 BE), the value the uvarint differences of
// the following ids from their predecessor, up to about maxPostingsValue
// bytes. A record of one id has an empty value.
func encodePostings(prefix string, ids []uint64) (key, value []byte, n int) {
	key = make([]byte, 0, len(prefix)+8)
	key = binary.BigEndian.AppendUint64(append(key, prefix...), ids[0])
	n = 1
	if len(ids) == 1 {
		return key, nil, 1
	}
	value = make([]byte, 0, min(maxPostingsValue, 2*(len(ids)-1))+binary.MaxVarintLen64)
	for n < len(ids) && len(value) < maxPostingsValue {
		value = binary.AppendUvarint(value, ids[n]-ids[n-1])
		n++
	}
	return key, value, n
}

// decodePostings appends to dst the ids of the postings record with key
// (whose pair prefix is prefixLen bytes) and value v.
func decodePostings(dst []uint64, key []byte, prefixLen int, v []byte) ([]uint64, error) {
	if len(key) != prefixLen+8 {
		return dst, fmt.Errorf("%w: postings key of %d bytes, want %d", ErrCorrupt, len(key), prefixLen+8)
	}
	id := binary.BigEndian.Uint64(key[prefixLen:])
	dst = append(dst, id)
	for len(v) > 0 {
		d, k := binary.Uvarint(v)
		if k <= 0 || d == 0 || id+d < id {
			return dst, fmt.Errorf("%w: postings record of series %d", ErrCorrupt, id)
		}
		id += d
		dst = append(dst, id)
		v = v[k:]
	}
	return dst, nil
}

// appendPostings appends the ids of the series with label name=value to
// dst, in ascending order: it reads every postings record of the pair,
// which are in key order, i.e. by first id, and do not overlap (ids are
// handed out in ascending order, one write at a time); they are sorted
// anyway if they do.
func appendPostings(dst []uint64, txn *badger.Txn, name, value string) ([]uint64, error) {
	prefix := nameValuePrefix(nil, prefixPostings, name, value, true)
	it := keyIterator(txn, prefix)
	defer it.Close()
	start := len(dst)
	sorted := true
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		n := len(dst)
		err := item.Value(func(v []byte) error {
			var err error
			dst, err = decodePostings(dst, item.Key(), len(prefix), v)
			return err
		})
		if err != nil {
			return dst[:start], fmt.Errorf("storage: cannot read postings of %s=%q: %w", name, value, err)
		}
		if n > start && dst[n] <= dst[n-1] {
			sorted = false
		}
	}
	if !sorted {
		slices.Sort(dst[start:])
		dst = dst[:start+len(slices.Compact(dst[start:]))]
	}
	return dst, nil
}
