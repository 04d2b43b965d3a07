package storage

import (
	"errors"
	"fmt"
	"time"
)

const (
	// numMemtables is how many memtables Badger keeps: one being written and
	// one being flushed to level 0. Badger's default of 5 multiplies the
	// memtable budget by 5 for no gain on a small machine; 2 is the minimum
	// that lets writes continue while a flush runs.
	numMemtables = 2
	// maxValueThreshold is Badger's own upper bound for ValueThreshold.
	maxValueThreshold = 1 << 20
	// minValueLogFileSize and maxValueLogFileSize are the bounds Badger
	// accepts for ValueLogFileSize: [1 MiB, 2 GiB).
	minValueLogFileSize = 1 << 20
	maxValueLogFileSize = 2 << 30
	// minMemTableSize keeps the memtable big enough for Badger's batches
	// (a batch may hold at most 15% of a memtable) to take a few KiB values.
	minMemTableSize = 1 << 20
)

// ErrInvalidConfig is returned by Config.Validate and Open for a Config that
// cannot be used; the wrapped message says which field is wrong.
var ErrInvalidConfig = errors.New("storage: invalid config")

// Config holds the settings of a DB. Every size is explicit: Badger's
// defaults are not memory-bounded under a write flood (about 8 GB of RSS was
// measured here), so Open sets each of Badger's memory options from these
// fields instead of relying on them. The zero value is not usable; start from
// DefaultConfig.
type Config struct {
	// Dir is the directory holding the Badger files (keys and values). It is
	// created if missing.
	Dir string
	// MemTableSize is the size of one memtable in bytes. Badger keeps two
	// (one written, one flushing), each backed by a write-ahead file mapped
	// at twice this size, so memtables cost about 2×MemTableSize of heap.
	MemTableSize int64
	// BlockCacheSize is the size in bytes of Badger's cache of SST blocks.
	// Tables are written uncompressed (badgerOptions), so a block is read
	// in place from the mapped file and needs no cache: zero, the default,
	// has none. A cache only saves decompressing the blocks of tables an
	// older Telltale wrote with Snappy, until compaction rewrites them.
	BlockCacheSize int64
	// IndexCacheSize is the size in bytes of the cache of SST indexes and
	// bloom filters. It must be positive: with 0, Badger keeps every table's
	// index in memory, which grows with the amount of data stored.
	IndexCacheSize int64
	// ValueLogFileSize is the size in bytes of one value-log file, in
	// [1 MiB, 2 GiB). The file being written is memory-mapped at twice this
	// size, and value-log GC rewrites one file at a time, so smaller files
	// mean less mapped memory and finer-grained GC.
	ValueLogFileSize int64
	// ValueThreshold is the value size in bytes from which values go to the
	// value log instead of the LSM tree. At most 1 MiB and at most 15% of
	// MemTableSize (Badger's batch limit).
	ValueThreshold int64
	// GCInterval is how often value-log GC runs. Zero disables the GC loop.
	GCInterval time.Duration
	// PageOutInterval is how often the resident pages of Badger's mapped
	// files are handed back to the kernel (Linux only; see DB.pageOut).
	// Zero disables it.
	PageOutInterval time.Duration
	// PageOutAbove is the process's file-backed resident size in bytes
	// (RssFile: Badger's mapped files and the binary's own pages) below
	// which pageOut leaves Badger's files alone: the pages a reader uses
	// again then stay in memory. Tables are not compressed and have no
	// block cache, so a table block paged out is read from disk at its
	// next use. Zero pages out at every interval.
	PageOutAbove int64
	// SyncWrites makes every write fsync before it returns. Without it a
	// write survives a process crash (kill -9) but not a power loss.
	SyncWrites bool
	// Retention is how long samples are kept; zero keeps them forever.
	// Chunk and flush records get it as their Badger TTL (counted from
	// when they are written), and reads skip samples older than now minus
	// Retention.
	Retention time.Duration
	// MaxNewSeriesPerFlush bounds how many series one flush (the
	// AppendSamples calls with one time) may create; zero or less means no
	// bound. A new series costs about 15 µs of index writes, so a burst of
	// a million new statsd series would otherwise hold one flush for many
	// seconds of CPU. Samples of the series past the bound are not stored
	// in that flush (counted in
	// telltale_storage_history_samples_deferred_total); the aggregator
	// sends them again at the next flush, which creates the next batch.
	MaxNewSeriesPerFlush int
	// EventRetention is how long error events are kept (their Badger TTL);
	// zero keeps them forever. Issues are kept until deleted.
	EventRetention time.Duration
}

// DefaultConfig returns a Config for dir sized for a small machine: about
// 32 MiB of memtables, 32 MiB of block cache and 16 MiB of index cache, so
// Badger's own memory stays near 100 MiB under any write rate.
func DefaultConfig(dir string) Config {
	return Config{
		Dir: dir,
		// 8 MiB × 2 memtables: big enough that a flush writes a
		// reasonably sized L0 table (fewer compactions), small enough to
		// keep the idle-RSS target (< 50 MB of heap in use at rest once
		// flushed) in reach. Badger's default is 64 MiB × 5. Since events
		// went to the value log as 1 KiB values, a memtable holds some
		// 40 000 of them, and 8 MiB took 15-20 MB off the largest RSS of a
		// flood against 16 MiB, at the same events/s.
		MemTableSize: 8 << 20,
		// No block cache: blocks are not compressed (badgerOptions), and the
		// mapped files are the cache. It was 32 MiB of decompressed blocks;
		// Badger's default is 256 MiB.
		BlockCacheSize: 0,
		// 16 MiB of table indexes and bloom filters covers several GiB of
		// SSTs before it starts evicting. Badger's default (0) keeps them
		// all on the heap without bound.
		IndexCacheSize: 16 << 20,
		// 64 MiB value-log files: 128 MiB mapped for the active file instead
		// of 2 GiB with Badger's 1 GiB default, and GC reclaims space in
		// 64 MiB steps.
		ValueLogFileSize: 64 << 20,
		// 1 KiB: series records and points stay in the LSM tree (one read),
		// larger bodies (events, planned) go to the value log so that
		// compactions do not rewrite them.
		ValueThreshold: 1 << 10,
		// GC every 5 minutes is cheap when there is nothing to collect (it
		// samples one file) and keeps disk use near the live data.
		GCInterval: 5 * time.Minute,
		// Every second: RSS then holds what Badger wrote or read in the
		// last second, not every page written since start. A Sentry flood
		// writes 15 MB/s of value log: at 5 s the mapped pages peaked at
		// 90 MB of RSS, at 1 s they stay under 30 MB.
		PageOutInterval: time.Second,
		// 32 MiB: an idle server holds about 19 MB of file-backed pages
		// (its binary and the tables and value-log pages it reads), the
		// issue API reads a few more again (an issue's event list is a few
		// table blocks and a page of value log per event), while a flood,
		// which touches tens of MB a second, is paged out every second.
		// Paged out always, with the tables' block cache gone, the issue
		// events request's p99 went from 51 to 72-82 ms (make
		// bench-issues); with this floor it is 50 ms, and a 150 s flood's
		// largest RSS sample 158 MB (139 MB paging out always).
		PageOutAbove: 32 << 20,
		// Off by default: a flush survives kill -9 without it (DESIGN.md §5);
		// fsync per write would cap throughput on slow disks.
		SyncWrites: false,
		// 50 000 new series cost about 0.75 s of one core: a flush every
		// 10 s keeps creating series at 5 000/s while statsd ingest keeps
		// the rest of the machine.
		MaxNewSeriesPerFlush: 50_000,
	}
}

// Validate reports whether c can be used by Open. Its errors wrap
// ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return fmt.Errorf("%w: Dir is empty", ErrInvalidConfig)
	case c.MemTableSize < minMemTableSize:
		return fmt.Errorf("%w: MemTableSize %d is below %d", ErrInvalidConfig, c.MemTableSize, minMemTableSize)
	case c.BlockCacheSize < 0:
		return fmt.Errorf("%w: BlockCacheSize %d is negative", ErrInvalidConfig, c.BlockCacheSize)
	case c.IndexCacheSize <= 0:
		return fmt.Errorf("%w: IndexCacheSize %d must be positive (0 keeps every index in memory)", ErrInvalidConfig, c.IndexCacheSize)
	case c.ValueLogFileSize < minValueLogFileSize || c.ValueLogFileSize >= maxValueLogFileSize:
		return fmt.Errorf("%w: ValueLogFileSize %d is outside [1 MiB, 2 GiB)", ErrInvalidConfig, c.ValueLogFileSize)
	case c.ValueThreshold <= 0 || c.ValueThreshold > maxValueThreshold:
		return fmt.Errorf("%w: ValueThreshold %d is outside (0, 1 MiB]", ErrInvalidConfig, c.ValueThreshold)
	case c.ValueThreshold > c.MemTableSize*15/100:
		return fmt.Errorf("%w: ValueThreshold %d exceeds 15%% of MemTableSize %d", ErrInvalidConfig, c.ValueThreshold, c.MemTableSize)
	case c.PageOutAbove < 0:
		return fmt.Errorf("%w: PageOutAbove %d is negative", ErrInvalidConfig, c.PageOutAbove)
	case c.GCInterval < 0:
		return fmt.Errorf("%w: GCInterval %v is negative", ErrInvalidConfig, c.GCInterval)
	case c.EventRetention < 0:
		return fmt.Errorf("%w: EventRetention %v is negative", ErrInvalidConfig, c.EventRetention)
	case c.Retention < 0:
		return fmt.Errorf("%w: Retention %v is negative", ErrInvalidConfig, c.Retention)
	}
	return nil
}
