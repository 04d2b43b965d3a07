package storage

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pageOut asks the kernel to reclaim the resident pages of Badger's
// memory-mapped files that are no longer written: every value-log file but
// the newest (the one being appended to) and every table. Badger maps them
// all and never unmaps them, so every page written or read stays in the
// process's RSS: 1 GB of file-backed RSS after 500 000 events, measured.
// MADV_PAGEOUT (Linux 5.4) reclaims clean pages and writes back dirty ones
// first; it never changes what a read returns, so a range Badger unmapped
// meanwhile (a file removed by GC or compaction) and reused for something
// else is at worst paged out too (anonymous memory without swap: nothing).
// It returns the bytes of the mappings advised.
func (db *DB) pageOut() (int64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	type mapping struct {
		start, end uintptr
		vlog       int // file number of a .vlog, -1 for a table
	}
	var ms []mapping
	newest := -1
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
		name := filepath.Base(path)
		m := mapping{vlog: -1}
		switch {
		case strings.HasSuffix(name, ".vlog"):
			n, err := strconv.Atoi(strings.TrimSuffix(name, ".vlog"))
			if err != nil {
				continue
			}
			m.vlog, newest = n, max(newest, n)
		case strings.HasSuffix(name, ".sst"):
		default:
			continue
		}
		lo, hi, ok := strings.Cut(strings.Fields(line)[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if !ok || err1 != nil || err2 != nil || end <= start {
			continue
		}
		m.start, m.end = uintptr(start), uintptr(end)
		ms = append(ms, m)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	var advised int64
	for _, m := range ms {
		if m.vlog >= 0 && m.vlog == newest {
			continue
		}
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_PAGEOUT); errno == 0 {
			advised += int64(m.end - m.start)
		}
	}
	return advised, nil
}
