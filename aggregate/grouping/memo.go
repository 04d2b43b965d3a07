package grouping

import (
	"strings"
	"sync/atomic"
)

// An event's exceptions may come with a memo (Event.ExceptionsMemo): a slot
// shared by every event with the same exceptions, which envelope's
// ExceptionCache gives each list it keeps. A Grouper keeps there the part
// of the grouping that depends only on the exceptions and the platform:
// the hash, variant, title, metadata and exception components. An event
// whose memo holds them for its platform takes them from there instead of
// building and hashing a component per frame again; only the message
// component (which never contributes beside exceptions) and the culprit
// (the transaction when there is one) are the event's own.
//
// Only events whose grouping depends on nothing else use the memo: no
// fingerprint (its variables read tags, the transaction, the message) and
// no threads (read for exceptions without frames), with exceptions that
// contribute (else the message decides). The result is then the same as
// Group's; TestMemoSameResult checks it on every fixture.

// memo is what a memo slot holds, never changed once stored.
type memo struct {
	platform                      string
	comps                         []Component // the exception components
	hash, variant, title, culprit string      // culprit without a transaction
	md                            Metadata
}

// MemoStats counts the lookups of Groupers in events' memos. The zero
// MemoStats is ready to use; it is safe for concurrent use.
type MemoStats struct{ hits, misses atomic.Uint64 }

// Stats returns the number of lookups that found the grouping in the memo
// and that did not.
func (s *MemoStats) Stats() (hits, misses uint64) {
	return s.hits.Load(), s.misses.Load()
}

// count counts a lookup; s may be nil.
func (s *MemoStats) count(hit bool) {
	switch {
	case s == nil:
	case hit:
		s.hits.Add(1)
	default:
		s.misses.Add(1)
	}
}

// memoable reports whether ev's grouping depends only on its exceptions
// and platform, apart from the message component and the culprit, and
// ev has a memo to keep it in.
func memoable(ev *Event) bool {
	return ev.ExceptionsMemo != nil && len(ev.Fingerprint) == 0 && len(ev.Threads) == 0
}

// newMemo makes the memo of ev's result r (built by a builder): a copy of
// what it keeps that shares no memory with the event's payload or with a
// Grouper.
func newMemo(ev *Event, r *Result) *memo {
	comps := r.Components
	if n := len(comps); n > 0 && comps[n-1].ID == "message" {
		comps = comps[:n-1] // the event's own (addMessage with hintExceptionWins)
	}
	m := &memo{
		platform: strings.Clone(ev.Platform),
		comps:    make([]Component, len(comps)), hash: r.Hash, variant: r.Variant,
		title: strings.Clone(r.Title),
		md: Metadata{
			Type: strings.Clone(r.Metadata.Type), Value: strings.Clone(r.Metadata.Value), Title: strings.Clone(r.Metadata.Title),
			Filename: strings.Clone(r.Metadata.Filename), Function: strings.Clone(r.Metadata.Function),
		},
	}
	nvals := 0
	for i := range comps {
		nvals += len(comps[i].Values)
	}
	vals := make([]string, 0, nvals)
	for i, c := range comps {
		n := len(vals)
		for _, v := range c.Values {
			vals = append(vals, strings.Clone(v))
		}
		if c.Values != nil {
			c.Values = vals[n:len(vals):len(vals)]
		}
		m.comps[i] = c
	}
	if ev.Transaction == "" {
		m.culprit = strings.Clone(r.Culprit)
	} else {
		m.culprit = strings.Clone(truncateChars(exceptionCulprit(ev), maxCulpritLen))
	}
	return m
}

// fromMemo builds ev's Result from m, into g's memory as Group does.
func (g *Grouper) fromMemo(ev *Event, m *memo) Result {
	b := builder{ev: ev, g: g}
	b.comps = append(b.newComps(len(m.comps)+1), m.comps...)
	b.addMessage(hintExceptionWins, false)
	r := Result{
		Hash: m.hash, Kind: "default", Variant: m.variant, Components: b.comps,
		Title: m.title, Culprit: ev.Transaction, Metadata: m.md,
	}
	if r.Culprit == "" {
		r.Culprit = m.culprit
	}
	g.comps = keep(g.comps, b.comps, maxKeptComponents)
	g.fpComps = g.fpComps[:0]
	g.vals = keep(g.vals, b.vals, maxKeptValues)
	return r
}
