package issues

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// Issue state is stored in small binary records. Their JSON (with sorted
// tag maps and the base64 user sketch) cost 30–130 µs per issue on the
// single committer. Layout, after a format byte: varints for numbers,
// uvarint-length-prefixed strings and lists, times as a presence byte then
// Unix seconds (varint) and nanoseconds (uvarint).
//
// Every commit writes the record of each issue it touches (in storage's
// issue journal), so that record holds only what must be exact after a
// crash: counts, times, status and the hourly and daily series
// (issueFormatCounts, about 100 bytes). The text that follows the latest
// event (title, culprit, metadata, level, releases, environments) is a
// record of its own (encodeText), written at most every tagsEvery like the
// tag counts: with it, the record had been about 450 bytes, the most of
// what a flood put in Badger's memtables, and so the most of what it
// flushed and compacted. After a crash the
// text may be up to tagsEvery older than the counts. The user sketch, the
// tag counts and the grouping hash and components (which never change,
// encodeStatic) are records of their own too.
//
// Earlier versions stored the whole issue in one record: in issueFormat,
// or as JSON (a record starting with '{'). Both still read.
const (
	issueFormat       byte = 1 // the static record; the whole issue in earlier versions
	issueFormatCounts byte = 2 // the record of every commit (encode)
	issueFormatText   byte = 1 // the text record (encodeText)
)

var errShort = errors.New("truncated issue record")

// encode returns the record of the issue's counts, times and status.
func (is *Issue) encode() []byte {
	b := make([]byte, 0, 160)
	b = append(b, issueFormatCounts)
	b = binary.AppendUvarint(b, is.ID)
	b = binary.AppendUvarint(b, uint64(is.Project))
	b = appendStrs(b, is.Status, is.Substatus)
	b = appendSeen(b, is)
	b = binary.AppendVarint(b, is.HourlyStart)
	b = appendCounts(b, is.Hourly)
	b = binary.AppendVarint(b, is.DailyStart)
	return appendCounts(b, is.Daily)
}

// appendSeen appends the times and counts, in the order of both issue
// records (issueFormatCounts and the whole one of issueFormat).
func appendSeen(b []byte, is *Issue) []byte {
	b = appendBinaryTime(b, is.ResolvedAt)
	b = appendBinaryTime(b, is.FirstSeen)
	b = appendBinaryTime(b, is.LastSeen)
	b = binary.AppendUvarint(b, is.Count)
	b = binary.AppendUvarint(b, is.UserCount)
	return appendBool(b, is.Unhandled)
}

// seen reads what appendSeen wrote into is.
func (r *reader) seen(is *Issue) {
	is.ResolvedAt, is.FirstSeen, is.LastSeen = r.time(), r.time(), r.time()
	is.Count, is.UserCount = r.uvarint(), r.uvarint()
	is.Unhandled = r.byte() == 1
}

// encodeText returns the record of the issue's text.
func (is *Issue) encodeText() []byte {
	b := make([]byte, 0, 512)
	b = append(b, issueFormatText)
	m := &is.Metadata
	b = appendStrs(b, is.Title, is.Culprit, is.Type, m.Type, m.Value, m.Filename, m.Function, m.Title,
		is.Level, is.Platform, is.Logger, is.FirstRelease, is.LastRelease)
	b = appendList(b, is.Releases)
	return appendList(b, is.Environments)
}

// decodeText reads a record of encodeText into is.
func (is *Issue) decodeText(data []byte) error {
	if len(data) == 0 || data[0] != issueFormatText {
		return fmt.Errorf("unknown issue text record format %x", data[:min(len(data), 1)])
	}
	r := &reader{b: data[1:]}
	r.titles(is)
	is.FirstRelease, is.LastRelease = r.str(), r.str()
	is.Releases, is.Environments = r.list(), r.list()
	return r.done()
}

// titles reads the strings both records that hold the text (encodeText's
// and the whole one of issueFormat) start with.
func (r *reader) titles(is *Issue) {
	m := &is.Metadata
	is.Title, is.Culprit, is.Type = r.str(), r.str(), r.str()
	m.Type, m.Value, m.Filename, m.Function, m.Title = r.str(), r.str(), r.str(), r.str(), r.str()
	is.Level, is.Platform, is.Logger = r.str(), r.str(), r.str()
}

// encodeStatic returns the record of the state that never changes: the
// grouping hash, config and components.
func (is *Issue) encodeStatic() []byte {
	b := make([]byte, 0, 1024)
	b = append(b, issueFormat)
	b = appendStrs(b, is.Hash, is.GroupingConfig, is.GroupingKind, is.Variant)
	b = binary.AppendUvarint(b, uint64(len(is.Components)))
	for _, c := range is.Components {
		b = appendStrs(b, c.ID, c.Hint)
		b = appendBool(b, c.Contributes)
		b = appendList(b, c.Values)
	}
	return b
}

// decodeStatic reads a record of encodeStatic into is.
func (is *Issue) decodeStatic(data []byte) error {
	if len(data) == 0 || data[0] != issueFormat {
		return fmt.Errorf("unknown issue static record format %x", data[:min(len(data), 1)])
	}
	r := &reader{b: data[1:]}
	is.Hash, is.GroupingConfig, is.GroupingKind, is.Variant = r.str(), r.str(), r.str(), r.str()
	is.Components = nil
	if n := r.count(); n > 0 {
		is.Components = make([]Component, n)
		for i := range is.Components {
			c := &is.Components[i]
			c.ID, c.Hint = r.str(), r.str()
			c.Contributes = r.byte() == 1
			c.Values = r.list()
		}
	}
	return r.done()
}

// done reports the reader's error, or an error if bytes are left.
func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%d bytes after the issue record", len(r.b))
	}
	return r.err
}

func appendStrs(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

func appendList(b []byte, list []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(list)))
	return appendStrs(b, list...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendBinaryTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendCounts(b []byte, counts []uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(counts)))
	for _, n := range counts {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

// reader reads a binary issue record; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a length that must fit in the rest of the record (each item
// takes at least one byte), so a corrupt length cannot allocate much.
func (r *reader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return 0
	}
	return int(n)
}

func (r *reader) str() string {
	n := r.count()
	if r.err != nil {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) list() []string {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *reader) time() time.Time {
	if r.byte() == 0 {
		return time.Time{}
	}
	sec := r.varint()
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.fail()
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (r *reader) counts() []uint64 {
	n := r.count()
	if n == 0 {
		return nil
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.uvarint()
	}
	return out
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errShort
	}
	r.b = nil
}

// legacyIssue is the JSON issue record of earlier versions: the issue with
// its HyperLogLog user sketch.
type legacyIssue struct {
	*Issue
	Users []byte `json:"users,omitempty"`
}

// decodeIssue reads an issue record (binary, or the JSON of earlier
// versions). Its user sketch is empty until the stored one is loaded.
func decodeIssue(data []byte) (*Issue, error) {
	is := &Issue{users: hyperloglog.New14()}
	if len(data) > 0 && data[0] == '{' {
		// The user sketch was in the record then; it is stored apart now
		// (storage.IssueRecord.Users).
		legacy := legacyIssue{Issue: is}
		if err := json.Unmarshal(data, &legacy); err != nil {
			return nil, err
		}
		if len(legacy.Users) > 0 {
			if err := is.users.UnmarshalBinary(legacy.Users); err != nil {
				return nil, fmt.Errorf("user sketch: %w", err)
			}
			is.usersDirty = true
		}
		is.allTagsDirty = len(is.Tags) > 0
		is.adoptTags()
		is.staticDirty, is.textUnstored = true, true
		return is, nil
	}
	if len(data) == 0 || (data[0] != issueFormatCounts && data[0] != issueFormat) {
		return nil, fmt.Errorf("unknown issue record format %x", data[:min(len(data), 1)])
	}
	r := &reader{b: data[1:]}
	is.ID = r.uvarint()
	if p := r.uvarint(); p <= math.MaxUint32 {
		is.Project = uint32(p)
	} else {
		r.fail()
	}
	if data[0] == issueFormat {
		decodeWhole(r, is)
	} else {
		is.Status, is.Substatus = r.str(), r.str()
		r.seen(is)
		is.HourlyStart, is.Hourly = r.varint(), r.counts()
		is.DailyStart, is.Daily = r.varint(), r.counts()
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return is, nil
}

// decodeWhole reads the rest of a record of earlier versions, which held
// the text too (issueFormat), and marks the text to be written apart.
func decodeWhole(r *reader, is *Issue) {
	r.titles(is)
	is.Status, is.Substatus = r.str(), r.str()
	r.seen(is)
	// The third string held the latest event's id, which nothing read.
	is.FirstRelease, is.LastRelease, _ = r.str(), r.str(), r.str()
	is.Releases, is.Environments = r.list(), r.list()
	is.HourlyStart, is.Hourly = r.varint(), r.counts()
	is.DailyStart, is.Daily = r.varint(), r.counts()
	is.textUnstored = true
}
