package issues

import (
	"encoding/json"
	"reflect"
	"testing"
)

// stateOf returns is without the parts stored apart (user sketch, tag
// counts) and the in-memory bookkeeping, for comparison.
func stateOf(is *Issue) Issue {
	c := *is
	c.users, c.usersDirty = nil, false
	c.Tags, c.changedTags, c.allTagsDirty, c.staticDirty = nil, nil, false, false
	c.lowerText = ""
	c.usersSaved = c.usersSaved.UTC()
	return c
}

// TestIssueRecord checks that an issue's binary record reads back equal,
// that the JSON records of earlier versions still read (with their user
// sketch), and that every truncation of a record is an error.
func TestIssueRecord(t *testing.T) {
	is := benchIssue(300)
	is.Status, is.Substatus = StatusResolved, ""
	is.ResolvedAt = is.LastSeen.Add(1234567)
	data := is.encode()
	got, err := decodeIssue(data)
	if err != nil {
		t.Fatal(err)
	}
	static := is.encodeStatic()
	if err := got.decodeStatic(static); err != nil {
		t.Fatal(err)
	}
	if a, b := stateOf(got), stateOf(is); !reflect.DeepEqual(a, b) {
		t.Fatalf("decoded issue differs:\n got %+v\nwant %+v", a, b)
	}

	// JSON, as earlier versions stored it.
	sketch, err := is.users.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(legacyIssue{Issue: is, Users: sketch})
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
	if !reflect.DeepEqual(old.Tags, is.Tags) || !old.allTagsDirty {
		t.Errorf("legacy tags %v (dirty %v), want %v", old.Tags, old.allTagsDirty, is.Tags)
	}
	if !old.staticDirty {
		t.Error("a legacy record is not marked to have its static part written")
	}
	old.staticDirty = false
	if old.users.Estimate() != is.users.Estimate() || !old.usersDirty {
		t.Errorf("legacy sketch estimates %d, want %d (dirty %v, so it is written apart)", old.users.Estimate(), is.users.Estimate(), old.usersDirty)
	}

	for n := range len(data) {
		if _, err := decodeIssue(data[:n]); err == nil {
			t.Fatalf("a record truncated to %d of %d bytes decoded", n, len(data))
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
	f.Add([]byte(`{"id":3,"tags":{"a":{"b":1}},"users":"AQ=="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		is, err := decodeIssue(data)
		if err != nil || len(data) == 0 || data[0] == '{' {
			return
		}
		again, err := decodeIssue(is.encode())
		if err != nil {
			t.Fatalf("re-encoded issue does not decode: %v", err)
		}
		_ = new(Issue).decodeStatic(data)
		if a, b := stateOf(again), stateOf(is); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip differs:\n got %+v\nwant %+v", a, b)
		}
	})
}
