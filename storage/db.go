package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by the methods of a DB after Close.
var ErrClosed = errors.New("storage: closed")

// ErrCorrupt is returned when a stored record cannot be decoded.
var ErrCorrupt = errors.New("storage: corrupt record")

// ErrLocked is returned by Open when another DB, in this process or
// another, has the directory open.
var ErrLocked = errors.New("storage: directory in use by another process or DB")

// ErrFormat is returned by Open for a store written in another format
// version than this build's (FORMAT.md): its data is not read nor changed.
var ErrFormat = errors.New("storage: unsupported store format")

// ErrNotFound is returned for a series id that does not exist.
var ErrNotFound = errors.New("storage: not found")

// seqBandwidth is how many series ids a Badger sequence leases per write.
// A crash loses at most this many unused ids (a gap, never a reuse).
const seqBandwidth = 1000

// DB is an open Telltale store. All methods are goroutine-safe.
type DB struct {
	cfg Config
	log *slog.Logger
	bdb *badger.DB
	seq *badger.Sequence
	// issueSeq hands out issue ids.
	issueSeq *badger.Sequence
	// codec compresses event bodies, with the dictionaries in dicts.
	codec *codec
	dicts *dicts
	// journal holds the issue states written since the last checkpoint
	// (journal.go).
	journal journal
	// firstNewID is the first series id leased by this process.
	firstNewID uint64
	// mayHaveStored reports whether Badger may hold series that are not in
	// the series cache: true if the store had series at Open, or after a
	// failed write. While it is false (a fresh store) a series missing from
	// the cache is new, and creating it reads nothing from Badger.
	// Guarded by mu.
	mayHaveStored bool

	// hash hashes a label set for the series cache and the hash records.
	// Tests replace it to force collisions.
	hash func(Labels) uint64

	// life guards closed: methods hold it for reading while they use bdb,
	// Close takes it for writing, so Close waits for them to finish.
	life   sync.RWMutex
	closed bool

	// mu guards series, collisions and knownValues, and serialises series
	// creation.
	mu sync.RWMutex
	// series caches every series seen since Open by label hash: one entry
	// per hash, its labels stored once in their 0x01 encoding (about 100
	// bytes a series instead of a Labels slice and a string per name and
	// value).
	series map[uint64]cachedSeries
	// collisions holds the further series of a hash already in series
	// (a 64-bit hash collision: almost always empty).
	collisions map[uint64][]cachedSeries
	// knownValues holds the 0x04 label-value keys written or found since
	// Open, so that a series with a pair seen before skips that record.
	// It is cleared when it reaches maxKnownValues, which bounds its
	// memory whatever the number of distinct values.
	knownValues map[string]struct{}
	// knownLimit is the size at which knownValues is cleared:
	// maxKnownValues, or less in tests.
	knownLimit int

	// budgetT is the flush time whose new series newLeft counts down:
	// how many more series AppendSamples at budgetT may create (see
	// Config.MaxNewSeriesPerFlush). Guarded by mu.
	budgetT int64
	newLeft int
	// deferred counts samples not stored because their flush had created
	// its share of new series.
	deferred prometheus.Counter

	// now is the clock of the read-time retention cut; tests replace it.
	now func() time.Time

	// hmu guards the sample heads and the fields below, and serialises
	// AppendSamples. It is never held while mu is taken.
	hmu sync.Mutex
	// heads holds the in-memory chunk of each series with samples since
	// Open (or in the replayed flush records).
	heads map[uint64]*head
	// flushSeq is the sequence number of the next flush record.
	flushSeq uint32
	// newestT is the newest flush time appended or replayed.
	newestT int64
	// lastTruncate is newestT at the last truncation of flush records.
	lastTruncate int64
	// cutSince reports whether a chunk was cut since that truncation.
	cutSince bool

	reg        prometheus.Registerer
	collectors []prometheus.Collector
	gcRuns     *prometheus.CounterVec

	stopGC chan struct{}
	gcDone chan struct{}

	// absDir is cfg.Dir made absolute, as /proc/self/maps names files.
	absDir     string
	pagedOut   prometheus.Counter
	pageOutOff chan struct{} // closed by Close to stop pageOutLoop
	pageOutEnd chan struct{} // closed when pageOutLoop returns
}

// cachedSeries is one entry of the series cache.
type cachedSeries struct {
	id uint64
	// labels is the series' labels encoded by appendLabels.
	labels string
}

// Open opens (or creates) the store in cfg.Dir. It registers the store's
// self-metrics on reg (nil means none) and logs to log (nil means discard).
// Before opening it removes zero-byte memtable and value-log files left by a
// crash (see removeEmptyFiles). The caller must Close the DB.
func Open(cfg Config, reg prometheus.Registerer, log *slog.Logger) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: cannot create %q: %w", cfg.Dir, err)
	}
	absDir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if d, err := filepath.EvalSymlinks(absDir); err == nil {
		absDir = d // /proc/self/maps names files by their real path
	}
	if err := withDirLock(cfg.Dir, func() error { return removeEmptyFiles(cfg.Dir, log) }); err != nil {
		return nil, err
	}
	bdb, err := badger.Open(badgerOptions(cfg, log))
	if err != nil {
		return nil, fmt.Errorf("storage: cannot open badger in %q: %w", cfg.Dir, err)
	}
	hadSeries, err := checkFormat(bdb)
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("storage: %q: %w", cfg.Dir, err)
	}
	seq, err := bdb.GetSequence(seriesSeqKey, seqBandwidth)
	if err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("storage: cannot get the series sequence: %w", err)
	}
	// Every id from here on is new in this process, so its series has no
	// stored chunks: AppendSamples need not look for them. (This id itself
	// is never handed out; ids may have gaps.)
	firstNewID, err := seq.Next()
	if err != nil {
		_ = seq.Release()
		_ = bdb.Close()
		return nil, fmt.Errorf("storage: cannot read the series sequence: %w", err)
	}
	issueSeq, err := bdb.GetSequence(issueSeqKey, 100)
	if err != nil {
		_ = seq.Release()
		_ = bdb.Close()
		return nil, fmt.Errorf("storage: cannot get the issue sequence: %w", err)
	}
	var ds dicts
	codec, err := newCodec(&ds)
	if err != nil {
		_ = issueSeq.Release()
		_ = seq.Release()
		_ = bdb.Close()
		return nil, err
	}
	db := &DB{
		absDir:        absDir,
		issueSeq:      issueSeq,
		codec:         codec,
		dicts:         &ds,
		cfg:           cfg,
		log:           log,
		bdb:           bdb,
		seq:           seq,
		firstNewID:    firstNewID,
		mayHaveStored: hadSeries,
		hash:          hashLabels,
		series:        make(map[uint64]cachedSeries),
		collisions:    make(map[uint64][]cachedSeries),
		knownValues:   make(map[string]struct{}),
		knownLimit:    maxKnownValues,
		now:           time.Now,
		heads:         make(map[uint64]*head),
		reg:           reg,
		stopGC:        make(chan struct{}),
		gcDone:        make(chan struct{}),
		pageOutOff:    make(chan struct{}),
		pageOutEnd:    make(chan struct{}),
	}
	undo := func() {
		codec.close()
		_ = issueSeq.Release()
		_ = seq.Release()
		_ = bdb.Close()
	}
	if err := db.loadDicts(); err != nil {
		undo()
		return nil, fmt.Errorf("storage: cannot read the event dictionaries: %w", err)
	}
	if err := db.loadJournal(); err != nil {
		undo()
		return nil, err
	}
	if err := db.replay(); err != nil {
		undo()
		return nil, err
	}
	if err := db.registerMetrics(); err != nil {
		undo()
		return nil, err
	}
	if cfg.GCInterval > 0 {
		go db.gcLoop(cfg.GCInterval)
	} else {
		close(db.gcDone)
	}
	if cfg.PageOutInterval > 0 {
		go db.pageOutLoop(cfg.PageOutInterval)
	} else {
		close(db.pageOutEnd)
	}
	return db, nil
}

// checkFormat checks the format version of the store (FORMAT.md) and
// writes it into a fresh store. A store with keys but no version is version
// 1, written before the version key. It reports whether the store holds
// series.
func checkFormat(bdb *badger.DB) (hasSeries bool, err error) {
	version := uint64(0) // fresh
	err = bdb.View(func(txn *badger.Txn) error {
		item, err := txn.Get(formatKey)
		switch {
		case err == nil:
			return item.Value(func(v []byte) error {
				var k int
				if version, k = binary.Uvarint(v); k != len(v) || k == 0 {
					return fmt.Errorf("%w: format version of %d bytes", ErrCorrupt, len(v))
				}
				return nil
			})
		case !errors.Is(err, badger.ErrKeyNotFound):
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		if it.Rewind(); it.Valid() {
			version = 1
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("cannot read the format version: %w", err)
	}
	switch version {
	case formatVersion:
	case 0:
		err := bdb.Update(func(txn *badger.Txn) error {
			return txn.Set(formatKey, binary.AppendUvarint(nil, formatVersion))
		})
		if err != nil {
			return false, fmt.Errorf("cannot write the format version: %w", err)
		}
		return false, nil
	default:
		return false, fmt.Errorf("%w: the store has format version %d, this build reads version %d only (no migration: remove the directory to start afresh)", ErrFormat, version, formatVersion)
	}
	err = bdb.View(func(txn *badger.Txn) error {
		prefix := []byte{prefixSeries}
		it := keyIterator(txn, prefix)
		defer it.Close()
		it.Seek(prefix)
		hasSeries = it.ValidForPrefix(prefix)
		return nil
	})
	return hasSeries, err
}

// badgerOptions sets every Badger option that bounds memory, so that none
// comes from Badger's defaults (which grow to gigabytes under a write
// flood). Each value is explained where it is set or on Config.
func badgerOptions(cfg Config, log *slog.Logger) badger.Options {
	o := badger.DefaultOptions(cfg.Dir).
		WithLogger(badgerLogger{log: log}).
		WithSyncWrites(cfg.SyncWrites).
		WithMemTableSize(cfg.MemTableSize).
		WithNumMemtables(numMemtables).
		// Level 0 holds at most 2 tables (one memtable each) before
		// compaction, and writes stall at 4: a flood is slowed down instead
		// of piling up tables whose indexes and bloom filters take memory.
		// Badger's defaults are 5 and 15.
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		// Two compactors, the minimum Badger accepts: this machine has 2
		// cores, and each compactor holds tables being built in memory.
		WithNumCompactors(2).
		// 512 KiB tables at every level below L0 (TableSizeMultiplier 1,
		// below), not Badger's 2 MiB doubling per level: a compaction
		// builds up to a dozen tables at once, each in a buffer of twice
		// its size, and Badger's allocator pool keeps eight such buffers
		// (it frees one only after 2 s without a table built, never in a
		// flood). With 2 MiB, 4 MiB, 8 MiB … tables those buffers held
		// 60 MB of heap 105 s into a flood, and the flood's RSS passed
		// 200 MB after 70 s (231 MB at 150 s; make bench-sentry-soak).
		// With these tables, uncompressed, it stayed under 160 MB.
		WithBaseTableSize(512 << 10).
		WithBlockCacheSize(cfg.BlockCacheSize).
		WithIndexCacheSize(cfg.IndexCacheSize).
		WithValueLogFileSize(cfg.ValueLogFileSize).
		WithValueThreshold(cfg.ValueThreshold).
		// Tables are not compressed: a compressed table is built in twice
		// the memory (each block and its compressed copy, in a buffer that
		// doubles when full), and every read of a block decompresses it
		// into the block cache. Keys are already prefix-encoded within a
		// block, and most bytes are in the value log. Tables an older
		// Telltale wrote with Snappy stay readable (their compression is in
		// the manifest) until compaction rewrites them.
		WithCompression(tableCompression).
		// The DB serialises its own writes (DB.mu), so Badger's conflict
		// detection would only keep read-key fingerprints in memory.
		WithDetectConflicts(false).
		// Badger's expvar metrics feed db.Size(), which the size gauges read.
		WithMetricsEnabled(true).
		WithNumVersionsToKeep(1)
	o.TableSizeMultiplier = 1
	return o
}

// tableCompression is the compression of new tables; tests set Snappy to
// write tables as Telltale did before.
var tableCompression = options.None

// Close stops value-log GC, waits for running methods, unregisters the
// self-metrics, deletes the flush records whose samples are all in chunks
// and closes Badger (the heads are not written: the next Open replays their
// flush records). It is idempotent: a second Close returns
// nil. After Close every method returns ErrClosed.
func (db *DB) Close() error {
	db.life.Lock()
	if db.closed {
		db.life.Unlock()
		return nil
	}
	db.closed = true
	db.life.Unlock()

	close(db.stopGC)
	<-db.gcDone
	close(db.pageOutOff)
	<-db.pageOutEnd
	if db.reg != nil {
		for _, c := range db.collectors {
			db.reg.Unregister(c)
		}
	}
	var errs []error
	if err := db.closeJournal(); err != nil {
		errs = append(errs, err)
	}
	db.hmu.Lock()
	if err := db.truncate(); err != nil {
		errs = append(errs, err)
	}
	db.hmu.Unlock()
	if err := db.seq.Release(); err != nil {
		errs = append(errs, fmt.Errorf("storage: cannot release the series sequence: %w", err))
	}
	if err := db.issueSeq.Release(); err != nil {
		errs = append(errs, fmt.Errorf("storage: cannot release the issue sequence: %w", err))
	}
	db.codec.close()
	if err := db.bdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: cannot close badger: %w", err))
	}
	return errors.Join(errs...)
}

// acquire marks a method as running; it fails with ErrClosed after Close.
// Each successful acquire must be paired with release.
func (db *DB) acquire() error {
	db.life.RLock()
	if db.closed {
		db.life.RUnlock()
		return ErrClosed
	}
	return nil
}

// release ends what acquire began.
func (db *DB) release() { db.life.RUnlock() }

// gcLoop runs value-log GC every interval until Close.
func (db *DB) gcLoop(interval time.Duration) {
	defer close(db.gcDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.stopGC:
			return
		case <-t.C:
			db.runGC()
		}
	}
}

// pageOutLoop runs pageOut every interval until Close.
func (db *DB) pageOutLoop(interval time.Duration) {
	defer close(db.pageOutEnd)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-db.pageOutOff:
			return
		case <-t.C:
			n, err := db.pageOut()
			if err != nil {
				db.log.Debug("cannot page out badger's mapped files", "err", err)
			}
			db.pagedOut.Add(float64(n))
		}
	}
}

// runGC calls RunValueLogGC(0.5) until it has nothing more to rewrite: 0.5
// rewrites a value-log file once at least half of it is garbage, Badger's
// recommended ratio.
func (db *DB) runGC() {
	for {
		select {
		case <-db.stopGC:
			return
		default:
		}
		start := time.Now()
		err := db.bdb.RunValueLogGC(0.5)
		switch {
		case err == nil:
			db.gcRuns.WithLabelValues("rewritten").Inc()
			db.log.Debug("value log gc rewrote a file", "duration", time.Since(start))
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			db.gcRuns.WithLabelValues("nothing").Inc()
		default:
			db.gcRuns.WithLabelValues("error").Inc()
			db.log.Error("value log gc failed", "err", err)
		}
		return
	}
}

// registerMetrics creates the self-metrics and registers them on db.reg.
func (db *DB) registerMetrics() error {
	db.gcRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "telltale_storage_gc_runs_total",
		Help: "Value-log GC passes by result: rewritten (a file was rewritten), nothing (nothing to collect), error.",
	}, []string{"result"})
	for _, r := range []string{"rewritten", "nothing", "error"} {
		db.gcRuns.WithLabelValues(r)
	}
	lsm := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_storage_lsm_size_bytes",
		Help: "Size of the LSM tree (SST files) on disk, as last computed by Badger (at open, then every minute).",
	}, func() float64 { l, _ := db.bdb.Size(); return float64(l) })
	vlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_storage_vlog_size_bytes",
		Help: "Size of the value log on disk, as last computed by Badger (at open, then every minute).",
	}, func() float64 { _, v := db.bdb.Size(); return float64(v) })
	db.pagedOut = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_storage_paged_out_bytes_total",
		Help: "Bytes of Badger's mapped files (value log, tables, memtable logs) whose pages were handed back to the kernel (MADV_PAGEOUT).",
	})
	db.deferred = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "telltale_storage_history_samples_deferred_total",
		Help: "Samples of new series not stored in their flush because it had created max_new_series_per_flush series; a later flush stores them.",
	})
	budget := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "telltale_storage_memory_budget_bytes",
		Help: "Configured memory budget of Badger by part: memtables (size × count), block_cache, index_cache.",
	}, []string{"part"})
	budget.WithLabelValues("memtables").Set(float64(db.cfg.MemTableSize * numMemtables))
	budget.WithLabelValues("block_cache").Set(float64(db.cfg.BlockCacheSize))
	budget.WithLabelValues("index_cache").Set(float64(db.cfg.IndexCacheSize))

	if db.reg == nil {
		return nil
	}
	journal := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "telltale_storage_issue_journal_issues",
		Help: "Issues whose latest state is in the issue journal and not yet in their own record (written at most a second later).",
	}, func() float64 { return float64(db.journal.pending.Load()) })
	for _, c := range []prometheus.Collector{db.gcRuns, db.deferred, db.pagedOut, lsm, vlog, budget, journal} {
		if err := db.reg.Register(c); err != nil {
			for _, done := range db.collectors {
				db.reg.Unregister(done)
			}
			db.collectors = nil
			return fmt.Errorf("storage: cannot register metrics: %w", err)
		}
		db.collectors = append(db.collectors, c)
	}
	return nil
}

// removeEmptyFiles removes the zero-byte memtable (NNNNN.mem) and value-log
// (NNNNNN.vlog) files in dir, logging each removal at Warn.
//
// Badger v4.9.6 refuses to open a directory holding one ("while opening
// memtables: ... Create a new file", dgraph-io/badger#2207, fix not
// released): a crash between creating such a file and sizing it leaves it
// empty, and on open Badger's z.OpenMmapFile sizes an empty file and
// reports z.NewFile, which openMemTables and valueLog.open treat as an
// error. Removing it is safe because a zero-byte file holds nothing, not
// even the 20-byte header every memtable WAL and value-log file starts
// with:
//   - a .mem file is a memtable's write-ahead log; Badger only uses its
//     number to pick the next one, and skips memtables that replay empty;
//   - a .vlog file is sized (truncated to twice ValueLogFileSize) before any
//     value is written to it, and a value pointer reaches the LSM tree only
//     after its value was written, so no key can point into a file that is
//     still empty.
//
// Nothing else is touched: a non-empty file, even a torn one, is Badger's
// to recover.
func removeEmptyFiles(dir string, log *slog.Logger) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: cannot list %q: %w", dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if ext != ".mem" && ext != ".vlog" || !e.Type().IsRegular() {
			continue
		}
		if _, err := strconv.ParseUint(strings.TrimSuffix(name, ext), 10, 32); err != nil {
			continue // not a name Badger writes
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("storage: cannot stat %q: %w", name, err)
		}
		if info.Size() != 0 {
			continue
		}
		path := filepath.Join(dir, name)
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("storage: cannot remove empty %q: %w", path, err)
		}
		log.Warn("removed a zero-byte badger file left by a crash (dgraph-io/badger#2207)", "file", path)
	}
	return nil
}

// badgerLogger adapts a *slog.Logger to badger.Logger: Errorf → Error,
// Warningf → Warn, Infof and Debugf → Debug (Badger's Info level is chatty
// about compactions).
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) logf(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !l.log.Enabled(ctx, level) {
		return
	}
	l.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)), "component", "badger")
}

// Errorf logs at Error.
func (l badgerLogger) Errorf(format string, args ...any) { l.logf(slog.LevelError, format, args) }

// Warningf logs at Warn.
func (l badgerLogger) Warningf(format string, args ...any) { l.logf(slog.LevelWarn, format, args) }

// Infof logs at Debug.
func (l badgerLogger) Infof(format string, args ...any) { l.logf(slog.LevelDebug, format, args) }

// Debugf logs at Debug.
func (l badgerLogger) Debugf(format string, args ...any) { l.logf(slog.LevelDebug, format, args) }
