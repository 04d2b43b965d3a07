package storage

import (
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// Select returns the ids of the series that satisfy every matcher, in
// ascending order, with Prometheus' semantics (see Matcher). At least one
// matcher must not match the empty string, else Select returns
// ErrEmptyMatchers.
//
// Select reads postings only: name="v" reads the postings of that value;
// a regexp reads the values of its label name (narrowed by the regexp's
// literal prefix) and the postings of those that match. A matcher that
// matches the empty string removes the series whose value fails it, so no
// matcher ever enumerates all series. After a crash while series were
// created, an id may be returned whose series was not completely written:
// it has no samples, and SeriesLabels reports ErrNotFound for it.
func (db *DB) Select(matchers ...Matcher) ([]uint64, error) {
	ms := make([]Matcher, len(matchers))
	copy(ms, matchers)
	nonEmpty := false
	for i := range ms {
		if err := ms[i].compile(); err != nil {
			return nil, err
		}
		if !ms[i].Matches("") {
			nonEmpty = true
		}
	}
	if !nonEmpty {
		return nil, ErrEmptyMatchers
	}
	// Intersections first, cheapest first (an equality reads one postings
	// list), so an empty result stops early; then subtractions.
	slices.SortStableFunc(ms, func(a, b Matcher) int { return matcherCost(a) - matcherCost(b) })

	if err := db.acquire(); err != nil {
		return nil, err
	}
	defer db.release()
	var result []uint64
	err := db.bdb.View(func(txn *badger.Txn) error {
		first := true
		for _, m := range ms {
			if first || len(result) > 0 {
				var err error
				if result, first, err = applyMatcher(txn, m, result, first); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return result, nil
}

// matcherCost orders matchers for Select: equality, other intersections,
// then subtractions.
func matcherCost(m Matcher) int {
	switch {
	case m.Matches(""):
		return 2
	case m.Type == MatchEqual:
		return 0
	}
	return 1
}

// applyMatcher narrows result by m. first means result has not been set by
// an intersection yet (matchers are sorted so that all intersections come
// first, and there is at least one).
func applyMatcher(txn *badger.Txn, m Matcher, result []uint64, first bool) ([]uint64, bool, error) {
	if m.Matches("") {
		// Remove the series that have the label with a value failing m.
		var drop []uint64
		var err error
		if m.Type == MatchNotEqual {
			if drop, err = appendPostings(nil, txn, m.Name, m.Value); err != nil {
				return nil, false, err
			}
		} else {
			notM := func(v string) bool { return !m.Matches(v) }
			if drop, err = unionPostings(txn, m.Name, "", notM); err != nil {
				return nil, false, err
			}
		}
		return difference(result, drop), first, nil
	}
	var set []uint64
	if m.Type == MatchEqual {
		var err error
		if set, err = appendPostings(nil, txn, m.Name, m.Value); err != nil {
			return nil, false, err
		}
	} else {
		prefix := ""
		if m.Type == MatchRegexp {
			prefix, _ = m.re.LiteralPrefix()
		}
		var err error
		if set, err = unionPostings(txn, m.Name, prefix, m.Matches); err != nil {
			return nil, false, err
		}
	}
	if first {
		return set, false, nil
	}
	return intersect(result, set), false, nil
}

// unionPostings returns the sorted ids of the series whose label name has a
// value starting with valuePrefix that satisfies keep.
func unionPostings(txn *badger.Txn, name, valuePrefix string, keep func(string) bool) ([]uint64, error) {
	var ids []uint64
	lists := 0
	err := eachValue(txn, name, valuePrefix, func(v string) error {
		if !keep(v) {
			return nil
		}
		var err error
		ids, err = appendPostings(ids, txn, name, v)
		lists++
		return err
	})
	if err != nil {
		return nil, err
	}
	if lists > 1 {
		slices.Sort(ids)
		ids = slices.Compact(ids) // a series has one value per name; kept for safety
	}
	return ids, nil
}

// intersect returns the ids in both sorted lists, reusing a.
func intersect(a, b []uint64) []uint64 {
	out := a[:0]
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// difference returns the ids of sorted a not in sorted b, reusing a.
func difference(a, b []uint64) []uint64 {
	out := a[:0]
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j < len(b) && b[j] == id {
			continue
		}
		out = append(out, id)
	}
	return out
}
