package grouping

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// namedEvent is one event of the Grouper tests.
type namedEvent struct {
	name string
	ev   *Event
}

// grouperEvents returns the events of the golden and table tests, each also
// with a custom and a hybrid fingerprint, and events large enough to pass
// every bound of a Grouper.
func grouperEvents(t *testing.T) []namedEvent {
	t.Helper()
	var evs []namedEvent
	for _, tc := range pairCases {
		evs = append(evs, namedEvent{"pair-" + tc.name + "-a", tc.a(t)}, namedEvent{"pair-" + tc.name + "-b", tc.b(t)})
	}
	for _, tc := range singleCases {
		evs = append(evs, namedEvent{tc.name, tc.ev(t)})
	}
	evs = append(evs,
		namedEvent{"bench-go", benchGoEvent()},
		namedEvent{"bench-node", benchNodeEvent()},
		namedEvent{"bench-go-chain-fingerprint", goChainFingerprintEvent()},
		namedEvent{"invalid-utf8", goErr("E\xff", "bad \xc3 value", goFrame("m\xfe", "f\x80", "/src/app/x.go", 1, true))},
	)
	for _, e := range evs[:len(evs):len(evs)] {
		custom, hybrid := *e.ev, *e.ev
		custom.Fingerprint = []string{"checkout", "{{ type }}", "{{ function }}"}
		hybrid.Fingerprint = []string{"{{ default }}", "{{ tags.region }}", "{{ default }}"}
		hybrid.Tags = []Tag{{"region", "eu"}}
		evs = append(evs, namedEvent{e.name + "-custom", &custom}, namedEvent{e.name + "-hybrid", &hybrid})
	}
	return append(evs, bigEvents()...)
}

// bigEvents exceed what a Grouper keeps: components, values, hash input,
// cached exception, frame and fingerprint IDs; and one that fits within
// all bounds but is large.
func bigEvents() []namedEvent {
	chain := func(nexc, nframes int) *Event {
		e := &Event{Platform: "go", Transaction: "GET /big"}
		for i := range nexc {
			var frames []Frame
			for j := range nframes {
				frames = append(frames, goFrame(fmt.Sprintf("example.com/app/p%d", j%7), fmt.Sprintf("f%d_%d", i, j),
					fmt.Sprintf("/src/app/p%d.go", j%7), j, j%3 != 0))
			}
			e.Exceptions = append(e.Exceptions, Exception{Type: fmt.Sprintf("*app.E%d", i), Value: fmt.Sprintf("error %d", i), Frames: frames})
		}
		return e
	}
	huge := chain(40, 100) // 4080 components, 8000+ values
	var fp []string
	for i := range 40 {
		fp = append(fp, fmt.Sprintf("part-%d", i))
	}
	hugeCustom := *huge
	hugeCustom.Fingerprint = append([]string{"{{ default }}"}, fp...)
	deepThread := &Event{Platform: "go", Message: "deadlock 1", Threads: []Thread{{Crashed: true, Frames: chain(1, 300).Exceptions[0].Frames}}}
	return []namedEvent{
		{"big-within-bounds", chain(5, 60)},
		{"huge-chain", huge},
		{"huge-chain-hybrid", &hugeCustom},
		{"huge-custom-fingerprint", &Event{Platform: "go", Fingerprint: fp}},
		{"huge-value", goErr("E", strings.Repeat("word ", 20000)+"end")}, // no parameterizing: keep it cheap
		{"deep-thread", deepThread},
	}
}

// TestGrouperMatchesGroup groups the events in several orders with one
// Grouper; every result must equal Group's, whatever came before.
func TestGrouperMatchesGroup(t *testing.T) {
	evs := grouperEvents(t)
	size := func(e namedEvent) int { return len(Group(e.ev).Components) }
	var big []namedEvent
	for _, e := range evs {
		if strings.HasPrefix(e.name, "huge-") {
			big = append(big, e)
		}
	}
	bigThenSmall := make([]namedEvent, 0, 3*len(evs))
	for i, e := range evs {
		bigThenSmall = append(bigThenSmall, big[i%len(big)], e)
	}
	reversed := slices.Clone(evs)
	slices.Reverse(reversed)
	largestFirst := slices.SortedStableFunc(slices.Values(evs), func(a, b namedEvent) int {
		return size(b) - size(a)
	})
	var g Grouper
	for _, order := range []struct {
		name string
		evs  []namedEvent
	}{
		{"forward", evs},
		{"reversed", reversed},
		{"big-then-small", bigThenSmall},
		{"largest-first", largestFirst},
	} {
		t.Run(order.name, func(t *testing.T) {
			for _, e := range order.evs {
				checkGrouper(t, &g, e)
			}
		})
	}
}

// checkGrouper groups e with g and with Group and compares the results.
func checkGrouper(t *testing.T, g *Grouper, e namedEvent) {
	t.Helper()
	got, want := g.Group(e.ev), Group(e.ev)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: Grouper.Group differs from Group\ngot:\n%s%+v\nwant:\n%s%+v", e.name, formatResult(got), got.Components, formatResult(want), want.Components)
	}
	checkKept(t, g)
}

// checkKept checks the bounds of what g keeps, and that it keeps no
// strings past what its last Result uses.
func checkKept(t *testing.T, g *Grouper) {
	t.Helper()
	if cap(g.comps) > maxKeptComponents || cap(g.fpComps) > maxKeptComponents || cap(g.vals) > maxKeptValues || cap(g.hashBuf) > maxKeptHashBytes {
		t.Fatalf("Grouper keeps %d, %d components, %d values, %d hash bytes; want at most %d, %d, %d",
			cap(g.comps), cap(g.fpComps), cap(g.vals), cap(g.hashBuf), maxKeptComponents, maxKeptValues, maxKeptHashBytes)
	}
	for _, comps := range [][]Component{g.comps, g.fpComps} {
		for i, c := range comps[len(comps):cap(comps)] {
			if c.ID != "" || c.Values != nil || c.Contributes || c.inApp || c.Hint != "" || c.kinds != "" {
				t.Fatalf("stale component %d past the used %d: %+v", len(comps)+i, len(comps), c)
			}
		}
	}
	for i, v := range g.vals[len(g.vals):cap(g.vals)] {
		if v != "" {
			t.Fatalf("stale value %d past the used %d: %q", len(g.vals)+i, len(g.vals), v)
		}
	}
	if n := len(g.ids.exceptions); n > maxCachedExceptions {
		t.Fatalf("Grouper keeps the IDs of %d exceptions, want at most %d", n, maxCachedExceptions)
	}
	for _, e := range g.ids.exceptions {
		if len(e.frames) > maxCachedFrameIDs {
			t.Fatalf("Grouper keeps %d frame IDs for %s, want at most %d", len(e.frames), e.stack, maxCachedFrameIDs)
		}
	}
	if n := len(g.ids.fingerprint); n > maxCachedFingerprintIDs {
		t.Fatalf("Grouper keeps %d fingerprint IDs, want at most %d", n, maxCachedFingerprintIDs)
	}
}

// TestGrouperAllocs checks that a warm Grouper allocates only the hash and
// the title of a 20-frame Go event (its culprit is the transaction).
func TestGrouperAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocations")
	}
	ev := benchGoEvent()
	var g Grouper
	g.Group(goChainFingerprintEvent()) // warm up, with a larger event
	if n := testing.AllocsPerRun(100, func() { g.Group(ev) }); n > 2 {
		t.Errorf("Grouper.Group allocates %v times per 20-frame Go event, want at most 2", n)
	}
}
