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

// txnBatch writes many entries in Badger transactions committed one after
// another in the calling goroutine, for the Sentry committer's hot path.
//
// A WriteBatch commits through Txn.CommitWith, which starts a goroutine to
// wait for the write. That goroutine takes the P's next-to-run slot and
// pushes Badger's write goroutine, just woken by the commit, to the back of
// the run queue, behind every request being decoded: a trace of a flood
// showed Badger's writer runnable but not running for 27 % of the time, 1.6
// ms per commit. Txn.Commit waits in the caller, so the writer runs next.
// As with a WriteBatch, a failure may leave any subset of the transactions
// written.
type txnBatch struct {
	bdb *badger.DB
	txn *badger.Txn
}

func newTxnBatch(bdb *badger.DB) *txnBatch {
	return &txnBatch{bdb: bdb, txn: bdb.NewTransaction(true)}
}

// SetEntry adds e, committing the transaction first when e does not fit.
// e must not change until Commit or Discard.
func (b *txnBatch) SetEntry(e *badger.Entry) error {
	return b.add(func(txn *badger.Txn) error { return txn.SetEntry(e) })
}

// Set adds key → value.
func (b *txnBatch) Set(key, value []byte) error { return b.SetEntry(badger.NewEntry(key, value)) }

// Delete adds a deletion of key.
func (b *txnBatch) Delete(key []byte) error {
	return b.add(func(txn *badger.Txn) error { return txn.Delete(key) })
}

// add runs op on the transaction, and again on a new one when it did not
// fit.
func (b *txnBatch) add(op func(*badger.Txn) error) error {
	err := op(b.txn)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		return err
	}
	if err := b.next(); err != nil {
		return err
	}
	return op(b.txn)
}

// next commits the full transaction and starts another.
func (b *txnBatch) next() error {
	err := b.txn.Commit()
	b.txn = b.bdb.NewTransaction(true)
	return err
}

// Commit commits what is left and returns once it is written.
func (b *txnBatch) Commit() error { return b.txn.Commit() }

// Discard drops what was not committed. It may be called after Commit.
func (b *txnBatch) Discard() { b.txn.Discard() }
