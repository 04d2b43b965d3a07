package storage

import (
	"bufio"
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
// Nothing is advised while the mappings' resident pages (Rss in
// /proc/self/smaps) total less than Config.PageOutAbove.
// It returns the bytes of the mappings advised.
func (db *DB) pageOut() (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	maps, resident, err := db.mappedFiles(f)
	if err != nil || resident < db.cfg.PageOutAbove {
		return 0, err
	}
	var advised int64
	for _, m := range maps {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.start), uintptr(m.end-m.start), unix.MADV_PAGEOUT); errno == 0 {
			advised += int64(m.end - m.start)
		}
	}
	return advised, nil
}

// mapping is an address range of a mapped file.
type mapping struct{ start, end uint64 }

// mappedFiles reads smaps (the format of /proc/self/smaps) and returns the
// mappings of Badger's files in db's directory (value logs, tables and
// memtable logs) and the bytes of them resident.
func (db *DB) mappedFiles(smaps io.Reader) (maps []mapping, resident int64, err error) {
	sc := bufio.NewScanner(smaps)
	ours := false
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "Rss:"); ok {
			if ours {
				kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 32)
				if err == nil {
					resident += int64(kb) << 10
				}
			}
			continue
		}
		// Other lines are "Key: value"; a mapping's first line is
		// "start-end perms offset dev inode [path]".
		rng, _, _ := strings.Cut(line, " ")
		if rng == "" || strings.HasSuffix(rng, ":") {
			continue
		}
		ours = false
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
		lo, hi, _ := strings.Cut(rng, "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		ours = true
		maps = append(maps, mapping{start, end})
	}
	return maps, resident, sc.Err()
}
