package storage

import "testing"

// FuzzIssueTagKey checks that parseIssueTagKey never panics, that it reads
// back what issueTagKey wrote, and that what it accepts from any bytes
// writes back to a key it reads the same (a length may have been written
// in a longer varint form than issueTagKey uses). Run with
//
//	go test -run='^$' -fuzz=FuzzIssueTagKey -fuzztime=30s ./storage/
func FuzzIssueTagKey(f *testing.F) {
	f.Add(uint64(7), "region", "eu", []byte{prefixIssueTag, 0, 0, 0, 0, 0, 0, 0, 7, 1, 'k', 'v'})
	f.Add(uint64(1<<63), "", "", []byte{prefixIssueTag, 0, 0, 0, 0, 0, 0, 0, 7, 0xff})
	f.Fuzz(func(t *testing.T, id uint64, key, value string, raw []byte) {
		gotID, tc, ok := parseIssueTagKey(issueTagKey(id, key, value))
		if !ok || gotID != id || tc.Key != key || tc.Value != value {
			t.Fatalf("round trip of (%d, %q, %q): %d, %+v, %v", id, key, value, gotID, tc, ok)
		}
		if id, tc, ok := parseIssueTagKey(raw); ok {
			if id2, tc2, ok2 := parseIssueTagKey(issueTagKey(id, tc.Key, tc.Value)); !ok2 || id2 != id || tc2 != tc {
				t.Fatalf("parseIssueTagKey(%x) = %d, %+v, which writes back as %d, %+v, %v", raw, id, tc, id2, tc2, ok2)
			}
		}
	})
}
