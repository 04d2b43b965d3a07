package storage_test

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/telltale-dev/telltale/storage"
)

// staleNaN is Prometheus' staleness marker (value.StaleNaN).
const staleNaN = 0x7ff0000000000002

// t0 is the time of the first flush in these tests (Unix ms).
const t0 = int64(1_700_000_000_000)

// step is the flush interval of these tests (10 s).
const step = int64(10_000)

// killChildEnv names the directory the kill -9 child writes to.
const killChildEnv = "TELLTALE_STORAGE_KILL_CHILD_DIR"

// killSeries is how many series the kill -9 child writes each flush.
const killSeries = 200

// killBatch is how many flushes the kill -9 child appends per Commit.
const killBatch = 3

func TestMain(m *testing.M) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		if err := killChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// seriesLabels returns the labels of test series i.
func seriesLabels(i int) storage.Labels {
	return lbls("__name__", "m", "i", strconv.Itoa(i))
}

// value returns the value of test series i at flush n, with special values
// (staleness NaN, another NaN, ±Inf, −0) on some flushes.
func value(i, n int) float64 {
	switch (i + n) % 97 {
	case 0:
		return math.Float64frombits(staleNaN)
	case 1:
		return math.NaN()
	case 2:
		return math.Inf(1)
	case 3:
		return math.Inf(-1)
	case 4:
		return math.Copysign(0, -1)
	}
	if i%2 == 0 {
		return float64(n * (i + 1)) // a counter
	}
	return float64(i) + math.Sin(float64(n)/7) // a gauge
}

// appendFlush appends flush n of series [0, count), in two calls with the
// same t to exercise split flushes.
func appendFlush(tb testing.TB, db *storage.DB, n, count int) {
	tb.Helper()
	samples := make([]storage.Sample, count)
	for i := range samples {
		samples[i] = storage.Sample{Labels: seriesLabels(i), Value: value(i, n)}
	}
	t := t0 + int64(n)*step
	half := count / 2
	if err := db.AppendSamples(t, samples[half:]); err != nil {
		tb.Fatalf("AppendSamples(%d): %v", t, err)
	}
	if err := db.AppendSamples(t, samples[:half]); err != nil {
		tb.Fatalf("AppendSamples(%d): %v", t, err)
	}
}

// checkSeries checks that series i holds exactly flushes [0, flushes).
func checkSeries(t *testing.T, db *storage.DB, i, flushes int) {
	t.Helper()
	id := mustID(t, db, seriesLabels(i))
	pts, err := db.Samples(id, 0, math.MaxInt64)
	if err != nil {
		t.Fatalf("Samples(%d): %v", id, err)
	}
	if len(pts) != flushes {
		t.Fatalf("series %d: %d points, want %d", i, len(pts), flushes)
	}
	for n, p := range pts {
		want := value(i, n)
		if p.T != t0+int64(n)*step || math.Float64bits(p.V) != math.Float64bits(want) {
			t.Fatalf("series %d point %d = (%d, %x), want (%d, %x)", i, n, p.T, math.Float64bits(p.V), t0+int64(n)*step, math.Float64bits(want))
		}
	}
}

func TestHistoryRoundTripAndReopen(t *testing.T) {
	const series, flushes = 40, 530 // 4 chunk cuts and a partial head
	dir := t.TempDir()
	db := openDir(t, dir)
	for n := range flushes {
		appendFlush(t, db, n, series)
	}
	if err := db.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := range series {
		checkSeries(t, db, i, flushes)
	}
	recs, err := storage.FlushRecordsForTest(db)
	if err != nil {
		t.Fatal(err)
	}
	// Truncation keeps only the records newer than the oldest head sample
	// (plus at most truncateEvery of sample time).
	if recs > 2*(flushes%120+60) {
		t.Errorf("%d flush records left, want those of the heads only", recs)
	}

	// A sub-range that starts and ends inside chunks.
	id := mustID(t, db, seriesLabels(3))
	pts, err := db.Samples(id, t0+100*step, t0+250*step)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 151 || pts[0].T != t0+100*step || pts[150].T != t0+250*step {
		t.Errorf("Samples sub-range: %d points from %v", len(pts), pts[0])
	}

	got, err := db.SelectSamples(t0, t0+9*step, mustMatcher(t, storage.MatchRegexp, "i", "1|2"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Labels.Get("i") != "1" || len(got[1].Points) != 10 {
		t.Errorf("SelectSamples = %+v", got)
	}

	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDir(t, dir)
	defer db.Close()
	for i := range series {
		checkSeries(t, db, i, flushes)
	}
	// Appending after reopen continues the series.
	appendFlush(t, db, flushes, series)
	checkSeries(t, db, 5, flushes+1)
}

func TestHistoryOutOfOrder(t *testing.T) {
	db := openDir(t, t.TempDir())
	defer db.Close()
	s := []storage.Sample{{Labels: seriesLabels(1), Value: 1}}
	if err := db.AppendSamples(t0, s); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []int64{t0, t0 - 1} {
		if err := db.AppendSamples(tt, s); !errors.Is(err, storage.ErrOutOfOrder) {
			t.Errorf("AppendSamples(%d) = %v, want ErrOutOfOrder", tt, err)
		}
	}
	twice := []storage.Sample{{Labels: seriesLabels(1), Value: 2}, {Labels: seriesLabels(1), Value: 3}}
	if err := db.AppendSamples(t0+1, twice); !errors.Is(err, storage.ErrOutOfOrder) {
		t.Errorf("a series twice in one call = %v, want ErrOutOfOrder", err)
	}
	if err := db.AppendSamples(-1, s); !errors.Is(err, storage.ErrInvalidTime) {
		t.Errorf("AppendSamples(-1) = %v, want ErrInvalidTime", err)
	}
	pts, err := db.Samples(mustID(t, db, seriesLabels(1)), 0, math.MaxInt64)
	if err != nil || len(pts) != 2 || pts[1].V != 2 {
		t.Errorf("Samples = %v, %v; want 2 points, the second 2", pts, err)
	}
}

func TestHistoryRetention(t *testing.T) {
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.Retention = time.Hour
	db, err := storage.Open(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// 3 hours of flushes; the clock stands at the last one.
	const flushes = 3 * 360
	now := time.UnixMilli(t0 + (flushes-1)*step)
	storage.SetNowForTest(db, func() time.Time { return now })
	for n := range flushes {
		appendFlush(t, db, n, 4)
	}
	pts, err := db.Samples(mustID(t, db, seriesLabels(0)), 0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	cut := now.Add(-time.Hour).UnixMilli()
	if len(pts) != 361 || pts[0].T != cut {
		t.Errorf("got %d points from %d, want 361 from %d", len(pts), pts[0].T, cut)
	}
}

// killChild opens the DB in dir and appends flushes of killSeries series,
// printing "acked <t>" (t of the last flush) after each Commit, until it is
// killed.
func killChild(dir string) error {
	db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
	if err != nil {
		return err
	}
	samples := make([]storage.Sample, killSeries)
	for n := 0; ; n++ {
		for i := range samples {
			samples[i] = storage.Sample{Labels: seriesLabels(i), Value: value(i, n)}
		}
		t := t0 + int64(n)*step
		// Two calls per flush, as the aggregator sends chunks of a flush.
		if err := db.AppendSamples(t, samples[:killSeries/2]); err != nil {
			return err
		}
		if err := db.AppendSamples(t, samples[killSeries/2:]); err != nil {
			return err
		}
		// Commit every killBatch flushes, so that 50 acks cross chunk cuts.
		if n%killBatch != killBatch-1 {
			continue
		}
		if err := db.Commit(); err != nil {
			return err
		}
		fmt.Printf("acked %d\n", t)
	}
}

// TestHistoryKill9 kills a writer with SIGKILL after 50 acknowledged
// flushes and checks that every acknowledged flush is there in full, and
// that nothing else is there but whole, correct samples.
func TestHistoryKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked int64 = -1
	sc := bufio.NewScanner(out)
	for n := 0; n < 50 && sc.Scan(); n++ {
		v, ok := strings.CutPrefix(sc.Text(), "acked ")
		if !ok {
			t.Fatalf("child printed %q", sc.Text())
		}
		if acked, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 0 {
		t.Fatal("the child acknowledged nothing")
	}
	ackedN := int((acked - t0) / step)

	db := openDir(t, dir)
	defer db.Close()
	partial := 0
	for i := range killSeries {
		id := mustID(t, db, seriesLabels(i))
		pts, err := db.Samples(id, 0, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		if len(pts) < ackedN+1 {
			t.Fatalf("series %d: %d points, want at least the %d acknowledged", i, len(pts), ackedN+1)
		}
		for n, p := range pts {
			want := value(i, n)
			if p.T != t0+int64(n)*step || math.Float64bits(p.V) != math.Float64bits(want) {
				t.Fatalf("series %d point %d = (%d, %v), want (%d, %v)", i, n, p.T, p.V, t0+int64(n)*step, want)
			}
		}
		if len(pts) > ackedN+1 {
			partial++
		}
	}
	t.Logf("%d flushes acknowledged; %d of %d series also hold later, unacknowledged samples", ackedN+1, partial, killSeries)
}

// TestHistoryConcurrentRead reads a series while chunks are cut under it:
// every read is a gap-free prefix of the writes, with no duplicate.
func TestHistoryConcurrentRead(t *testing.T) {
	db := openDir(t, t.TempDir())
	defer db.Close()
	const series, flushes = 10, 400
	appendFlush(t, db, 0, series)
	id := mustID(t, db, seriesLabels(3))
	done := make(chan struct{})
	go func() {
		defer close(done)
		samples := make([]storage.Sample, series)
		for n := 1; n < flushes; n++ {
			for i := range samples {
				samples[i] = storage.Sample{Labels: seriesLabels(i), Value: value(i, n)}
			}
			if err := db.AppendSamples(t0+int64(n)*step, samples); err != nil {
				t.Error(err) // not Fatal: this is not the test goroutine
				return
			}
		}
	}()
	for reading := true; reading; {
		select {
		case <-done:
			reading = false
		default:
		}
		pts, err := db.Samples(id, 0, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		for n, p := range pts {
			if p.T != t0+int64(n)*step || math.Float64bits(p.V) != math.Float64bits(value(3, n)) {
				t.Fatalf("point %d of %d = %+v", n, len(pts), p)
			}
		}
	}
	checkSeries(t, db, 3, flushes)
}

// TestHistoryNewSeriesBudget checks Config.MaxNewSeriesPerFlush: a flush
// creates at most that many series over all its AppendSamples calls, the
// samples of the others are counted as deferred, and later flushes create
// them in turn while the known series keep their samples.
func TestHistoryNewSeriesBudget(t *testing.T) {
	cfg := storage.DefaultConfig(t.TempDir())
	cfg.MaxNewSeriesPerFlush = 10
	reg := prometheus.NewRegistry()
	db, err := storage.Open(cfg, reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	samples := make([]storage.Sample, 25)
	for i := range samples {
		samples[i] = storage.Sample{Labels: seriesLabels(i), Value: float64(i)}
	}
	stored := func() int {
		n := 0
		for i := range samples {
			ids, err := db.Select(mustMatcher(t, storage.MatchEqual, "i", strconv.Itoa(i)))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				pts, err := db.Samples(id, 0, math.MaxInt64)
				if err != nil {
					t.Fatal(err)
				}
				n += len(pts)
			}
		}
		return n
	}
	// One flush in two calls: 10 series of 25 are created.
	for _, part := range [][]storage.Sample{samples[:15], samples[15:]} {
		if err := db.AppendSamples(t0, part); err != nil {
			t.Fatal(err)
		}
	}
	if got := stored(); got != 10 {
		t.Fatalf("after flush 1: %d samples stored, want 10", got)
	}
	if got := counterValue(t, reg, "telltale_storage_history_samples_deferred_total"); got != 15 {
		t.Fatalf("deferred = %v, want 15", got)
	}
	// Flush 2 stores the 10 known series and creates 10 more; flush 3 the rest.
	for n, want := range []int{10 + 20, 10 + 20 + 25} {
		if err := db.AppendSamples(t0+int64(n+1)*step, samples); err != nil {
			t.Fatal(err)
		}
		if got := stored(); got != want {
			t.Fatalf("after flush %d: %d samples stored, want %d", n+2, got, want)
		}
	}
}

// counterValue returns the value of the counter registered on reg as name.
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("%s is not registered", name)
	return 0
}
