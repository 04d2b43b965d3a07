package issues

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/telltale-dev/telltale/aggregate/grouping"
	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// TestSubmitWithdraw ends the waits of two events early, with commits held
// in their write to disk: one still queued, which must be withdrawn (never
// stored, never counted), and one already in a commit, whose Submit must
// return once the commit has applied it, not after the write, and which is
// then stored. Either way Submit returns without the committer reading the
// event again, which the ingest path relies on to reuse its buffers.
func TestSubmitWithdraw(t *testing.T) {
	db := storagetest.OpenTemp(t)
	// Each event is stored as its payload, which the committer reads where
	// Submit's caller has it: the caller overwrites it once Submit returns,
	// as ingest reuses its buffers, and the stored ones must be intact.
	decode := func(payload []byte, _ PayloadMeta) (*Doc, error) { return &Doc{Message: string(payload)}, nil }
	tr, err := New(Config{DecodePayload: decode}, db, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan int, 4)
	unblock := []chan struct{}{make(chan struct{}), make(chan struct{})}
	calls := 0
	tr.writeEvents = func(evs []storage.EventRecord, recs []storage.IssueRecord) error {
		n := calls
		calls++
		if len(evs) > 0 && n < len(unblock) {
			entered <- n
			<-unblock[n]
		}
		return db.WriteEvents(evs, recs)
	}
	go tr.Run()
	defer tr.Close(context.Background())

	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	payload := func(n int) string { return fmt.Sprintf(`{"message":"event %d"}`, n) }
	in := func(n int) *Incoming {
		d := &Doc{Timestamp: at.Add(time.Duration(n) * time.Second), Platform: "go", Level: "error",
			Exceptions: []grouping.Exception{{Type: "A", Value: "failed"}}}
		in := &Incoming{Project: 1, Doc: d, Group: grouping.Group(d.Grouping()), Payload: []byte(payload(n))}
		copy(in.EventID[:], fmt.Sprintf("event%011d", n))
		return in
	}
	type answer struct {
		issue uint64
		err   error
	}
	// submit submits event n with Submit(ctx), or SubmitTimeout when
	// timeout is set.
	submit := func(ctx context.Context, timeout time.Duration, n int) chan answer {
		c := make(chan answer, 1)
		go func() {
			ev := in(n)
			var id uint64
			var err error
			if timeout > 0 {
				id, err = tr.SubmitTimeout(ev, timeout)
			} else {
				id, err = tr.Submit(ctx, ev)
			}
			for i := range ev.Payload {
				ev.Payload[i] = 'X'
			}
			c <- answer{id, err}
		}()
		return c
	}
	wait := func(what string, c chan answer) answer {
		t.Helper()
		select {
		case a := <-c:
			return a
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: Submit did not return", what)
			return answer{}
		}
	}

	first := submit(context.Background(), 0, 1)
	<-entered // the first commit is writing

	// Queued behind the first commit until its timeout.
	second := submit(context.Background(), 20*time.Millisecond, 2)
	if a := wait("a queued event", second); !errors.Is(a.err, context.DeadlineExceeded) {
		t.Fatalf("a queued event whose wait ended: %+v, want context.DeadlineExceeded", a)
	}

	ctx3, cancel3 := context.WithCancel(context.Background())
	third := submit(ctx3, 0, 3)
	time.Sleep(20 * time.Millisecond)
	close(unblock[0])
	if a := wait("the first event", first); a.err != nil {
		t.Fatal(a.err)
	}
	<-entered // the second commit, with the third event only, is writing
	cancel3()
	if a := wait("an event being written", third); !errors.Is(a.err, context.Canceled) {
		t.Fatalf("an event in a commit whose wait ended: %+v, want context.Canceled", a)
	}
	close(unblock[1])

	// Once the second commit is done, the third event is there and the
	// second is not.
	// With the timer the second one used, from the pool.
	if a := wait("a later event", submit(context.Background(), 10*time.Second, 4)); a.err != nil {
		t.Fatal(a.err)
	}
	if _, err := tr.Event(1, fmt.Sprintf("%x", "event00000000002")); !errors.Is(err, ErrNotFound) {
		t.Errorf("the withdrawn event: %v, want ErrNotFound", err)
	}
	for _, n := range []int{1, 3, 4} {
		if ev, err := tr.Event(1, fmt.Sprintf("%x", fmt.Sprintf("event%011d", n))); err != nil || ev.Doc.Message != payload(n) {
			t.Errorf("event %d: payload %q, %v; want %q", n, ev.Doc.Message, err, payload(n))
		}
	}
	page, _ := tr.List(Filter{}, SortDate, 0, 10)
	if len(page) != 1 || page[0].Count != 3 {
		t.Errorf("issues %+v, want one of 3 events (the withdrawn one not counted)", page)
	}
}
