package storage_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/storage"
)

// issueStates reads every issue's state as "id=state" in id order.
func issueStates(t *testing.T, db *storage.DB) string {
	t.Helper()
	var out []string
	err := db.Issues(func(rec storage.IssueRecord) error {
		out = append(out, fmt.Sprintf("%d=%s", rec.ID, rec.Data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

func journalEntries(t *testing.T, db *storage.DB) int {
	t.Helper()
	n, err := storage.JournalEntriesForTest(db)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func issueRec(id uint64, state string) storage.IssueRecord {
	var h [16]byte
	binary.BigEndian.PutUint64(h[:], id)
	return storage.IssueRecord{ID: id, Project: 1, Hash: h, LastSeen: 1000, PrevLastSeen: 1000, Data: []byte(state)}
}

// TestIssueJournal checks that issue states written through the journal
// read back as the latest ones after a crash, a checkpoint, a checkpoint
// cut by a crash, a deletion and a clean close.
func TestIssueJournal(t *testing.T) {
	dir := t.TempDir()
	open := func() *storage.DB {
		t.Helper()
		db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		storage.SetJournalEveryForTest(db, time.Hour)
		return db
	}
	write := func(db *storage.DB, recs ...storage.IssueRecord) {
		t.Helper()
		if err := db.WriteEvents(nil, recs); err != nil {
			t.Fatal(err)
		}
	}
	check := func(db *storage.DB, states string, entries int) {
		t.Helper()
		if got := issueStates(t, db); got != states {
			t.Errorf("issues: %q, want %q", got, states)
		}
		// Each issue read by its id agrees with the scan.
		for id := uint64(1); id <= 5; id++ {
			data, ok, err := db.Issue(id)
			want, in := "", false
			for _, st := range strings.Fields(states) {
				if k, v, _ := strings.Cut(st, "="); k == fmt.Sprint(id) {
					want, in = v, true
				}
			}
			if err != nil || ok != in || string(data) != want {
				t.Errorf("Issue(%d) = %q, %v, %v; want %q, %v", id, data, ok, err, want, in)
			}
		}
		if got := journalEntries(t, db); got != entries {
			t.Errorf("%d journal entries, want %d", got, entries)
		}
	}

	db := open()
	write(db, issueRec(1, "a1"), issueRec(5, "e1"))
	write(db, issueRec(1, "a2"), issueRec(2, "b1"))
	check(db, "1=a2 2=b1 5=e1", 2)
	if err := storage.CrashCloseForTest(db); err != nil {
		t.Fatal(err)
	}

	db = open()
	check(db, "1=a2 2=b1 5=e1", 2)
	// A checkpoint cut after the records, before the deletions.
	if err := storage.WriteJournalStatesForTest(db); err != nil {
		t.Fatal(err)
	}
	if err := storage.CrashCloseForTest(db); err != nil {
		t.Fatal(err)
	}

	db = open()
	check(db, "1=a2 2=b1 5=e1", 2)
	write(db, issueRec(2, "b2"))
	check(db, "1=a2 2=b2 5=e1", 3)
	// The next write checkpoints: the states go to the records, and the
	// entries before its own are deleted.
	storage.SetJournalEveryForTest(db, 0)
	write(db, issueRec(3, "c1"), issueRec(1, "a3"))
	check(db, "1=a3 2=b2 3=c1 5=e1", 1)
	storage.SetJournalEveryForTest(db, time.Hour)
	// Deleted with a state in the journal, which must not bring it back.
	write(db, issueRec(2, "b3"))
	if err := db.DeleteIssue(issueRec(2, "")); err != nil {
		t.Fatal(err)
	}
	write(db, issueRec(5, "e2"))
	check(db, "1=a3 3=c1 5=e2", 4)
	if err := storage.CrashCloseForTest(db); err != nil {
		t.Fatal(err)
	}

	// The deletion holds against the older entries and the record.
	db = open()
	check(db, "1=a3 3=c1 5=e2", 4)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A clean close leaves the states in the records and no entry.
	db = open()
	check(db, "1=a3 3=c1 5=e2", 0)
	write(db, issueRec(4, "d1"))
	check(db, "1=a3 3=c1 4=d1 5=e2", 1)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// FuzzDecodeJournal feeds arbitrary values to the journal entry decoder: it
// must not panic, and what it accepts must encode back to the same value.
func FuzzDecodeJournal(f *testing.F) {
	f.Add([]byte{1})
	f.Add([]byte{1, 7, 2, 'a', 'b', 9, 0})
	f.Add([]byte{1, 7, 200, 'a'})
	f.Add([]byte{2, 1, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		enc := []byte{1}
		err := storage.DecodeJournalForTest(v, func(id uint64, state []byte) {
			enc = binary.AppendUvarint(enc, id)
			enc = binary.AppendUvarint(enc, uint64(len(state)))
			enc = append(enc, state...)
		})
		if err != nil {
			return
		}
		// Uvarints have more than one encoding; compare decoded forms.
		var a, b []string
		collect := func(out *[]string) func(uint64, []byte) {
			return func(id uint64, s []byte) { *out = append(*out, fmt.Sprintf("%d:%x", id, s)) }
		}
		_ = storage.DecodeJournalForTest(v, collect(&a))
		if err := storage.DecodeJournalForTest(enc, collect(&b)); err != nil {
			t.Fatalf("re-encoded entry refused: %v", err)
		}
		if !bytes.Equal([]byte(strings.Join(a, ",")), []byte(strings.Join(b, ","))) {
			t.Fatalf("round trip: %v, then %v", a, b)
		}
	})
}
