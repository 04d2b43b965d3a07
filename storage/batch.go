package storage

import (
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// pipeBatch writes many keys in several Badger transactions, like
// badger.WriteBatch, but lets the caller fill the next transaction while
// Badger writes the previous one.
//
// A WriteBatch starts its next transaction when it commits one, and a new
// Badger transaction waits until every committed one is in the LSM tree, so
// filling and writing alternate (measured: about half of the time of a flush
// of new series was spent in that wait). pipeBatch creates its transactions
// up front, sized from the expected number and size of entries: a
// transaction created before a commit does not wait for it. If the estimate
// is short, a new transaction is created as a WriteBatch would, and waits.
//
// The transactions only write, so their (earlier) read timestamp does not
// matter, and Badger's conflict detection is off (badgerOptions). As with a
// WriteBatch, a failure may leave any subset of the transactions written.
type pipeBatch struct {
	bdb   *badger.DB
	txns  []*badger.Txn
	cur   int
	count int // entries in txns[cur]
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error // first commit error
}

// newPipeBatch returns a pipeBatch for about entries entries of about bytes
// bytes of keys and values in all.
func newPipeBatch(bdb *badger.DB, entries, bytes int) *pipeBatch {
	// Badger's own estimate of an entry adds a few bytes of metadata; 3/4
	// of each limit leaves room for it and for a short estimate.
	n := max(entries/int(max(bdb.MaxBatchCount()*3/4, 1)), (bytes+16*entries)/int(max(bdb.MaxBatchSize()*3/4, 1))) + 1
	pb := &pipeBatch{bdb: bdb, txns: make([]*badger.Txn, n)}
	for i := range pb.txns {
		pb.txns[i] = bdb.NewTransaction(true)
	}
	return pb
}

// Set adds key → value. key and value must not change until Flush or
// Cancel.
func (pb *pipeBatch) Set(key, value []byte) error {
	for {
		if pb.cur == len(pb.txns) {
			pb.txns = append(pb.txns, pb.bdb.NewTransaction(true))
		}
		if pb.count == 0 {
			// Starting a transaction: stop at the first failed commit.
			pb.mu.Lock()
			err := pb.err
			pb.mu.Unlock()
			if err != nil {
				return err
			}
		}
		err := pb.txns[pb.cur].Set(key, value)
		if !errors.Is(err, badger.ErrTxnTooBig) || pb.count == 0 {
			if err == nil {
				pb.count++
			}
			return err
		}
		pb.commit()
	}
}

// commit commits txns[cur] in the background and moves to the next one.
func (pb *pipeBatch) commit() {
	pb.wg.Add(1)
	pb.txns[pb.cur].CommitWith(func(err error) {
		if err != nil {
			pb.mu.Lock()
			if pb.err == nil {
				pb.err = err
			}
			pb.mu.Unlock()
		}
		pb.wg.Done()
	})
	pb.cur++
	pb.count = 0
}

// Flush commits what is left and waits until every transaction is written.
// It returns the first error.
func (pb *pipeBatch) Flush() error {
	if pb.cur < len(pb.txns) && pb.count > 0 {
		pb.commit()
	}
	pb.Cancel()
	return pb.err
}

// Cancel discards what was not committed and waits for the transactions
// committed so far. It may be called after Flush.
func (pb *pipeBatch) Cancel() {
	for _, txn := range pb.txns[min(pb.cur, len(pb.txns)):] {
		txn.Discard()
	}
	pb.cur = len(pb.txns)
	pb.wg.Wait()
}
