package grouping

// A Grouper groups events into memory it keeps and reuses. Once warm, it
// allocates only the strings of the Result that Group also builds (the
// hash, the title and culprit when they are composed, normalised values),
// not the components and their values: it is meant for the ingest hot
// path, one per worker or pooled request scratch.
//
// The zero Grouper is ready to use. A Grouper is not safe for concurrent
// use.
//
// A Grouper keeps at most 1024 components, 4096 values (about 80 and 64
// KiB) and 64 KiB of hash input between calls: an event that needs more is
// grouped all the same, but the larger slices are dropped afterwards, so
// that one huge event does not pin memory for good. It also keeps the
// component IDs it built for chained exceptions (up to exception[16], 64
// frames each) and fingerprint entries (up to 16).
type Grouper struct {
	// comps, fpComps and vals are the slices of the last Result, reused by
	// the next call; their lengths are what the last call used.
	comps   []Component
	fpComps []Component
	vals    []string
	hashBuf []byte
	ids     idCache
	// Memos, when set, counts the lookups in events' memos (see memo.go),
	// for the Groupers of a server.
	Memos *MemoStats
}

// Bounds on what a Grouper keeps between calls. A 100-frame event needs
// about 100 components and 300 values; SDKs send at most a few hundred
// frames per event.
const (
	maxKeptComponents = 1024 // 80 bytes each
	maxKeptValues     = 4096 // 16 bytes each
	maxKeptHashBytes  = 64 << 10
)

// Bounds on the IDs an idCache keeps.
const (
	maxCachedExceptions     = 16 // exception[1] ... exception[16]
	maxCachedFrameIDs       = 64 // frame IDs per chained exception
	maxCachedFingerprintIDs = 16
)

// idCache keeps the component IDs a Grouper built for chained exceptions
// (exception[1] and later; those of exception[0] are in commonFrameIDs)
// and for fingerprint entries. IDs are immutable strings, so handing them
// out again is safe even to a caller that keeps a Result.
type idCache struct {
	exceptions  []exceptionIDs // exceptions[i-1] is exception[i]
	fingerprint []string       // fingerprint[i] is "fingerprint[i]"
}

// exceptionIDs are the component IDs of one exception of a chain.
type exceptionIDs struct {
	stack, typ, value string
	frames            []string // stack+"[0]", stack+"[1]", ...
}

// Group is Group(ev), except that the Result's Components, and each
// component's Values, are owned by g and reused by its next call: the
// caller must be done with the Result (or have copied what it keeps)
// before calling g again. The other fields of the Result are the caller's.
func (g *Grouper) Group(ev *Event) Result {
	// The previous Result is given up: clear what it used, so that g does
	// not pin the strings of events grouped before (the entries past the
	// used lengths were cleared by earlier calls, or never used).
	clear(g.comps)
	clear(g.fpComps)
	clear(g.vals)
	useMemo := memoable(ev)
	if useMemo {
		m, _ := ev.ExceptionsMemo.Load().(*memo)
		hit := m != nil && m.platform == ev.Platform
		g.Memos.count(hit)
		if hit {
			return g.fromMemo(ev, m)
		}
	}
	b := builder{ev: ev, g: g}
	r, hashBuf := b.group(g.hashBuf)
	if useMemo && (r.Variant == "app" || r.Variant == "system") {
		ev.ExceptionsMemo.Store(newMemo(ev, &r))
	}
	g.comps = keep(g.comps, b.comps, maxKeptComponents)
	g.fpComps = keep(g.fpComps, b.fpComps, maxKeptComponents)
	g.vals = keep(g.vals, b.vals, maxKeptValues)
	g.hashBuf = hashBuf[:0]
	if cap(hashBuf) > maxKeptHashBytes {
		g.hashBuf = nil
	}
	return r
}

// keep returns the slice a Grouper keeps after a call that used used (nil
// when it did not need one) in place of old: used if it is small enough,
// nil if not.
func keep[S ~[]E, E any](old, used S, limit int) S {
	switch {
	case used == nil:
		return old[:0]
	case cap(used) > limit:
		return nil
	}
	return used
}
