package storage

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// ErrOutOfOrder is returned (wrapped, with a count) by AppendSamples for
// samples whose time is not after the last sample of their series, or that
// repeat a series within one call. Those samples are dropped; the others of
// the call are stored.
var ErrOutOfOrder = errors.New("storage: sample out of order")

// ErrInvalidTime is returned by AppendSamples for a negative timestamp:
// times are unsigned in keys (FORMAT.md), so history starts in 1970.
var ErrInvalidTime = errors.New("storage: invalid sample time")

const (
	// chunkSamples is how many samples a head chunk takes before it is
	// written as a 0x06 record, as in Prometheus: about 1–2 bytes a sample
	// for regular data, and a day of 10 s samples is 72 chunks.
	chunkSamples = 120
	// maxHeadSpan bounds how long a head may hold samples: a head whose first
	// sample is older than the newest flush by more than this is written as
	// a short chunk at the next truncation, so that a series that stopped
	// reporting does not keep every later flush record alive.
	maxHeadSpan int64 = 3600 * 1000
	// truncateEvery is how much sample time passes at least between two
	// truncations of the flush records (see truncate); a truncation runs
	// only after a chunk was cut.
	truncateEvery int64 = 10 * 60 * 1000
	// maxFlushValue is the size in bytes above which a flush is split into
	// several records, so that records stay under the default
	// ValueThreshold and live in the LSM tree, where a record written and
	// deleted within a few memtables is dropped by compaction instead of
	// waiting for value-log GC.
	maxFlushValue = 1000
)

// Sample is one value of one series at the time given to AppendSamples.
type Sample struct {
	// Labels names the series (see SeriesID).
	Labels Labels
	// Value is the sample value; every float64 bit pattern round-trips,
	// Prometheus' staleness NaN included.
	Value float64
}

// Point is one stored sample of a series.
type Point struct {
	// T is the time in Unix milliseconds.
	T int64
	// V is the value.
	V float64
}

// SeriesPoints is one series returned by SelectSamples.
type SeriesPoints struct {
	// ID is the series id.
	ID uint64
	// Labels is the series' label set.
	Labels Labels
	// Points are the series' samples in the asked range, in time order.
	Points []Point
}

// headChunkBytes is the initial capacity of a head chunk: the 2-byte
// header and a first sample (about 16 bytes). It grows as samples come,
// so a series with one sample does not hold chunkenc's 128-byte buffer.
const headChunkBytes = 24

// head is the in-memory chunk of one series, not yet written to 0x06.
// The chunk is held by value, so that a head is one allocation (with the
// chunk's bytes and, once it has samples, its appender).
type head struct {
	chunk chunkenc.XORChunk
	app   chunkenc.Appender
	// mint and maxt are the times of the first and last sample of chunk;
	// meaningful only when chunk holds samples.
	mint, maxt int64
	// lastCut is the time of the last sample written in a 0x06 chunk, or
	// math.MinInt64 if none is.
	lastCut int64
}

// lastT returns the time of the series' last sample, or math.MinInt64.
func (h *head) lastT() int64 {
	if h.chunk.NumSamples() > 0 {
		return h.maxt
	}
	return h.lastCut
}

// pair is one sample of a flush record.
type pair struct {
	id uint64
	v  float64
}

// AppendSamples stores samples at time t (Unix milliseconds). A flush may
// arrive in several calls with the same t. The samples are written as flush
// records (0x05) and added to the series' head chunks; a head of
// chunkSamples samples is written as a 0x06 chunk. The records are durable
// once Commit returns. Samples whose t is not after the last sample of their
// series are dropped and reported with ErrOutOfOrder; the rest are stored.
func (db *DB) AppendSamples(t int64, samples []Sample) error {
	if t < 0 {
		return fmt.Errorf("%w: %d", ErrInvalidTime, t)
	}
	lss := make([]Labels, len(samples))
	for i := range samples {
		lss[i] = samples[i].Labels
	}
	ids, _, err := db.seriesIDs(make([]uint64, 0, len(samples)), lss, true, t)
	if err != nil {
		return err
	}
	pairs := make([]pair, 0, len(samples))
	for i, id := range ids {
		if id != 0 {
			pairs = append(pairs, pair{id: id, v: samples[i].Value})
		}
	}
	if n := len(samples) - len(pairs); n > 0 {
		db.deferred.Add(float64(n))
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.id, b.id) })

	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	db.hmu.Lock()
	defer db.hmu.Unlock()

	// Truncation runs at the first call of a newer flush, so that the
	// calls of the previous flush have all made their cuts.
	if t > db.newestT && db.cutSince && db.newestT >= db.lastTruncate+truncateEvery {
		if err := db.truncate(); err != nil {
			return err
		}
	}
	if err := db.loadHeads(pairs); err != nil {
		return err
	}
	kept, dropped := db.inOrder(t, pairs)
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	if err := db.writeFlush(wb, t, kept); err != nil {
		return err
	}
	cut, err := db.apply(wb, t, kept)
	if err != nil {
		return err
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("storage: cannot write flush at %d: %w", t, err)
	}
	db.newestT = max(db.newestT, t)
	db.cutSince = db.cutSince || cut
	if dropped > 0 {
		return fmt.Errorf("%w: %d of %d samples at %d dropped", ErrOutOfOrder, dropped, len(samples), t)
	}
	return nil
}

// Commit makes every sample appended so far durable: once it returns, they
// survive kill -9 and power loss (it fsyncs Badger's logs).
func (db *DB) Commit() error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	if err := db.bdb.Sync(); err != nil {
		return fmt.Errorf("storage: cannot sync: %w", err)
	}
	return nil
}

// inOrder moves the pairs that can be appended at t (after their series'
// last sample, first of their id in pairs) to the front of pairs and
// returns them with the count of the others. db.hmu must be held and the
// heads loaded.
func (db *DB) inOrder(t int64, pairs []pair) ([]pair, int) {
	kept := pairs[:0]
	var last uint64
	for i, p := range pairs {
		if i > 0 && p.id == last || t <= db.heads[p.id].lastT() {
			continue
		}
		last = p.id
		kept = append(kept, p)
	}
	return kept, len(pairs) - len(kept)
}

// loadHeads creates the heads of the series of pairs that have none, each
// with the time of its last stored chunk. db.hmu must be held.
func (db *DB) loadHeads(pairs []pair) error {
	var missing []uint64
	for _, p := range pairs {
		if _, ok := db.heads[p.id]; !ok {
			missing = append(missing, p.id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return db.bdb.View(func(txn *badger.Txn) error {
		for _, id := range missing {
			if _, ok := db.heads[id]; ok {
				continue // repeated in pairs
			}
			lastCut := int64(math.MinInt64)
			if id < db.firstNewID { // created before this Open: it may have chunks
				var err error
				if lastCut, err = lastChunkMaxT(txn, id); err != nil {
					return err
				}
			}
			h := &head{lastCut: lastCut}
			h.reset()
			db.heads[id] = h
		}
		return nil
	})
}

// lastChunkMaxT returns the time of the last sample in the stored chunks of
// series id, or math.MinInt64 if it has none.
func lastChunkMaxT(txn *badger.Txn, id uint64) (int64, error) {
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.Prefix = chunkPrefix(id)
	opts.PrefetchValues = false // one value is read; prefetching 100 cost ~100 µs a series
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Seek(chunkKey(id, math.MaxInt64))
	if !it.Valid() {
		return math.MinInt64, nil
	}
	var maxt int64
	err := it.Item().Value(func(v []byte) error {
		var err error
		maxt, _, err = decodeChunk(it.Item().Key(), v)
		return err
	})
	return maxt, err
}

// apply appends pairs at t to their heads, writing each full head to wb as
// a 0x06 chunk. It reports whether a chunk was cut. db.hmu must be held and
// the pairs checked by inOrder.
func (db *DB) apply(wb *badger.WriteBatch, t int64, pairs []pair) (bool, error) {
	cut := false
	for _, p := range pairs {
		h := db.heads[p.id]
		if h.app == nil {
			app, err := h.chunk.Appender()
			if err != nil {
				return cut, fmt.Errorf("storage: cannot append to the head of series %d: %w", p.id, err)
			}
			h.app, h.mint = app, t
		}
		h.app.Append(0, t, p.v)
		h.maxt = t
		if h.chunk.NumSamples() >= chunkSamples {
			if err := db.cutHead(wb, p.id, h); err != nil {
				return cut, err
			}
			cut = true
		}
	}
	return cut, nil
}

// cutHead writes the samples of h as a 0x06 chunk of series id to wb and
// starts an empty head.
func (db *DB) cutHead(wb *badger.WriteBatch, id uint64, h *head) error {
	e := badger.NewEntry(chunkKey(id, h.mint), encodeChunk(h.mint, h.maxt, h.chunk.Bytes()))
	if err := wb.SetEntry(db.withTTL(e)); err != nil {
		return fmt.Errorf("storage: cannot write a chunk of series %d: %w", id, err)
	}
	h.lastCut = h.maxt
	h.reset()
	return nil
}

// reset empties the chunk of h.
func (h *head) reset() {
	h.chunk.Reset(make([]byte, 2, headChunkBytes))
	h.app = nil
}

// writeFlush writes pairs, sorted by id, as the flush records of t: one
// record, or several of about maxFlushValue bytes each.
func (db *DB) writeFlush(wb *badger.WriteBatch, t int64, pairs []pair) error {
	for len(pairs) > 0 {
		v, n := encodeFlush(pairs, maxFlushValue)
		pairs = pairs[n:]
		e := badger.NewEntry(flushKey(t, db.flushSeq), v)
		db.flushSeq++
		if err := wb.SetEntry(db.withTTL(e)); err != nil {
			return fmt.Errorf("storage: cannot write flush record at %d: %w", t, err)
		}
	}
	return nil
}

// withTTL gives e the retention as TTL, if there is one.
func (db *DB) withTTL(e *badger.Entry) *badger.Entry {
	if db.cfg.Retention > 0 {
		return e.WithTTL(db.cfg.Retention)
	}
	return e
}

// truncate deletes the flush records whose samples are all in written
// chunks. It first writes as short chunks the heads whose first sample is
// more than maxHeadSpan older than the newest flush. Then every sample
// older than the first sample of every non-empty head is in a chunk (an
// empty head has all of its samples in chunks), so the records up to that
// time go. db.hmu must be held.
func (db *DB) truncate() error {
	db.lastTruncate, db.cutSince = db.newestT, false
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	safe := int64(math.MaxInt64)
	for id, h := range db.heads {
		if h.chunk.NumSamples() == 0 {
			continue
		}
		if h.mint < db.newestT-maxHeadSpan {
			if err := db.cutHead(wb, id, h); err != nil {
				return err
			}
			continue
		}
		safe = min(safe, h.mint-1)
	}
	// The records before end go: those with t ≤ safe.
	end := flushKey(max(safe, -1)+1, 0)
	if safe == math.MaxInt64 {
		end = []byte{prefixFlush + 1}
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := keyIterator(txn, []byte{prefixFlush})
		defer it.Close()
		for it.Rewind(); it.Valid() && string(it.Item().Key()) < string(end); it.Next() {
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("storage: cannot delete flush records: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("storage: cannot delete flush records: %w", err)
	}
	return nil
}

// replay folds the flush records left by the last run into the heads, in
// time order, skipping samples already in chunks. Open calls it.
func (db *DB) replay() error {
	db.hmu.Lock()
	defer db.hmu.Unlock()
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	var (
		t         int64
		pairs     []pair
		seq       uint32
		haveFlush bool
	)
	// flush applies the pairs gathered for time t.
	flush := func() error {
		slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(a.id, b.id) })
		if err := db.loadHeads(pairs); err != nil {
			return err
		}
		kept, _ := db.inOrder(t, pairs)
		_, err := db.apply(wb, t, kept)
		db.newestT = max(db.newestT, t)
		pairs = pairs[:0]
		return err
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{prefixFlush}, PrefetchValues: false})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			rt, rseq, err := decodeFlushKey(it.Item().Key())
			if err != nil {
				return err
			}
			if rt != t && len(pairs) > 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			t, haveFlush = rt, true
			seq = max(seq, rseq+1)
			err = it.Item().Value(func(v []byte) error {
				var err error
				pairs, err = decodeFlush(pairs, v)
				return err
			})
			if err != nil {
				return fmt.Errorf("storage: flush record at %d: %w", rt, err)
			}
		}
		return nil
	})
	if err == nil && len(pairs) > 0 {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("storage: cannot replay flush records: %w", err)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("storage: cannot write replayed chunks: %w", err)
	}
	if haveFlush {
		db.flushSeq = seq
	}
	db.lastTruncate = db.newestT
	return nil
}

// Samples returns the samples of series id with mint ≤ T ≤ maxt, in time
// order, from its written chunks and its head. With a Retention, samples
// older than now minus Retention are not returned. An unknown id has no
// samples.
func (db *DB) Samples(id uint64, mint, maxt int64) ([]Point, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	return db.samples(nil, id, mint, maxt)
}

// samples is Samples without acquire; it appends to dst.
func (db *DB) samples(dst []Point, id uint64, mint, maxt int64) ([]Point, error) {
	if db.cfg.Retention > 0 {
		mint = max(mint, db.now().Add(-db.cfg.Retention).UnixMilli())
	}
	if mint > maxt {
		return dst, nil
	}
	// The head is read first: a chunk cut after this point holds samples
	// of the head read here, so chunks are read only before headMint.
	var headPts []Point
	headMint := int64(math.MaxInt64)
	db.hmu.Lock()
	if h, ok := db.heads[id]; ok && h.chunk.NumSamples() > 0 {
		headMint = h.mint
		if h.maxt >= mint && h.mint <= maxt {
			headPts = appendChunk(nil, h.chunk.Iterator(nil), mint, maxt)
		}
	}
	db.hmu.Unlock()

	start := len(dst)
	err := db.bdb.View(func(txn *badger.Txn) error {
		first, err := firstChunkKey(txn, id, mint)
		if err != nil {
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = chunkPrefix(id)
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		var iter chunkenc.Iterator
		chunk := chunkenc.NewXORChunk()
		end := min(maxt, headMint-1)
		for it.Seek(first); it.Valid(); it.Next() {
			cmint := chunkMint(it.Item().Key())
			if cmint > end {
				break
			}
			err := it.Item().Value(func(v []byte) error {
				cmaxt, data, err := decodeChunk(it.Item().Key(), v)
				if err != nil || cmaxt < mint {
					return err
				}
				chunk.Reset(data)
				iter = chunk.Iterator(iter)
				dst = appendChunk(dst, iter, mint, end)
				return iter.Err()
			})
			if err != nil {
				return fmt.Errorf("storage: chunk of series %d at %d: %w", id, cmint, err)
			}
		}
		return nil
	})
	if err != nil {
		return dst[:start], err
	}
	for _, p := range headPts {
		if len(dst) == start || p.T > dst[len(dst)-1].T {
			dst = append(dst, p)
		}
	}
	return dst, nil
}

// firstChunkKey returns the key of the last chunk of series id that starts
// at or before mint (it may hold samples from mint on), or the key at mint
// if there is none.
func firstChunkKey(txn *badger.Txn, id uint64, mint int64) ([]byte, error) {
	key := chunkKey(id, mint)
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.Prefix = chunkPrefix(id)
	opts.PrefetchValues = false // one value is read; prefetching 100 cost ~100 µs a series
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	if it.Seek(key); it.Valid() {
		return it.Item().KeyCopy(nil), nil
	}
	return key, nil
}

// appendChunk appends to dst the samples of it with mint ≤ t ≤ maxt.
func appendChunk(dst []Point, it chunkenc.Iterator, mint, maxt int64) []Point {
	for it.Next() != chunkenc.ValNone {
		t, v := it.At()
		if t > maxt {
			break
		}
		if t >= mint {
			dst = append(dst, Point{T: t, V: v})
		}
	}
	return dst
}

// SelectSamples returns the series that satisfy matchers (as Select) and
// have samples with mint ≤ T ≤ maxt, in id order, with their labels and
// those samples.
func (db *DB) SelectSamples(mint, maxt int64, matchers ...Matcher) ([]SeriesPoints, error) {
	ids, err := db.Select(matchers...)
	if err != nil {
		return nil, err
	}
	var out []SeriesPoints
	for _, id := range ids {
		pts, err := db.Samples(id, mint, maxt)
		if err != nil {
			return nil, err
		}
		if len(pts) == 0 {
			continue
		}
		ls, err := db.SeriesLabels(id)
		if err != nil {
			return nil, err
		}
		out = append(out, SeriesPoints{ID: id, Labels: ls, Points: pts})
	}
	return out, nil
}
