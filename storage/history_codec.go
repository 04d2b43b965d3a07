package storage

import (
	"encoding/binary"
	"fmt"
	"math"
)

// flushKey returns the key of flush record seq at time t:
// 0x05 | t uint64 BE | seq uint32 BE. t must not be negative.
func flushKey(t int64, seq uint32) []byte {
	k := make([]byte, 13)
	k[0] = prefixFlush
	binary.BigEndian.PutUint64(k[1:], uint64(t))
	binary.BigEndian.PutUint32(k[9:], seq)
	return k
}

// decodeFlushKey returns the time and sequence number of a flush key.
func decodeFlushKey(k []byte) (int64, uint32, error) {
	if len(k) != 13 || k[0] != prefixFlush {
		return 0, 0, fmt.Errorf("%w: flush key %x", ErrCorrupt, k)
	}
	return int64(binary.BigEndian.Uint64(k[1:])), binary.BigEndian.Uint32(k[9:]), nil
}

// encodeFlush encodes a prefix of pairs (sorted by id, no repeats) as a
// flush record value of about limit bytes at most (always at least one
// pair): uvarint n, then n × (uvarint id delta | value uint64 BE). It
// returns the value and how many pairs it holds.
func encodeFlush(pairs []pair, limit int) ([]byte, int) {
	n := len(pairs)
	// Room for the count, then the pairs (1-byte deltas are the rule).
	buf := make([]byte, binary.MaxVarintLen64, binary.MaxVarintLen64+min(n*9, limit))
	var prev uint64
	for i, p := range pairs {
		if i > 0 && len(buf)+binary.MaxVarintLen64+8 > limit {
			n = i
			break
		}
		buf = binary.AppendUvarint(buf, p.id-prev)
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(p.v))
		prev = p.id
	}
	// The count goes first: write it right-aligned in the space left.
	var hdr [binary.MaxVarintLen64]byte
	h := binary.PutUvarint(hdr[:], uint64(n))
	start := binary.MaxVarintLen64 - h
	copy(buf[start:], hdr[:h])
	return buf[start:], n
}

// decodeFlush appends the pairs of a flush record value to dst.
func decodeFlush(dst []pair, v []byte) ([]pair, error) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > uint64(len(v)) {
		return dst, fmt.Errorf("%w: flush record count", ErrCorrupt)
	}
	v = v[k:]
	var id uint64
	for range n {
		d, k := binary.Uvarint(v)
		if k <= 0 || len(v) < k+8 {
			return dst, fmt.Errorf("%w: flush record truncated", ErrCorrupt)
		}
		id += d
		dst = append(dst, pair{id: id, v: math.Float64frombits(binary.BigEndian.Uint64(v[k:]))})
		v = v[k+8:]
	}
	if len(v) != 0 {
		return dst, fmt.Errorf("%w: %d bytes after a flush record", ErrCorrupt, len(v))
	}
	return dst, nil
}

// chunkPrefix returns the prefix of the chunk keys of series id.
func chunkPrefix(id uint64) []byte {
	k := make([]byte, 9, 17)
	k[0] = prefixChunk
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

// chunkKey returns the key of the chunk of series id whose first sample is
// at mint: 0x06 | id uint64 BE | mint uint64 BE.
func chunkKey(id uint64, mint int64) []byte {
	return binary.BigEndian.AppendUint64(chunkPrefix(id), uint64(mint))
}

// chunkMint returns the mint of a chunk key (0 if the key is malformed;
// decodeChunk reports that).
func chunkMint(k []byte) int64 {
	if len(k) != 17 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[9:]))
}

// encodeChunk returns a chunk record value: uvarint (maxt − mint), then
// the XOR chunk bytes.
func encodeChunk(mint, maxt int64, data []byte) []byte {
	v := make([]byte, 0, binary.MaxVarintLen64+len(data))
	v = binary.AppendUvarint(v, uint64(maxt-mint))
	return append(v, data...)
}

// decodeChunk returns the maxt and the XOR chunk bytes of a chunk record.
// The bytes alias v.
func decodeChunk(k, v []byte) (int64, []byte, error) {
	if len(k) != 17 || k[0] != prefixChunk {
		return 0, nil, fmt.Errorf("%w: chunk key %x", ErrCorrupt, k)
	}
	span, n := binary.Uvarint(v)
	if n <= 0 || len(v) < n+2 {
		return 0, nil, fmt.Errorf("%w: chunk value", ErrCorrupt)
	}
	return chunkMint(k) + int64(span), v[n:], nil
}
