package storage

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The issue journal (0x12, FORMAT.md).
//
// Each commit of the Sentry committer changes the state (IssueRecord.Data)
// of every issue its events fall in: about 40 issues per commit in a flood
// of 100 groups, at 170 commits a second. Written to their own records
// (0x08), those states were 40 small entries per commit: a third of the
// skiplist inserts, and about half of the memtable bytes Badger logged,
// flushed and compacted (measured with pair.sh: not writing them at all
// took 4–7 % off the server's CPU per event in a flood; the journal takes
// 3–4 % off).
//
// A write instead puts the states it carries into one journal entry
// (0x12 seq → ids and states; in a flood it passes the value threshold and
// goes to the value log whole), and the journal keeps the latest state of
// each issue in memory. At most every journalEvery, the next write also
// writes those states to the issues' records and deletes the entries before
// its own; Close does the same. Open reads the entries that are left, in
// order, over the records. So:
//
//   - an issue's latest durable state is its state in the last journal
//     entry that holds it, or its record when no entry does;
//   - a checkpoint writes each record with the state of the issue's last
//     entry, then deletes entries oldest first, so a crash anywhere in it
//     leaves records and entries that still read back as the latest states.
const prefixIssueJournal byte = 0x12 // 0x12 seq(8) → 0x01, then per issue: id uvarint, state length uvarint, state

// journalFormat is the first byte of a journal entry's value.
const journalFormat byte = 1

// journalEvery is how often a write also writes the journal's states to the
// issues' records: about 170 commits' entries are deleted per second.
const journalEvery = time.Second

type journal struct {
	// mu is held over every write that adds an entry or checkpoints, so
	// that entries are written in the order of their sequence numbers.
	mu sync.Mutex
	// Entries first..seq may exist; first > seq when none does.
	first, seq uint64
	// latest holds each issue's state newer than its record (nil: the
	// issue was deleted). The slices are the callers' IssueRecord.Data,
	// which they do not change once written.
	latest map[uint64][]byte
	// pending is len(latest), for the self-metric: a scrape must not wait
	// on mu, which a write holds until its commit is on disk.
	pending atomic.Int64
	saved   time.Time // last checkpoint
	every   time.Duration
	buf     []byte // the entry being written
}

func journalKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixIssueJournal}, seq)
}

// loadJournal reads the entries left by the last run into the journal's
// latest states.
func (db *DB) loadJournal() error {
	j := &db.journal
	j.latest, j.every, j.saved = map[uint64][]byte{}, journalEvery, time.Now()
	j.first, j.seq = 1, 0
	found := false
	err := db.scanRecords([]byte{prefixIssueJournal}, 9, "issue journal", func(k, v []byte) error {
		seq := binary.BigEndian.Uint64(k[1:])
		if !found {
			j.first, found = seq, true
		}
		j.seq = seq
		return decodeJournal(v, func(id uint64, state []byte) {
			if len(state) == 0 {
				j.latest[id] = nil
			} else {
				j.latest[id] = slices.Clone(state)
			}
		})
	})
	if err != nil {
		return fmt.Errorf("storage: cannot read the issue journal: %w", err)
	}
	j.pending.Store(int64(len(j.latest)))
	if found {
		db.log.Info("read the issue journal", "entries", j.seq-j.first+1, "issues", len(j.latest))
	}
	return nil
}

// decodeJournal calls fn with each issue of a journal entry; a zero-length
// state marks a deleted issue.
func decodeJournal(v []byte, fn func(id uint64, state []byte)) error {
	if len(v) == 0 || v[0] != journalFormat {
		return fmt.Errorf("%w: issue journal entry of format %x", ErrCorrupt, v[:min(len(v), 1)])
	}
	for b := v[1:]; len(b) > 0; {
		id, n := binary.Uvarint(b)
		if n <= 0 {
			return fmt.Errorf("%w: issue journal entry", ErrCorrupt)
		}
		b = b[n:]
		l, n := binary.Uvarint(b)
		if n <= 0 || l > uint64(len(b)-n) {
			return fmt.Errorf("%w: issue journal entry", ErrCorrupt)
		}
		fn(id, b[n:n+int(l)])
		b = b[n+int(l):]
	}
	return nil
}

// write adds to wb an entry with the states of issues and the deletion of
// the issues in deleted, and, when a checkpoint is due, the latest states
// before them and the deletion of the entries they supersede. j.mu must be
// held until wb is committed and done is called with the outcome.
func (j *journal) write(wb batchWriter, issues []IssueRecord, deleted []uint64) (done func(ok bool), err error) {
	b := append(j.buf[:0], journalFormat)
	for i := range issues {
		if len(issues[i].Data) == 0 {
			return nil, fmt.Errorf("storage: issue %d has an empty state", issues[i].ID) // it would read as deleted
		}
		b = binary.AppendUvarint(b, issues[i].ID)
		b = binary.AppendUvarint(b, uint64(len(issues[i].Data)))
		b = append(b, issues[i].Data...)
	}
	for _, id := range deleted {
		b = binary.AppendUvarint(b, id)
		b = binary.AppendUvarint(b, 0)
	}
	j.buf = b
	seq := j.seq + 1
	if err := wb.Set(journalKey(seq), b); err != nil {
		return nil, err
	}
	// The checkpoint goes after the entry: a crash that cuts the write
	// before it leaves the entries it would have deleted.
	now := time.Now()
	checkpoint := now.Sub(j.saved) >= j.every
	if checkpoint {
		if err := j.checkpoint(wb, seq-1); err != nil {
			return nil, err
		}
	}
	return func(ok bool) {
		// A failed write may still have written the entry: never reuse
		// its number.
		j.seq = seq
		if !ok {
			return
		}
		if checkpoint {
			clear(j.latest)
			j.first, j.saved = seq, now
		}
		for i := range issues {
			j.latest[issues[i].ID] = issues[i].Data
		}
		for _, id := range deleted {
			j.latest[id] = nil
		}
		j.pending.Store(int64(len(j.latest)))
	}, nil
}

// checkpoint adds to wb the latest states as records, then the deletion of
// entries first..upto, oldest first.
func (j *journal) checkpoint(wb batchWriter, upto uint64) error {
	for id, state := range j.latest {
		var err error
		if state == nil {
			err = wb.Delete(issueKey(id))
		} else {
			err = wb.Set(issueKey(id), state)
		}
		if err != nil {
			return err
		}
	}
	for s := j.first; s <= upto; s++ {
		if err := wb.Delete(journalKey(s)); err != nil {
			return err
		}
	}
	return nil
}

// batchWriter is what the journal writes through: a txnBatch or a
// badger.WriteBatch.
type batchWriter interface {
	Set(key, value []byte) error
	Delete(key []byte) error
}

// closeJournal writes the latest states to the records and deletes every
// entry, so that a store closed cleanly has no journal to read.
func (db *DB) closeJournal() error {
	j := &db.journal
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.latest) == 0 && j.first > j.seq {
		return nil
	}
	wb := newTxnBatch(db.bdb)
	defer wb.Discard()
	if err := j.checkpoint(wb, j.seq); err != nil {
		return fmt.Errorf("storage: cannot write the issue journal's states: %w", err)
	}
	if err := wb.Commit(); err != nil {
		return fmt.Errorf("storage: cannot write the issue journal's states: %w", err)
	}
	clear(j.latest)
	j.pending.Store(0)
	j.first = j.seq + 1
	return nil
}

// states returns the issue ids with a state newer than their record,
// sorted, and those states (nil: deleted).
func (j *journal) states() ([]uint64, map[uint64][]byte) {
	j.mu.Lock()
	states := maps.Clone(j.latest)
	j.mu.Unlock()
	return slices.Sorted(maps.Keys(states)), states
}
