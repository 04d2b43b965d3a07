package storage

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pageOut asks the kernel to reclaim the resident pages of Badger's
// memory-mapped files: value-log files, tables and memtable logs. Badger
// maps them all and never unmaps them, so every page written or read stays
// in the process's RSS: 1 GB of file-backed RSS after 500 000 events,
// measured, most of it the value-log file being appended to (64 MiB). With
// SyncWrites the written pages are already on disk, so reclaiming them is
// cheap; a page written again (the tail of a log) is read back once.
// MADV_PAGEOUT (Linux 5.4) writes back dirty pages before reclaiming them;
// it never changes what a read returns, so a range Badger unmapped
// meanwhile (a file removed by GC or compaction) and reused for something
// else is at worst paged out too (anonymous memory without swap: nothing).
// Nothing is advised while the process's file-backed resident size
// (RssFile in /proc/self/status, which the kernel keeps as a counter) is
// below Config.PageOutAbove: the pages a reader uses again then stay in
// memory. (/proc/self/smaps tells each mapping's share, but walks every
// page table: 8 ms for a store of 270 tables, and more as it grows.)
// It returns the bytes of the mappings advised.
func (db *DB) pageOut() (int64, error) {
	if db.cfg.PageOutAbove > 0 {
		status, err := os.Open("/proc/self/status")
		if err != nil {
			return 0, err
		}
		rss, err := fileRSS(status)
		status.Close()
		if err != nil || rss < db.cfg.PageOutAbove {
			return 0, err
		}
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var advised int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.IndexByte(line, '/')
		if i < 0 {
			continue
		}
		path := line[i:]
		if filepath.Dir(path) != db.absDir {
			continue
		}
		switch filepath.Ext(path) {
		case ".vlog", ".sst", ".mem":
		default:
			continue
		}
		lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno == 0 {
			advised += int64(end - start)
		}
	}
	return advised, sc.Err()
}

// fileRSS returns the RssFile line of status (the format of
// /proc/self/status) in bytes.
func fileRSS(status io.Reader) (int64, error) {
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "RssFile:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("storage: RssFile %q: %w", rest, err)
		}
		return int64(kb) << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("storage: no RssFile in /proc/self/status")
}
