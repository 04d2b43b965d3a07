package storage

import (
	"encoding/binary"
)

// Record kinds: the first byte of every key (FORMAT.md). Values 0x07 and up
// are reserved for the records planned in later steps.
const (
	prefixMeta     byte = 0x00 // 0x00 name → internal state (sequences)
	prefixSeries   byte = 0x01 // 0x01 id(8) → labels
	prefixHash     byte = 0x02 // 0x02 hash(8) id(8) → empty
	prefixPostings byte = 0x03 // 0x03 name value first-id(8) → id deltas
	prefixValues   byte = 0x04 // 0x04 name value → empty (value unprefixed)
	prefixFlush    byte = 0x05 // 0x05 t(8) seq(4) → (id, value) pairs
	prefixChunk    byte = 0x06 // 0x06 id(8) mint(8) → maxt, XOR chunk
)

// formatKey is the key of the format version of the store (FORMAT.md).
var formatKey = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}

// formatVersion is the format version this package reads and writes:
// 1 had one postings key per series and label, 2 one postings record per
// label pair and SeriesIDs call.
const formatVersion = 2

// seriesSeqKey is the key of the Badger sequence that hands out series ids.
var seriesSeqKey = []byte{prefixMeta, 's', 'e', 'r', 'i', 'e', 's', '_', 'i', 'd'}

// seriesKey returns the key of the series record of id.
func seriesKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixSeries
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// hashPrefix returns the prefix of the hash records of hash h.
func hashPrefix(h uint64) []byte {
	k := make([]byte, 9, 17)
	k[0] = prefixHash
	binary.BigEndian.PutUint64(k[1:], h)
	return k
}

// hashKey returns the hash record key of series id with hash h.
func hashKey(h, id uint64) []byte {
	return binary.BigEndian.AppendUint64(hashPrefix(h), id)
}

// nameValuePrefix appends to dst prefix, uvarint len(name), name, and, if
// withValue, uvarint len(value), value. Length prefixes keep a name (or
// value) from being read as the prefix of a longer one.
func nameValuePrefix(dst []byte, prefix byte, name, value string, withValue bool) []byte {
	dst = append(dst, prefix)
	dst = appendString(dst, name)
	if withValue {
		dst = appendString(dst, value)
	}
	return dst
}

// valueKey returns the key of the label-value record name=value. The value
// is the rest of the key, without a length, so that keys sort by value
// within a name and a value prefix is a key prefix.
func valueKey(name, value string) []byte {
	k := nameValuePrefix(make([]byte, 0, 2+len(name)+len(value)+2), prefixValues, name, "", false)
	return append(k, value...)
}

// prefixEnd returns the smallest key greater than every key that starts
// with p, or nil if there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
