package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/klauspost/compress/s2"
)

// Event bodies are compressed with a dictionary made of earlier events:
// events of one application repeat each other (SDK, contexts, frames,
// breadcrumbs), and S2 with a dictionary of them compressed the load
// generator's 6.5 KB events to 675 bytes instead of 2.6 KB, in the same
// time. The dictionary is the first dictSample bytes of event bodies
// compressed after the store has none, or after the current one is older
// than dictMaxAge, so that it follows what the applications send.
// A dictionary holds pieces of events, so it expires with the last event
// compressed with it: it serves for dictMaxAge only, and has the events'
// retention on top of that. An event names the dictionary it was
// compressed with.
const (
	// prefixEventDict keys the dictionaries: 0x10 id(8) → dictVersion,
	// created (Unix seconds, varint), s2.Dict.Bytes().
	prefixEventDict byte = 0x10
	dictVersion     byte = 1
	// dictSample is how much of the event bodies a dictionary is made of:
	// S2's largest dictionary.
	dictSample = s2.MaxDictSize
	// dictMaxAge is how long a dictionary serves before the next is made.
	dictMaxAge = 24 * time.Hour
)

// errNoDict reports an event compressed with a dictionary that is not
// stored.
var errNoDict = errors.New("no such dictionary")

// maxCachedDicts bounds the dictionaries kept in memory for reading (64 KiB
// each): one is made a day, and old events are read rarely.
const maxCachedDicts = 8

// dicts holds the event dictionaries: the newest, for compressing, and a
// few for reading, loaded when an event needs them; and the sample the
// next dictionary is made of.
type dicts struct {
	cur  atomic.Pointer[curDict]
	read func(id uint64) (*s2.Dict, time.Time, error) // from storage

	mu     sync.RWMutex
	cached map[uint64]*s2.Dict

	sampleMu sync.Mutex
	sample   []byte
	lastID   uint64
	// failed is when making a dictionary last failed, to wait a while
	// before trying again.
	failed time.Time
}

// curDict is the dictionary events are compressed with.
type curDict struct {
	id      uint64
	d       *s2.Dict
	created time.Time
}

func eventDictKey(id uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{prefixEventDict}, id)
}

// loadDicts finds the stored dictionaries and reads the newest, which
// becomes current. A dictionary that cannot be read is passed over with a
// warning (the events compressed with it read as corrupt): the store still
// opens.
func (db *DB) loadDicts() error {
	ds := db.dicts
	ds.cached = map[uint64]*s2.Dict{}
	ds.read = db.readDict
	var ids []uint64
	err := db.bdb.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixEventDict}
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if k := it.Item().Key(); len(k) == 9 {
				ids = append(ids, binary.BigEndian.Uint64(k[1:]))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := len(ids) - 1; i >= 0; i-- {
		ds.lastID = max(ds.lastID, ids[i])
		d, created, err := db.readDict(ids[i])
		if err != nil {
			db.log.Warn("cannot read an event dictionary; the events compressed with it cannot be read", "id", ids[i], "err", err)
			continue
		}
		ds.cached[ids[i]] = d
		ds.cur.Store(&curDict{id: ids[i], d: d, created: created})
		break
	}
	return nil
}

// readDict reads dictionary id from the store. Its callers hold the store
// open: Open, or a read of an event (acquire is not taken twice, which a
// waiting Close would deadlock).
func (db *DB) readDict(id uint64) (*s2.Dict, time.Time, error) {
	var d *s2.Dict
	var created time.Time
	err := db.bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(eventDictKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return fmt.Errorf("%w: %d", errNoDict, id)
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) < 2 || v[0] != dictVersion {
				return fmt.Errorf("%w: dictionary %d: version", ErrCorrupt, id)
			}
			t, n := binary.Varint(v[1:])
			if n <= 0 {
				return fmt.Errorf("%w: dictionary %d: time", ErrCorrupt, id)
			}
			// NewDict keeps its argument: give it a copy of Badger's.
			if d = s2.NewDict(append([]byte(nil), v[1+n:]...)); d == nil {
				return fmt.Errorf("%w: dictionary %d: not an S2 dictionary", ErrCorrupt, id)
			}
			created = time.Unix(t, 0)
			return nil
		})
	})
	return d, created, err
}

// dict returns dictionary id for reading, from memory or from the store.
func (ds *dicts) dict(id uint64) (*s2.Dict, error) {
	ds.mu.RLock()
	d, ok := ds.cached[id]
	ds.mu.RUnlock()
	if ok {
		return d, nil
	}
	d, _, err := ds.read(id)
	if err != nil {
		return nil, err
	}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if len(ds.cached) >= maxCachedDicts {
		cur := ds.cur.Load()
		for k := range ds.cached {
			if cur == nil || k != cur.id {
				delete(ds.cached, k)
				break
			}
		}
	}
	ds.cached[id] = d
	return d, nil
}

// compressor returns the dictionary to compress body with (nil: none
// yet), after adding body to the sample of the next one when one is due.
// The call that completes the sample makes the dictionary and stores it
// durably before any event uses it: once, taking a few milliseconds.
func (db *DB) compressor(body []byte) *curDict {
	ds := db.dicts
	cur := ds.cur.Load()
	if cur != nil && db.now().Sub(cur.created) < dictMaxAge {
		return cur
	}
	// A dictionary compresses events for dictMaxAge only, so that it can
	// expire with the last of them (storeDict); until the next is made,
	// events go without one.
	ds.sampleMu.Lock()
	defer ds.sampleMu.Unlock()
	if c := ds.cur.Load(); c != cur {
		return c // made meanwhile
	}
	if db.now().Sub(ds.failed) < time.Minute {
		return nil // failing lately
	}
	ds.sample = append(ds.sample, body[:min(len(body), dictSample-len(ds.sample))]...)
	if len(ds.sample) < dictSample {
		return nil
	}
	next, err := db.storeDict(ds.lastID+1, ds.sample)
	ds.sample = nil
	if err != nil {
		ds.failed = db.now()
		db.log.Warn("cannot store an event dictionary; events are compressed without it", "err", err)
		return nil
	}
	ds.lastID = next.id
	ds.mu.Lock()
	ds.cached[next.id] = next.d
	ds.mu.Unlock()
	ds.cur.Store(next)
	db.log.Info("new event dictionary", "id", next.id, "bytes", len(next.d.Bytes()))
	return next
}

// storeDict makes dictionary id of sample, which it keeps, and writes it
// (synced when the store syncs writes).
func (db *DB) storeDict(id uint64, sample []byte) (*curDict, error) {
	d := s2.MakeDict(sample, nil)
	if d == nil {
		return nil, errors.New("storage: no dictionary made of the sample")
	}
	now := db.now()
	v := append([]byte{dictVersion}, binary.AppendVarint(nil, now.Unix())...)
	v = append(v, d.Bytes()...)
	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	e := badger.NewEntry(eventDictKey(id), v)
	if db.cfg.EventRetention > 0 {
		// The events compressed with it are written within dictMaxAge of
		// now and expire EventRetention later: so does the dictionary,
		// which holds pieces of events and must not outlive them.
		e = e.WithTTL(dictMaxAge + db.cfg.EventRetention + time.Hour)
	}
	if err := db.bdb.Update(func(txn *badger.Txn) error { return txn.SetEntry(e) }); err != nil {
		return nil, fmt.Errorf("storage: cannot store event dictionary %d: %w", id, err)
	}
	return &curDict{id: id, d: d, created: now}, nil
}
