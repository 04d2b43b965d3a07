package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Record kinds of the error tracker (FORMAT.md).
const (
	prefixEvent       byte = 0x07 // 0x07 project(4) event id(16) → event record
	prefixIssue       byte = 0x08 // 0x08 issue id(8) → issue data
	prefixIssueEvents byte = 0x09 // 0x09 issue id(8) time(8) event id(16) → project(4)
	prefixProject     byte = 0x0A // 0x0A project id(4) → project data
	prefixIssueHash   byte = 0x0B // 0x0B project(4) hash(16) → issue id(8)
	prefixIssueSeen   byte = 0x0C // 0x0C project(4) last seen(8) issue id(8) → ∅
	prefixIssueUsers  byte = 0x0D // 0x0D issue id(8) → user sketch
	prefixIssueTag    byte = 0x0E // 0x0E issue id(8) key length(uvarint) key value → count(uvarint)
	prefixIssueStatic byte = 0x0F // 0x0F issue id(8) → the issue's unchanging state
	prefixIssueText   byte = 0x11 // 0x11 issue id(8) → the issue's text (0x10 is prefixEventDict)
)

// issueSeqKey is the key of the Badger sequence that hands out issue ids.
var issueSeqKey = []byte{prefixMeta, 'i', 's', 's', 'u', 'e', '_', 'i', 'd'}

// Event record formats: the first byte of an event's value says how its
// body is compressed. Stores written before S2 hold zstd records; both are
// read.
const (
	eventFormatZstd byte = 1
	eventFormatS2   byte = 2
	// eventFormatS2Dict is the uvarint id of the dictionary the body was
	// compressed with (0: none; see eventdict.go), the uvarint length of
	// the S2 block, the block, and zeros up to Config.ValueThreshold.
	eventFormatS2Dict byte = 3
)

// maxEventBody bounds a stored event's decompressed body: the tracker's
// documents are well under it, so a larger length is corruption, and is
// refused before any memory is allocated for it.
const maxEventBody = 64 << 20

// EventRecord is one stored error event.
type EventRecord struct {
	// Project is the id of the event's project.
	Project uint32
	// ID is the event id (the 32 hex digits of the protocol, as bytes).
	ID [16]byte
	// Issue is the id of the issue the event was grouped into.
	Issue uint64
	// Time is the event's time, Unix milliseconds: it orders an issue's
	// events.
	Time int64
	// Body is the event document (JSON), as read back.
	Body []byte
	// Value is what WriteEvents stores, made by CompressEvent before the
	// call: room for the record's header (format, issue and time), which
	// WriteEvents fills in place, then the compressed body.
	Value []byte
}

// eventHeadroom is the room a value keeps before the compressed body, for
// the record's header.
const eventHeadroom = 1 + 2*binary.MaxVarintLen64

// IssueRecord is the stored state of one issue. Data is opaque to storage
// (the issue tracker encodes it); the other fields key its indexes.
type IssueRecord struct {
	ID      uint64
	Project uint32
	// Hash is the grouping hash the issue is found by: unique per project.
	Hash [16]byte
	// LastSeen is the time of the newest event, Unix milliseconds: it
	// orders the issues of a project.
	LastSeen int64
	// PrevLastSeen is the time the last-seen index holds for the issue (0
	// for a new issue, which also writes the hash index). When it differs
	// from LastSeen the index entry moves to LastSeen; the tracker leaves
	// it equal to defer that move.
	PrevLastSeen int64
	// Data is the encoded issue state. WriteEvents keeps it (journal.go):
	// it must not change once written.
	Data []byte
	// Text is the issue's text (title, culprit …), which changes with
	// every event but is written at most every second: Data, written by
	// every commit, stays small. nil leaves the stored one.
	Text []byte
	// Static is the part of the issue's state that never changes (its
	// grouping components, kilobytes for a deep stack), written once; nil
	// leaves the stored one. Data then stays small enough for the LSM tree
	// instead of the value log, which would keep a garbage copy per commit.
	Static []byte
	// Users is the issue's user sketch, kept in its own record because it
	// is large and written less often; nil leaves the stored one.
	Users []byte
	// Tags are the tag counts that changed: each (key, value) is its own
	// small record, so that a commit writes the few counts its events
	// changed instead of an issue's whole tag breakdown (kilobytes, which
	// went to the value log with every commit and made most of the disk
	// used).
	Tags []TagCount
}

// TagCount is the number of an issue's events with one tag value.
type TagCount struct {
	Key, Value string
	Count      uint64
}

// ErrNoEvent is returned for an event that is not stored (never was, or
// expired).
var ErrNoEvent = errors.New("storage: no such event")

// codec decompresses event bodies: S2 blocks with or without a dictionary,
// and the zstd frames of stores written by earlier builds. zstd's DecodeAll
// may be called concurrently.
type codec struct {
	zdec  *zstd.Decoder
	dicts *dicts
}

func newCodec(ds *dicts) (*codec, error) {
	dec, err := zstd.NewReader(nil, zstd.WithDecoderLowmem(true), zstd.WithDecoderConcurrency(2), zstd.WithDecoderMaxMemory(maxEventBody))
	if err != nil {
		return nil, fmt.Errorf("storage: zstd decoder: %w", err)
	}
	return &codec{zdec: dec, dicts: ds}, nil
}

// decode returns the body of an event value of the given format.
func (c *codec) decode(format byte, v []byte) ([]byte, error) {
	var d *s2.Dict
	switch format {
	case eventFormatS2Dict:
		id, n := binary.Uvarint(v)
		if n <= 0 {
			return nil, errors.New("dictionary id")
		}
		v = v[n:]
		size, n := binary.Uvarint(v)
		if n <= 0 || size > uint64(len(v)-n) {
			return nil, errors.New("block length")
		}
		v = v[n : n+int(size)] // the rest is padding
		if id != 0 {
			var err error
			if d, err = c.dicts.dict(id); err != nil {
				return nil, err
			}
		}
		fallthrough
	case eventFormatS2:
		n, err := s2.DecodedLen(v)
		if err != nil {
			return nil, err
		}
		if n > maxEventBody {
			return nil, fmt.Errorf("body of %d bytes", n)
		}
		if d != nil {
			return d.Decode(make([]byte, n), v)
		}
		return s2.Decode(make([]byte, n), v)
	case eventFormatZstd:
		return c.zdec.DecodeAll(v, nil)
	}
	return nil, fmt.Errorf("unknown format %d", format)
}

// CompressEvent appends to dst the value of an event of the given body, for
// EventRecord.Value: room for the record's header, then the id of the
// dictionary used (eventdict.go), the length of the S2 block, the block,
// and zeros up to the value threshold. Any number of goroutines may call
// it at once.
//
// The padding sends every event to the value log. With a dictionary most
// events compress under the threshold, and in the LSM tree compactions
// rewrite them: a flood then took 348 µs of CPU per event instead of 157
// (the metric records are kept under the threshold on purpose, so it
// stays where it is).
//
// S2 rather than zstd: on the 9 KB document of a typical event, zstd's
// fastest level took 42 µs and S2 7.5 µs, for 1.9 KB against 2.6 KB
// (BenchmarkEventStages in package ingest), and compression had been the
// largest single cost of ingest: 18 % of the server's CPU in a flood.
func (db *DB) CompressEvent(dst, body []byte) []byte {
	cur := db.compressor(body)
	var id uint64
	if cur != nil {
		id = cur.id
	}
	dst = append(dst, make([]byte, eventHeadroom)...)
	start := len(dst)
	dst = binary.AppendUvarint(dst, id)
	// The block goes after room for its length, and moves back once the
	// length is known.
	room := binary.MaxVarintLen64
	n, m := len(dst)+room, s2.MaxEncodedLen(len(body)) // m < 0 only past 4 GiB, which no limit lets through
	dst = slices.Grow(dst, room+m)
	var out []byte
	if cur != nil {
		out = cur.d.Encode(dst[n:n+m], body)
	} else {
		out = s2.Encode(dst[n:n+m], body)
	}
	dst = binary.AppendUvarint(dst, uint64(len(out)))
	dst = append(dst, out...) // overlapping: copy handles it
	if pad := int(db.cfg.ValueThreshold) + 1 - (len(dst) - start); pad > 0 {
		dst = append(dst, make([]byte, pad)...)
	}
	return dst
}

func (c *codec) close() {
	c.zdec.Close()
}

func eventKey(project uint32, id [16]byte) []byte {
	return putEventKey(make([]byte, 21), project, id)
}

// putEventKey fills k, 21 bytes, with the key of an event and returns it.
func putEventKey(k []byte, project uint32, id [16]byte) []byte {
	k[0] = prefixEvent
	binary.BigEndian.PutUint32(k[1:], project)
	copy(k[5:21], id[:])
	return k
}

func issueTagKey(id uint64, key, value string) []byte {
	k := make([]byte, 0, 9+binary.MaxVarintLen64+len(key)+len(value))
	k = append(k, prefixIssueTag)
	k = binary.BigEndian.AppendUint64(k, id)
	k = binary.AppendUvarint(k, uint64(len(key)))
	k = append(k, key...)
	return append(k, value...)
}

// parseIssueTagKey splits an issueTagKey; the strings are copies.
func parseIssueTagKey(k []byte) (uint64, TagCount, bool) {
	if len(k) < 10 {
		return 0, TagCount{}, false
	}
	id := binary.BigEndian.Uint64(k[1:9])
	n, m := binary.Uvarint(k[9:])
	if m <= 0 || n > uint64(len(k)-9-m) {
		return 0, TagCount{}, false
	}
	rest := k[9+m:]
	return id, TagCount{Key: string(rest[:n]), Value: string(rest[n:])}, true
}

func issueUsersKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixIssueUsers}, id)
}

func issueTextKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixIssueText}, id)
}

func issueStaticKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixIssueStatic}, id)
}

func issueKey(id uint64) []byte {
	k := make([]byte, 9)
	k[0] = prefixIssue
	binary.BigEndian.PutUint64(k[1:], id)
	return k
}

func issueEventsKey(issue uint64, t int64, id [16]byte) []byte {
	return putIssueEventsKey(make([]byte, 33), issue, t, id)
}

// putIssueEventsKey fills k, 33 bytes, with the index key of an event and
// returns it.
func putIssueEventsKey(k []byte, issue uint64, t int64, id [16]byte) []byte {
	k[0] = prefixIssueEvents
	binary.BigEndian.PutUint64(k[1:], issue)
	binary.BigEndian.PutUint64(k[9:], uint64(t))
	copy(k[17:], id[:])
	return k
}

func issueHashKey(project uint32, hash [16]byte) []byte {
	k := make([]byte, 21)
	k[0] = prefixIssueHash
	binary.BigEndian.PutUint32(k[1:], project)
	copy(k[5:], hash[:])
	return k
}

func issueSeenKey(project uint32, t int64, id uint64) []byte {
	k := make([]byte, 21)
	k[0] = prefixIssueSeen
	binary.BigEndian.PutUint32(k[1:], project)
	binary.BigEndian.PutUint64(k[5:], uint64(t))
	binary.BigEndian.PutUint64(k[13:], id)
	return k
}

func projectKey(id uint32) []byte {
	k := make([]byte, 5)
	k[0] = prefixProject
	binary.BigEndian.PutUint32(k[1:], id)
	return k
}

// NextIssueID returns a new issue id (never 0, never handed out twice).
func (db *DB) NextIssueID() (uint64, error) {
	if err := db.acquire(); err != nil {
		return 0, err
	}
	defer db.release()
	return nextNonZero(db.issueSeq, "issue")
}

// WriteEvents stores events and issue states in one write and returns once
// they are durable (Config.SyncWrites) or at least survive kill -9. It is
// the group commit of the error tracker: one call per batch of accepted
// events, so the batch shares its fsyncs. Events get Config.EventRetention
// as their TTL; issues are kept until deleted.
func (db *DB) WriteEvents(events []EventRecord, issues []IssueRecord) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	wb := newTxnBatch(db.bdb)
	defer wb.Discard()
	// The keys, index values and entries of all events come from one
	// allocation each: Badger holds on to them until the commit.
	const evKeyLen, ixKeyLen, per = 21, 33, 21 + 33 + 4 // keys and a 4-byte index value
	keys := make([]byte, len(events)*per)
	entries := make([]badger.Entry, 2*len(events))
	for i := range events {
		e := &events[i]
		var h [eventHeadroom]byte
		header := append(h[:0], eventFormatS2Dict)
		header = binary.AppendUvarint(header, e.Issue)
		header = binary.AppendVarint(header, e.Time)
		if len(e.Value) < eventHeadroom {
			return fmt.Errorf("storage: event value of %d bytes has no room for its header", len(e.Value))
		}
		v := e.Value[eventHeadroom-len(header):]
		copy(v, header)
		kb := keys[i*per : (i+1)*per]
		ev, ix := &entries[2*i], &entries[2*i+1]
		ev.Key, ev.Value = putEventKey(kb[:evKeyLen], e.Project, e.ID), v
		ix.Key = putIssueEventsKey(kb[evKeyLen:evKeyLen+ixKeyLen], e.Issue, e.Time, e.ID)
		ix.Value = kb[evKeyLen+ixKeyLen:]
		binary.BigEndian.PutUint32(ix.Value, e.Project)
		if db.cfg.EventRetention > 0 {
			ev = ev.WithTTL(db.cfg.EventRetention)
			ix = ix.WithTTL(db.cfg.EventRetention)
		}
		if err := wb.SetEntry(ev); err != nil {
			return fmt.Errorf("storage: cannot write event: %w", err)
		}
		if err := wb.SetEntry(ix); err != nil {
			return fmt.Errorf("storage: cannot write event index: %w", err)
		}
	}
	journaled := func(bool) {}
	if len(issues) > 0 {
		// The states first, in one journal entry (journal.go); then each
		// issue's text before its static record: of a new issue cut by a
		// crash in a split commit, the tracker drops what has no static
		// record, so what it keeps has its text.
		db.journal.mu.Lock()
		defer db.journal.mu.Unlock()
		var err error
		if journaled, err = db.journal.write(wb, issues, nil); err != nil {
			return fmt.Errorf("storage: cannot write issues: %w", err)
		}
	}
	for i := range issues {
		is := &issues[i]
		if is.Text != nil {
			if err := wb.Set(issueTextKey(is.ID), is.Text); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
		if is.Static != nil {
			if err := wb.Set(issueStaticKey(is.ID), is.Static); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
		if is.Users != nil {
			if err := wb.Set(issueUsersKey(is.ID), is.Users); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
		for _, tc := range is.Tags {
			if err := wb.Set(issueTagKey(is.ID, tc.Key, tc.Value), binary.AppendUvarint(nil, tc.Count)); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
		if is.PrevLastSeen == 0 {
			if err := wb.Set(issueHashKey(is.Project, is.Hash), binary.BigEndian.AppendUint64(nil, is.ID)); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
		if is.PrevLastSeen != is.LastSeen {
			if is.PrevLastSeen != 0 {
				if err := wb.Delete(issueSeenKey(is.Project, is.PrevLastSeen, is.ID)); err != nil {
					return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
				}
			}
			if err := wb.Set(issueSeenKey(is.Project, is.LastSeen, is.ID), nil); err != nil {
				return fmt.Errorf("storage: cannot write issue %d: %w", is.ID, err)
			}
		}
	}
	err := wb.Commit()
	journaled(err == nil)
	if err != nil {
		return fmt.Errorf("storage: cannot write %d events: %w", len(events), err)
	}
	return nil
}

// Issues calls fn for every stored issue, in id order, with its latest
// state: from the issue journal when it is newer than the record. rec.Data
// is only valid during the call.
func (db *DB) Issues(fn func(rec IssueRecord) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	ids, states := db.journal.states()
	// emit calls fn for the journal's issues before id (all: MaxUint64).
	emit := func(id uint64) error {
		for len(ids) > 0 && ids[0] < id {
			if s := states[ids[0]]; s != nil {
				if err := fn(IssueRecord{ID: ids[0], Data: s}); err != nil {
					return err
				}
			}
			ids = ids[1:]
		}
		return nil
	}
	err := db.scanRecords([]byte{prefixIssue}, 9, "issue", func(k, v []byte) error {
		id := binary.BigEndian.Uint64(k[1:])
		if err := emit(id); err != nil {
			return err
		}
		if len(ids) > 0 && ids[0] == id {
			ids = ids[1:]
			if v = states[id]; v == nil {
				return nil // deleted
			}
		}
		return fn(IssueRecord{ID: id, Data: v})
	})
	if err != nil {
		return err
	}
	return emit(math.MaxUint64)
}

// IssueSketches calls fn with the id and user sketch of every issue that
// has one stored, in id order; data is only valid during the call.
func (db *DB) IssueSketches(fn func(id uint64, data []byte) error) error {
	return db.issueParts(prefixIssueUsers, "issue users", fn)
}

// IssueStatics calls fn with the id and static state (IssueRecord.Static)
// of every issue that has one stored, in id order; data is only valid
// during the call.
func (db *DB) IssueStatics(fn func(id uint64, data []byte) error) error {
	return db.issueParts(prefixIssueStatic, "issue static", fn)
}

// IssueTexts calls fn with the id and text (IssueRecord.Text) of every
// issue that has one stored, in id order; data is only valid during the
// call.
func (db *DB) IssueTexts(fn func(id uint64, data []byte) error) error {
	return db.issueParts(prefixIssueText, "issue text", fn)
}

func (db *DB) issueParts(prefix byte, what string, fn func(id uint64, data []byte) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	return db.scanRecords([]byte{prefix}, 9, what, func(k, v []byte) error {
		return fn(binary.BigEndian.Uint64(k[1:]), v)
	})
}

// IssueTags calls fn with every stored tag count, grouped by issue in id
// order.
func (db *DB) IssueTags(fn func(issue uint64, tc TagCount) error) error {
	return db.issueTags([]byte{prefixIssueTag}, fn)
}

// IssueTagsOf calls fn with the stored tag counts of issue id.
func (db *DB) IssueTagsOf(id uint64, fn func(tc TagCount) error) error {
	prefix := binary.BigEndian.AppendUint64([]byte{prefixIssueTag}, id)
	return db.issueTags(prefix, func(_ uint64, tc TagCount) error { return fn(tc) })
}

func (db *DB) issueTags(prefix []byte, fn func(issue uint64, tc TagCount) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	return db.bdb.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			issue, tc, ok := parseIssueTagKey(k)
			if !ok {
				return fmt.Errorf("%w: issue tag key %x", ErrCorrupt, k)
			}
			err := it.Item().Value(func(v []byte) error {
				n, m := binary.Uvarint(v)
				if m <= 0 {
					return fmt.Errorf("%w: issue tag count %x", ErrCorrupt, v)
				}
				tc.Count = n
				return fn(issue, tc)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Issue returns the latest state of issue id (IssueRecord.Data), and
// false when none is stored.
func (db *DB) Issue(id uint64) ([]byte, bool, error) {
	db.journal.mu.Lock()
	state, ok := db.journal.latest[id]
	db.journal.mu.Unlock()
	if ok {
		return state, state != nil, nil
	}
	return db.getValue(issueKey(id), "issue")
}

// IssueText returns the text record of issue id (IssueRecord.Text), and
// false when none is stored.
func (db *DB) IssueText(id uint64) ([]byte, bool, error) {
	return db.getValue(issueTextKey(id), "issue text")
}

// getValue returns a copy of the value of key.
func (db *DB) getValue(key []byte, what string) ([]byte, bool, error) {
	if err := db.acquire(); err != nil {
		return nil, false, err
	}
	defer db.release()
	var v []byte
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		v, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("storage: %s: %w", what, err)
	}
	return v, true, nil
}

// scanRecords calls fn with the key and value of every record under
// prefix, in key order; every key must be keyLen bytes long. v is only
// valid during the call.
func (db *DB) scanRecords(prefix []byte, keyLen int, what string, fn func(k, v []byte) error) error {
	return db.bdb.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = prefix
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			k := it.Item().Key()
			if len(k) != keyLen {
				return fmt.Errorf("%w: %s key %x", ErrCorrupt, what, k)
			}
			if err := it.Item().Value(func(v []byte) error { return fn(k, v) }); err != nil {
				return err
			}
		}
		return nil
	})
}

// SeenEntry is one entry of the last-seen index (0x0C).
type SeenEntry struct {
	Project  uint32
	LastSeen int64 // Unix ms
	Issue    uint64
}

// IssuesSeen calls fn with every entry of the last-seen index, so that the
// tracker can repair the entries a crash left stale (it moves them lazily).
func (db *DB) IssuesSeen(fn func(SeenEntry) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	return db.scanRecords([]byte{prefixIssueSeen}, 21, "issue seen", func(k, _ []byte) error {
		return fn(SeenEntry{
			Project:  binary.BigEndian.Uint32(k[1:]),
			LastSeen: int64(binary.BigEndian.Uint64(k[5:])),
			Issue:    binary.BigEndian.Uint64(k[13:]),
		})
	})
}

// DeleteSeen removes entries from the last-seen index, durably.
func (db *DB) DeleteSeen(entries []SeenEntry) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range entries {
		if err := wb.Delete(issueSeenKey(e.Project, e.LastSeen, e.Issue)); err != nil {
			return fmt.Errorf("storage: cannot delete a last-seen entry: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("storage: cannot delete %d last-seen entries: %w", len(entries), err)
	}
	return nil
}

// newestFirst calls fn, newest first, with the items under prefix whose
// key goes on with a big-endian time (Unix ms) before `before` (≤ 0: no
// bound); every key must be keyLen bytes long. fn returns false to stop.
func newestFirst(txn *badger.Txn, prefix []byte, before int64, keyLen int, what string, fn func(*badger.Item) (bool, error)) error {
	if before <= 0 {
		before = math.MaxInt64
	}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.Reverse = true
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	start := binary.BigEndian.AppendUint64(slices.Clip(prefix), uint64(before-1))
	start = append(start, bytesFF[:keyLen-len(start)]...)
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		if k := it.Item().Key(); len(k) != keyLen {
			return fmt.Errorf("%w: %s key %x", ErrCorrupt, what, k)
		}
		more, err := fn(it.Item())
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// IssueByHash returns the id of the issue of project with grouping hash.
func (db *DB) IssueByHash(project uint32, hash [16]byte) (uint64, bool, error) {
	v, ok, err := db.getValue(issueHashKey(project, hash), "issue by hash")
	if err != nil || !ok {
		return 0, false, err
	}
	if len(v) != 8 {
		return 0, false, fmt.Errorf("storage: issue by hash: %w: value of %d bytes", ErrCorrupt, len(v))
	}
	return binary.BigEndian.Uint64(v), true, nil
}

// IssuesBySeen returns the ids of project's issues by last seen, newest
// first, with last seen before `before` (Unix ms; 0 means no bound), at most
// limit of them.
func (db *DB) IssuesBySeen(project uint32, before int64, limit int) ([]uint64, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var ids []uint64
	if limit <= 0 {
		return nil, nil
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := binary.BigEndian.AppendUint32([]byte{prefixIssueSeen}, project)
		return newestFirst(txn, prefix, before, 21, "issue seen", func(item *badger.Item) (bool, error) {
			ids = append(ids, binary.BigEndian.Uint64(item.Key()[13:]))
			return len(ids) < limit, nil
		})
	})
	return ids, err
}

// Event returns the stored event id of project, with its body
// decompressed, or an error wrapping ErrNoEvent.
func (db *DB) Event(project uint32, id [16]byte) (EventRecord, error) {
	if err := db.acquire(); err != nil {
		return EventRecord{}, err
	}
	defer db.release()
	var rec EventRecord
	err := db.bdb.View(func(txn *badger.Txn) error {
		var err error
		rec, err = db.readEvent(txn, project, id)
		return err
	})
	return rec, err
}

// readEvent reads and decodes one event record.
func (db *DB) readEvent(txn *badger.Txn, project uint32, id [16]byte) (EventRecord, error) {
	rec := EventRecord{Project: project, ID: id}
	item, err := txn.Get(eventKey(project, id))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return rec, fmt.Errorf("%w: %x", ErrNoEvent, id)
	}
	if err != nil {
		return rec, fmt.Errorf("storage: cannot read event %x: %w", id, err)
	}
	err = item.Value(func(v []byte) error {
		if len(v) < 1 {
			return fmt.Errorf("%w: event %x: empty", ErrCorrupt, id)
		}
		format := v[0]
		v = v[1:]
		issue, n := binary.Uvarint(v)
		if n <= 0 {
			return fmt.Errorf("%w: event %x: issue", ErrCorrupt, id)
		}
		v = v[n:]
		t, n := binary.Varint(v)
		if n <= 0 {
			return fmt.Errorf("%w: event %x: time", ErrCorrupt, id)
		}
		body, err := db.codec.decode(format, v[n:])
		if err != nil {
			return fmt.Errorf("%w: event %x: %w", ErrCorrupt, id, err)
		}
		rec.Issue, rec.Time, rec.Body = issue, t, body
		return nil
	})
	return rec, err
}

// IssueEvents returns the events of issue, newest first, older than before
// (Unix ms; 0 means no bound), at most limit of them, with their bodies
// when withBody is set. Expired events are skipped.
func (db *DB) IssueEvents(issue uint64, before int64, limit int, withBody bool) ([]EventRecord, error) {
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var out []EventRecord
	if limit <= 0 {
		return nil, nil
	}
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := binary.BigEndian.AppendUint64([]byte{prefixIssueEvents}, issue)
		return newestFirst(txn, prefix, before, 33, "issue event", func(item *badger.Item) (bool, error) {
			k := item.Key()
			rec := EventRecord{Issue: issue, Time: int64(binary.BigEndian.Uint64(k[9:]))}
			copy(rec.ID[:], k[17:])
			if err := item.Value(func(v []byte) error {
				if len(v) != 4 {
					return fmt.Errorf("%w: issue event value", ErrCorrupt)
				}
				rec.Project = binary.BigEndian.Uint32(v)
				return nil
			}); err != nil {
				return false, err
			}
			if withBody {
				full, err := db.readEvent(txn, rec.Project, rec.ID)
				if errors.Is(err, ErrNoEvent) {
					return true, nil // expired between the index and the body
				}
				if err != nil {
					return false, err
				}
				rec.Body = full.Body
			}
			out = append(out, rec)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// bytesFF is a run of 0xff bytes, to seek past every key with a prefix.
var bytesFF = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// DeleteIssue removes an issue, its indexes and its events. rec.LastSeen
// must be the time the last-seen index holds for it.
func (db *DB) DeleteIssue(rec IssueRecord) error {
	evs, err := db.IssueEvents(rec.ID, 0, math.MaxInt, false)
	if err != nil {
		return err
	}
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	wb := db.bdb.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range evs {
		if err := wb.Delete(eventKey(e.Project, e.ID)); err != nil {
			return err
		}
		if err := wb.Delete(issueEventsKey(rec.ID, e.Time, e.ID)); err != nil {
			return err
		}
	}
	err = db.bdb.View(func(txn *badger.Txn) error {
		prefix := binary.BigEndian.AppendUint64([]byte{prefixIssueTag}, rec.ID)
		it := keyIterator(txn, prefix)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := wb.Delete(it.Item().KeyCopy(nil)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The issue's states in the journal would bring it back at the next
	// Open: a deletion in the journal supersedes them.
	db.journal.mu.Lock()
	defer db.journal.mu.Unlock()
	journaled, err := db.journal.write(wb, nil, []uint64{rec.ID})
	if err != nil {
		return err
	}
	for _, k := range [][]byte{issueKey(rec.ID), issueUsersKey(rec.ID), issueStaticKey(rec.ID), issueTextKey(rec.ID), issueHashKey(rec.Project, rec.Hash), issueSeenKey(rec.Project, rec.LastSeen, rec.ID)} {
		if err := wb.Delete(k); err != nil {
			return err
		}
	}
	err = wb.Flush()
	journaled(err == nil)
	if err != nil {
		return fmt.Errorf("storage: cannot delete issue %d: %w", rec.ID, err)
	}
	return nil
}

// PutProject stores the data of project id.
func (db *DB) PutProject(id uint32, data []byte) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	return db.bdb.Update(func(txn *badger.Txn) error { return txn.Set(projectKey(id), data) })
}

// Projects calls fn with the id and data of every stored project, in id
// order; data is only valid during the call.
func (db *DB) Projects(fn func(id uint32, data []byte) error) error {
	if err := db.acquire(); err != nil {
		return err
	}
	defer db.release()
	return db.scanRecords([]byte{prefixProject}, 5, "project", func(k, v []byte) error {
		return fn(binary.BigEndian.Uint32(k[1:]), v)
	})
}
