package grouping

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Cache remembers, for a Grouper (Grouper.Cache), the grouping of events
// by their exceptions: an event whose Event.ExceptionsID names exceptions
// grouped before, on the same platform, takes its hash, variant, title,
// metadata and exception components from the cache instead of building
// and hashing a component per frame again. Only the message component
// (which never contributes beside exceptions) and the culprit (the
// transaction when there is one) are the event's own.
//
// Only events whose grouping depends on nothing else are cached: no
// fingerprint (its variables read tags, the transaction, the message) and
// no threads (read for exceptions without frames), with exceptions that
// contribute (else the message decides). The result is then the same as
// Group's; TestCacheSameResult checks it on every fixture.
//
// It holds at most 2×max entries, in two generations (see
// envelope.ExceptionCache). It is safe for concurrent use.
type Cache struct {
	max          int
	mu           sync.Mutex
	cur, old     map[cacheKey]*cached
	hits, misses atomic.Uint64
}

type cacheKey struct {
	exceptions uint64
	platform   string
}

// cached is one entry, owned by the cache and never changed.
type cached struct {
	comps                         []Component // the exception components
	hash, variant, title, culprit string      // culprit without a transaction
	md                            Metadata
}

// NewCache returns a cache of up to about 2×max groupings.
func NewCache(max int) *Cache {
	return &Cache{max: max, cur: map[cacheKey]*cached{}}
}

// Stats returns the number of lookups that found an entry and that did
// not.
func (c *Cache) Stats() (hits, misses uint64) {
	return c.hits.Load(), c.misses.Load()
}

func (c *Cache) get(k cacheKey) *cached {
	c.mu.Lock()
	e := c.cur[k]
	if e == nil {
		if e = c.old[k]; e != nil {
			delete(c.old, k)
			c.insert(k, e)
		}
	}
	c.mu.Unlock()
	if e == nil {
		c.misses.Add(1)
	} else {
		c.hits.Add(1)
	}
	return e
}

func (c *Cache) put(k cacheKey, e *cached) {
	k.platform = strings.Clone(k.platform)
	c.mu.Lock()
	c.insert(k, e)
	c.mu.Unlock()
}

// insert adds e, starting a new generation when the current one is full.
// c.mu is held.
func (c *Cache) insert(k cacheKey, e *cached) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[cacheKey]*cached, c.max)
	}
	c.cur[k] = e
}

// cacheable reports whether ev's grouping depends only on its exceptions
// and platform, apart from the message component and the culprit.
func cacheable(ev *Event) bool {
	return ev.ExceptionsID != 0 && len(ev.Fingerprint) == 0 && len(ev.Threads) == 0
}

// newCached makes the entry for ev's result r (built by a builder): a copy
// of what it keeps that shares no memory with the event's payload or with
// a Grouper.
func newCached(ev *Event, r *Result) *cached {
	comps := r.Components
	if n := len(comps); n > 0 && comps[n-1].ID == "message" {
		comps = comps[:n-1] // the event's own (addMessage with hintExceptionWins)
	}
	e := &cached{
		comps: make([]Component, len(comps)), hash: r.Hash, variant: r.Variant,
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
		e.comps[i] = c
	}
	if ev.Transaction == "" {
		e.culprit = strings.Clone(r.Culprit)
	} else {
		e.culprit = strings.Clone(truncateChars(exceptionCulprit(ev), maxCulpritLen))
	}
	return e
}

// fromCache builds ev's Result from e, into g's memory as Group does.
func (g *Grouper) fromCache(ev *Event, e *cached) Result {
	b := builder{ev: ev, g: g}
	b.comps = append(b.newComps(len(e.comps)+1), e.comps...)
	b.addMessage(hintExceptionWins, false)
	r := Result{
		Hash: e.hash, Kind: "default", Variant: e.variant, Components: b.comps,
		Title: e.title, Culprit: ev.Transaction, Metadata: e.md,
	}
	if r.Culprit == "" {
		r.Culprit = e.culprit
	}
	g.comps = keep(g.comps, b.comps, maxKeptComponents)
	g.fpComps = g.fpComps[:0]
	g.vals = keep(g.vals, b.vals, maxKeptValues)
	return r
}
