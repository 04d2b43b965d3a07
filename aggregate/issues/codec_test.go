package issues

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// stateOf returns is without the parts stored apart (user sketch, tag
// counts) and the in-memory bookkeeping, for comparison.
func stateOf(is *Issue) Issue {
	c := *is
	c.users, c.usersDirty = nil, false
	c.Tags, c.tags, c.changedTags, c.allTagsDirty, c.staticDirty = nil, nil, nil, false, false
	c.textDirty, c.textUnstored, c.textSaved, c.usersCounted = false, false, time.Time{}, time.Time{}
	c.lowerText = ""
	c.usersSaved = c.usersSaved.UTC()
	return c
}

// encodeWhole returns the record of the issue that earlier versions
// wrote, text and all (issueFormat).
func encodeWhole(is *Issue) []byte {
	b := []byte{issueFormat}
	b = binary.AppendUvarint(b, is.ID)
	b = binary.AppendUvarint(b, uint64(is.Project))
	m := &is.Metadata
	b = appendStrs(b, is.Title, is.Culprit, is.Type, m.Type, m.Value, m.Filename, m.Function, m.Title,
		is.Level, is.Platform, is.Logger, is.Status, is.Substatus)
	b = appendSeen(b, is)
	b = appendStrs(b, is.FirstRelease, is.LastRelease, "")
	b = appendList(b, is.Releases)
	b = appendList(b, is.Environments)
	b = binary.AppendVarint(b, is.HourlyStart)
	b = appendCounts(b, is.Hourly)
	b = binary.AppendVarint(b, is.DailyStart)
	return appendCounts(b, is.Daily)
}

// TestIssueRecord checks that an issue's binary records (counts, text,
// static) read back equal, that the records of earlier versions (the
// whole issue in one binary record, or JSON with the user sketch) still
// read and are marked to have their text written apart, and that every
// truncation of a record is an error.
func TestIssueRecord(t *testing.T) {
	is := benchIssue(300)
	is.Status, is.Substatus = StatusResolved, ""
	is.ResolvedAt = is.LastSeen.Add(1234567)
	data, text, static := is.encode(), is.encodeText(), is.encodeStatic()
	got, err := decodeIssue(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.textUnstored {
		t.Error("a counts record is marked to have its text written")
	}
	if err := got.decodeText(text); err != nil {
		t.Fatal(err)
	}
	if err := got.decodeStatic(static); err != nil {
		t.Fatal(err)
	}
	if a, b := stateOf(got), stateOf(is); !reflect.DeepEqual(a, b) {
		t.Fatalf("decoded issue differs:\n got %+v\nwant %+v", a, b)
	}
	if len(data) > 160 {
		t.Errorf("the record every commit writes takes %d bytes, want it small", len(data))
	}

	// The whole issue in one binary record, as earlier versions stored it.
	whole, err := decodeIssue(encodeWhole(is))
	if err != nil {
		t.Fatal(err)
	}
	if err := whole.decodeStatic(static); err != nil {
		t.Fatal(err)
	}
	if a, b := stateOf(whole), stateOf(is); !reflect.DeepEqual(a, b) {
		t.Fatalf("whole record differs:\n got %+v\nwant %+v", a, b)
	}
	if !whole.textUnstored {
		t.Error("a whole record is not marked to have its text written apart")
	}

	// JSON, as earlier versions stored it.
	sketch, err := is.users.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	// Earlier versions kept the tag counts in the issue (Tags).
	withTags := copyIssue(is, true)
	js, err := json.Marshal(legacyIssue{Issue: &withTags, Users: sketch})
	if err != nil {
		t.Fatal(err)
	}
	old, err := decodeIssue(js)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := stateOf(old), stateOf(is); !reflect.DeepEqual(a, b) {
		t.Fatalf("legacy issue differs:\n got %+v\nwant %+v", a, b)
	}
	if got, want := copyIssue(old, true).Tags, copyIssue(is, true).Tags; !reflect.DeepEqual(got, want) || !old.allTagsDirty {
		t.Errorf("legacy tags %v (dirty %v), want %v", got, old.allTagsDirty, want)
	}
	if !old.staticDirty || !old.textUnstored {
		t.Errorf("a legacy record is not marked to have its static part (%v) and text (%v) written", old.staticDirty, old.textUnstored)
	}
	if old.users.Estimate() != is.users.Estimate() || !old.usersDirty {
		t.Errorf("legacy sketch estimates %d, want %d (dirty %v, so it is written apart)", old.users.Estimate(), is.users.Estimate(), old.usersDirty)
	}

	for n := range len(data) {
		if _, err := decodeIssue(data[:n]); err == nil {
			t.Fatalf("a record truncated to %d of %d bytes decoded", n, len(data))
		}
	}
	for n := range len(text) {
		if err := new(Issue).decodeText(text[:n]); err == nil {
			t.Fatalf("a text record truncated to %d of %d bytes decoded", n, len(text))
		}
	}
	for n := range len(static) {
		if err := new(Issue).decodeStatic(static[:n]); err == nil {
			t.Fatalf("a static record truncated to %d of %d bytes decoded", n, len(static))
		}
	}
}

// FuzzDecodeIssue checks that decodeIssue never panics on a damaged record
// and that what it reads encodes and reads back the same. Run with
//
//	go test -run='^$' -fuzz=FuzzDecodeIssue -fuzztime=60s ./aggregate/issues/
func FuzzDecodeIssue(f *testing.F) {
	f.Add(benchIssue(3).encode())
	f.Add(benchIssue(40).encode())
	f.Add(benchIssue(40).encodeText())
	f.Add(encodeWhole(benchIssue(40)))
	f.Add([]byte(`{"id":3,"tags":{"a":{"b":1}},"users":"AQ=="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = new(Issue).decodeStatic(data)
		if text := new(Issue); text.decodeText(data) == nil {
			again := new(Issue)
			if err := again.decodeText(text.encodeText()); err != nil || !reflect.DeepEqual(stateOf(again), stateOf(text)) {
				t.Fatalf("text round trip: %v\n got %+v\nwant %+v", err, stateOf(again), stateOf(text))
			}
		}
		is, err := decodeIssue(data)
		if err != nil || len(data) == 0 || data[0] == '{' {
			return
		}
		again, err := decodeIssue(is.encode())
		if err == nil {
			err = again.decodeText(is.encodeText())
		}
		if err != nil {
			t.Fatalf("re-encoded issue does not decode: %v", err)
		}
		if a, b := stateOf(again), stateOf(is); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", a, b)
		}
	})
}
