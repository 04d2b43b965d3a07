package envelope

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
)

// ExceptionCache keeps decoded "exception" values by their JSON text, for
// a Decoder (Decoder.Exceptions): an event whose exception value is, byte
// for byte, one seen before (the same error thrown again, the common case
// of an error flood) takes the decoded exceptions from the cache.
// Decoding the stack traces was the larger part of decoding an event.
//
// Equal text decodes to equal exceptions, so the cache changes no result;
// entries are compared by their whole text, not by a hash. Each entry also
// holds a memo (Event.ExceptionsMemo), where grouping keeps the grouping of
// its exceptions: it lives and goes with the entry. An entry is
// made on the second sighting of a text, not the first: a stream of
// exceptions that never repeat (values with ids in them) costs a lookup
// and a hash per event, not a copy.
//
// A value is looked for before it is scanned at all: by the hash of its
// first prefixLen bytes (lookupPrefix), among the entries whose texts
// start with those bytes, and it is the entry whose whole text the
// payload goes on with. The text was validated when it was cached, and an
// object or array ends where its text ends, so the value is then neither
// decoded nor skipped (skipping a 20-frame stack trace took a third of
// decoding a flood's event with its exceptions cached). Otherwise the
// value is decoded, and then looked up by its whole text (lookup): a
// value shorter than prefixLen, or one not cached yet.
//
// It holds at most 2×max entries of at most maxCachedException bytes of
// text each: entries are looked up in the current generation, then in
// the previous one (and moved forward when found there); when the current
// one is full, it becomes the previous one and the oldest is dropped.
// It is safe for concurrent use.
type ExceptionCache struct {
	max      int
	mu       sync.Mutex
	cur, old map[uint64]*cachedExceptions // by the text's hash
	// byPrefix holds, by the hash of their first prefixLen bytes, up to
	// maxPrefixEntries entries of the current generation with texts at
	// least that long, the one last put or found by lookup first. It
	// starts empty with each generation, so it holds no entry the
	// generations dropped. A list is never changed in place (notePrefix
	// makes a new one), so lookupPrefix reads it without the lock.
	byPrefix     map[uint64][]*cachedExceptions
	seen         map[uint64]bool // texts seen once: true in the current generation
	hits, misses atomic.Uint64
}

// maxPrefixEntries bounds the entries byPrefix keeps for one prefix: the
// same error thrown from that many places (same type and message, the
// stack trace's outer frames alike) are all found by their prefix.
const maxPrefixEntries = 8

// maxCachedException bounds the text of an exception value the cache
// keeps (and so its decoded size).
const maxCachedException = 64 << 10

// prefixLen is how many bytes of an exception value key lookupPrefix.
// The first frames of a stack trace are within it, and its hash costs a
// few nanoseconds.
const prefixLen = 128

// cachedExceptions is one entry: the text, the decoded exceptions, owned
// by the cache and never changed, and their memo (Event.ExceptionsMemo).
// maxDepth is the nesting bound the text was validated under: lookupPrefix
// takes the entry only for a scanner with at least that bound.
type cachedExceptions struct {
	text       string
	exceptions []Exception
	memo       atomic.Value
	maxDepth   int
}

// exceptionSeed seeds the hashes of exception texts.
var exceptionSeed = maphash.MakeSeed()

// NewExceptionCache returns a cache of up to about 2×max exception values
// (a few KB each for a 20-frame stack trace).
func NewExceptionCache(max int) *ExceptionCache {
	return &ExceptionCache{max: max, cur: map[uint64]*cachedExceptions{}, byPrefix: map[uint64][]*cachedExceptions{}, seen: map[uint64]bool{}}
}

// lookupPrefix returns the entry whose text rest (the payload from where
// an exception value starts) begins with, if it is found by the hash of
// rest's first prefixLen bytes and was validated under a nesting bound no
// larger than maxDepth; else nil, and the caller decodes the value.
func (c *ExceptionCache) lookupPrefix(rest []byte, maxDepth int) *cachedExceptions {
	if len(rest) < prefixLen {
		return nil
	}
	h := maphash.Bytes(exceptionSeed, rest[:prefixLen])
	c.mu.Lock()
	entries := c.byPrefix[h]
	c.mu.Unlock()
	for _, e := range entries {
		// Only an object or array ends where its text does: text "1"
		// would be a prefix of the value 12. Entries hold nothing else
		// (exceptions come from one or the other), which this keeps true.
		if e.maxDepth <= maxDepth && (e.text[0] == '[' || e.text[0] == '{') && len(rest) >= len(e.text) && string(rest[:len(e.text)]) == e.text {
			c.hits.Add(1)
			return e
		}
	}
	return nil
}

// notePrefix puts e first among the entries lookupPrefix finds for its
// first prefixLen bytes, in a new list. c.mu is held.
func (c *ExceptionCache) notePrefix(e *cachedExceptions) {
	if len(e.text) < prefixLen {
		return
	}
	h := maphash.String(exceptionSeed, e.text[:prefixLen])
	old := c.byPrefix[h]
	if len(old) > 0 && old[0] == e {
		return
	}
	entries := make([]*cachedExceptions, 1, min(len(old)+1, maxPrefixEntries))
	entries[0] = e
	for _, o := range old {
		if o != e && len(entries) < maxPrefixEntries {
			entries = append(entries, o)
		}
	}
	c.byPrefix[h] = entries
}

// Stats returns the number of lookups that found an entry and that did
// not.
func (c *ExceptionCache) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}

// lookup returns the entry for text, whose hash is h, or nil. On a miss it
// reports whether text was seen before and should be cached now (put);
// the first time, it only notes h (the doorkeeper).
func (c *ExceptionCache) lookup(text []byte, h uint64) (e *cachedExceptions, admit bool) {
	c.mu.Lock()
	if e = c.cur[h]; e == nil || e.text != string(text) {
		e = nil
		if old := c.old[h]; old != nil && old.text == string(text) {
			e = old
			delete(c.old, h)
			c.insert(h, e)
		}
	}
	if e != nil {
		c.notePrefix(e)
	} else {
		if _, admit = c.seen[h]; !admit {
			if len(c.seen) >= 2*c.max {
				// Forget the older half: those seen in the previous
				// generation.
				for k, cur := range c.seen {
					if !cur {
						delete(c.seen, k)
					} else {
						c.seen[k] = false
					}
				}
			}
			c.seen[h] = true
		}
	}
	c.mu.Unlock()
	if e == nil {
		c.misses.Add(1)
	} else {
		c.hits.Add(1)
	}
	return e, admit
}

// put adds a copy of excepts as the entry of text, whose hash is h and
// which was validated under the nesting bound maxDepth, and returns it.
func (c *ExceptionCache) put(text []byte, h uint64, maxDepth int, excepts []Exception) *cachedExceptions {
	e := &cachedExceptions{text: string(text), exceptions: cloneExceptions(excepts), maxDepth: maxDepth}
	c.mu.Lock()
	if old := c.cur[h]; old != nil && old.text == e.text {
		e = old // another request decoded it meanwhile
	} else {
		c.insert(h, e)
	}
	c.notePrefix(e)
	delete(c.seen, h)
	c.mu.Unlock()
	return e
}

// insert adds e to the current generation, starting a new one when it is
// full. c.mu is held.
func (c *ExceptionCache) insert(h uint64, e *cachedExceptions) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[uint64]*cachedExceptions, c.max)
		clear(c.byPrefix)
	}
	c.cur[h] = e
}

// cloneExceptions returns a deep copy of excepts that shares no memory
// with the payload they were decoded from, nor with a Decoder's scratch.
func cloneExceptions(excepts []Exception) []Exception {
	out := make([]Exception, len(excepts))
	nframes := 0
	for i := range excepts {
		nframes += len(excepts[i].Frames)
	}
	frames := make([]Frame, 0, nframes)
	bools := make([]bool, 0, nframes+len(excepts))
	cloneBool := func(b *bool) *bool {
		if b == nil {
			return nil
		}
		bools = append(bools, *b)
		return &bools[len(bools)-1]
	}
	for i, ex := range excepts {
		ex.Type, ex.Value, ex.Module = strings.Clone(ex.Type), strings.Clone(ex.Value), strings.Clone(ex.Module)
		ex.MechanismType = strings.Clone(ex.MechanismType)
		ex.Handled = cloneBool(ex.Handled)
		if ex.Frames != nil {
			n := len(frames)
			for _, f := range ex.Frames {
				f.Filename, f.AbsPath, f.Module = strings.Clone(f.Filename), strings.Clone(f.AbsPath), strings.Clone(f.Module)
				f.Package, f.Function, f.RawFunction = strings.Clone(f.Package), strings.Clone(f.Function), strings.Clone(f.RawFunction)
				f.ContextLine, f.Platform = strings.Clone(f.ContextLine), strings.Clone(f.Platform)
				f.InApp = cloneBool(f.InApp)
				// A lean decode leaves these nil; a copy of anything else
				// would share the payload.
				f.PreContext, f.PostContext, f.Vars = nil, nil, nil
				frames = append(frames, f)
			}
			ex.Frames = frames[n:len(frames):len(frames)]
		}
		out[i] = ex
	}
	return out
}
