package history

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	promstorage "github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"

	"github.com/telltale-dev/telltale/api"
	"github.com/telltale-dev/telltale/storage"
)

// envRun is the environment variable that enables these benchmarks; without
// it they skip, so that `make bench` (every package, six times) does not
// spend minutes writing a day of samples.
const envRun = "TELLTALE_BENCH_HISTORY"

// envSeries overrides the number of series of the day (default daySeries).
const envSeries = "TELLTALE_BENCH_HISTORY_SERIES"

const (
	// daySeries is the number of series written for a day.
	daySeries = 10000
	// dayFlushes is a day of 10 s flushes.
	dayFlushes = 8640
	// flushStep is the flush interval in milliseconds.
	flushStep = int64(10 * time.Second / time.Millisecond)
	// names, instances and jobs are the label cardinalities: series i has
	// name i%names and instance i/names, and an instance belongs to job
	// instance%jobs.
	names, instances, jobs = 100, 100, 10
	// knownSeries is the size of the flush of known series.
	knownSeries = 100000
)

// skipUnlessEnabled skips b unless envRun is set.
func skipUnlessEnabled(b *testing.B) {
	b.Helper()
	if os.Getenv(envRun) == "" {
		b.Skipf("set %s=1 to run (make bench-history)", envRun)
	}
}

// seriesCount returns the number of series of the day: envSeries or daySeries.
func seriesCount(b *testing.B) int {
	b.Helper()
	s := os.Getenv(envSeries)
	if s == "" {
		return daySeries
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < names || n%names != 0 {
		b.Fatalf("%s=%q: want a multiple of %d", envSeries, s, names)
	}
	return n
}

// metricName returns the name of name index n: even indexes are counters
// (counter_NN_total), odd ones gauges (gauge_NN).
func metricName(n int) string {
	if n%2 == 0 {
		return fmt.Sprintf("counter_%02d_total", n)
	}
	return fmt.Sprintf("gauge_%02d", n)
}

// workload produces the values of a set of series flush by flush: counters
// rise by small integers, gauges random-walk by small integer steps. It is
// deterministic.
type workload struct {
	rng     *rand.Rand
	samples []storage.Sample
	counter []bool
}

// newWorkload returns the first flush of count series (count a multiple of
// names; instances beyond the 100th are numbered on).
func newWorkload(count int) *workload {
	w := &workload{
		rng:     rand.New(rand.NewPCG(1, 2)),
		samples: make([]storage.Sample, count),
		counter: make([]bool, count),
	}
	for i := range w.samples {
		n, inst := i%names, i/names
		w.counter[i] = n%2 == 0
		w.samples[i] = storage.Sample{
			// Sorted by name: __name__, instance, job.
			Labels: storage.Labels{
				{Name: storage.MetricName, Value: metricName(n)},
				{Name: "instance", Value: fmt.Sprintf("host-%02d:9100", inst)},
				{Name: "job", Value: "job-" + strconv.Itoa(inst%jobs)},
			},
			Value: float64(w.rng.IntN(1000)),
		}
	}
	return w
}

// next advances every series by one flush.
func (w *workload) next() {
	for i := range w.samples {
		if w.counter[i] {
			w.samples[i].Value += float64(w.rng.IntN(10))
		} else {
			w.samples[i].Value = math.Max(0, w.samples[i].Value+float64(w.rng.IntN(7)-3))
		}
	}
}

// dayStart returns the time of the first flush of the day: a day before
// now, on a minute, so that the queries end at the last flush.
func dayStart() int64 {
	return time.Now().Add(-24 * time.Hour).Truncate(time.Minute).UnixMilli()
}

// openDB opens a DB in dir without retention or value-log GC, so that
// nothing but the writes changes the files.
func openDB(b *testing.B, dir string) *storage.DB {
	b.Helper()
	cfg := storage.DefaultConfig(dir)
	cfg.Retention = 0
	cfg.GCInterval = 0
	db, err := storage.Open(cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return db
}

// writeDay writes flushes (a day: dayFlushes) of count series from t0 into
// a new DB in dir, one AppendSamples and one Commit per flush, and closes it.
func writeDay(b *testing.B, dir string, count, flushes int, t0 int64) {
	b.Helper()
	db := openDB(b, dir)
	w := newWorkload(count)
	for n := range flushes {
		if err := db.AppendSamples(t0+int64(n)*flushStep, w.samples); err != nil {
			b.Fatal(err)
		}
		if err := db.Commit(); err != nil {
			b.Fatal(err)
		}
		w.next()
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
}

// dirSize returns the sum of the sizes of the files under dir.
func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// loadReference returns Prometheus' TSDB (util/teststorage: head in memory,
// one 24 h block range) holding the same samples as writeDay, appended
// flush by flush.
func loadReference(b *testing.B, count, flushes int, t0 int64) promstorage.Storage {
	b.Helper()
	ref := teststorage.New(b)
	w := newWorkload(count)
	lsets := make([]labels.Labels, count)
	for i, s := range w.samples {
		lb := labels.NewScratchBuilder(len(s.Labels))
		for _, l := range s.Labels {
			lb.Add(l.Name, l.Value)
		}
		lsets[i] = lb.Labels()
	}
	refs := make([]promstorage.SeriesRef, count)
	ctx := context.Background()
	for n := range flushes {
		app := ref.Appender(ctx)
		t := t0 + int64(n)*flushStep
		for i, s := range w.samples {
			r, err := app.Append(refs[i], lsets[i], t, s.Value)
			if err != nil {
				b.Fatal(err)
			}
			refs[i] = r
		}
		if err := app.Commit(); err != nil {
			b.Fatal(err)
		}
		w.next()
	}
	return ref
}

// newEngine returns a PromQL engine with the settings of package api's:
// 5 m lookback, 50 M samples per query, 2 m timeout.
func newEngine() *promql.Engine {
	return promql.NewEngine(promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              2 * time.Minute,
		LookbackDelta:        5 * time.Minute,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
}

// sumRateQuery returns sum by (job) (rate(...[5m])) over the counters of
// counter names: one sum per name, added, because a metric name has only
// names/100 of the series, and rate over a regexp on __name__ would give
// series of different names the same labels once it drops the name (an
// error, "vector cannot contain metrics with the same labelset").
func sumRateQuery(counterNames int) string {
	var q strings.Builder
	for k := range counterNames {
		if k > 0 {
			q.WriteString(" + ")
		}
		fmt.Fprintf(&q, "sum by (job) (rate(%s[5m]))", metricName(2*k))
	}
	return q.String()
}

// rangeQuery runs one range query and returns its matrix.
func rangeQuery(b *testing.B, eng *promql.Engine, q promstorage.Queryable, qs string, start, end int64, step time.Duration) promql.Matrix {
	b.Helper()
	ctx := context.Background()
	qry, err := eng.NewRangeQuery(ctx, q, nil, qs, time.UnixMilli(start), time.UnixMilli(end), step)
	if err != nil {
		b.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		b.Fatal(res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// diffMatrix returns "" if got and want hold the same series and samples
// (values equal to within 1e-9 relative), else the first difference.
func diffMatrix(got, want promql.Matrix) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, reference %d", len(got), len(want))
	}
	for i := range got {
		if !labels.Equal(got[i].Metric, want[i].Metric) || len(got[i].Floats) != len(want[i].Floats) {
			return fmt.Sprintf("series %d: %v with %d samples, reference %v with %d",
				i, got[i].Metric, len(got[i].Floats), want[i].Metric, len(want[i].Floats))
		}
		for j, f := range got[i].Floats {
			w := want[i].Floats[j]
			if f.T != w.T || math.Abs(f.F-w.F) > 1e-9*math.Max(1, math.Abs(w.F)) {
				return fmt.Sprintf("series %v sample %d: %v@%d, reference %v@%d", got[i].Metric, j, f.F, f.T, w.F, w.T)
			}
		}
	}
	return ""
}

// BenchmarkHistory writes a day of 10 s flushes (8 640) of 10 000 series
// (TELLTALE_BENCH_HISTORY_SERIES overrides the count) through
// storage.AppendSamples and Commit, then runs PromQL range queries over it,
// each beside the same query on Prometheus' TSDB holding the same samples.
// Run it with
//
//	make bench-history
//
// which is
//
//	TELLTALE_BENCH_HISTORY=1 go test -v -run='^$' -bench=. -benchmem -timeout=60m ./bench/history
//
// Sub-benchmarks and their metrics:
//
//   - write: one iteration is the whole day into a new directory;
//     disk-B/sample is the size of the directory after Close over the
//     samples written (target < 3), ns/sample the append+commit time.
//   - query=one/store=S: one series over the day at step 60 s (target
//     < 50 ms for telltale).
//   - query=sum_rate/store=S: sum by (job) (rate(...[5m])) over 1 000
//     counter series over the day at step 5 m (target < 1 s), written as
//     one sum per metric name, added (see sumRateQuery).
//
// Each query runs on store=reference (Prometheus' TSDB from util/teststorage,
// loaded flush by flush) and then on store=telltale (storage through
// api.NewQueryable), with the same promql.Engine; the telltale line also
// reports x-reference, its time over the reference's. Both answers are
// compared before timing: answer-mismatch is 1 if they differ (the
// difference is logged, ANSWERS DIFFER), else 0.
func BenchmarkHistory(b *testing.B) {
	skipUnlessEnabled(b)
	count := seriesCount(b)
	samples := count * dayFlushes
	t0 := dayStart()
	end := t0 + int64(dayFlushes-1)*flushStep
	b.Logf("day: %d series × %d flushes = %d samples", count, dayFlushes, samples)

	root := b.TempDir()
	dataDir := ""
	b.Run("write", func(b *testing.B) {
		b.ReportAllocs()
		var size int64
		n := 0
		for b.Loop() {
			dir := filepath.Join(root, "write-"+strconv.Itoa(n))
			n++
			writeDay(b, dir, count, dayFlushes, t0)
			b.StopTimer()
			size = dirSize(b, dir)
			dataDir = dir
			b.StartTimer()
		}
		b.ReportMetric(float64(size)/float64(samples), "disk-B/sample")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
		b.ReportMetric(float64(samples), "samples")
	})
	if dataDir == "" { // the write sub-benchmark was filtered out
		dataDir = filepath.Join(root, "data")
		writeDay(b, dataDir, count, dayFlushes, t0)
	}

	db := openDB(b, dataDir)
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	ours := api.NewQueryable(db, 0)
	loadStart := time.Now()
	ref := loadReference(b, count, dayFlushes, t0)
	b.Logf("reference TSDB loaded in %v", time.Since(loadStart).Round(time.Millisecond))
	eng := newEngine()

	// 1 000 series: each name has count/names series, half the names are
	// counters.
	sumNames := min(names/2, max(1, 1000*names/count))
	b.Logf("sum_rate: %d counter names, %d series", sumNames, sumNames*count/names)
	queries := []struct {
		name, query string
		step        time.Duration
	}{
		{"one", `gauge_01{instance="host-00:9100"}`, time.Minute},
		{"sum_rate", sumRateQuery(sumNames), 5 * time.Minute},
	}
	// Compare the answers before any timing. A difference is logged, not
	// fatal, so that the timings are still reported.
	mismatch := make([]float64, len(queries))
	for i, q := range queries {
		want := rangeQuery(b, eng, ref, q.query, t0, end, q.step)
		got := rangeQuery(b, eng, ours, q.query, t0, end, q.step)
		b.Logf("%s: %s: %d series in the answer", q.name, q.query, len(want))
		if d := diffMatrix(got, want); d != "" {
			b.Logf("%s: ANSWERS DIFFER: telltale %s", q.name, d)
			mismatch[i] = 1
		}
	}
	for i, q := range queries {

		var refNs float64
		for _, st := range []struct {
			name string
			q    promstorage.Queryable
		}{{"reference", ref}, {"telltale", ours}} {
			b.Run("query="+q.name+"/store="+st.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rangeQuery(b, eng, st.q, q.query, t0, end, q.step)
				}
				ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
				if st.name == "reference" {
					refNs = ns
				} else {
					if refNs > 0 {
						b.ReportMetric(ns/refNs, "x-reference")
					}
					b.ReportMetric(mismatch[i], "answer-mismatch")
				}
			})
		}
	}
}

// BenchmarkFlushKnownSeries times one flush (AppendSamples + Commit) of
// 100 000 series that already exist: a first flush creates them, then each
// iteration is the next flush, 10 s later, with every value changed
// (target < 1 s). Run it with
//
//	make bench-history
//
// or alone with
//
//	TELLTALE_BENCH_HISTORY=1 go test -run='^$' -bench=FlushKnownSeries -benchmem ./bench/history
func BenchmarkFlushKnownSeries(b *testing.B) {
	skipUnlessEnabled(b)
	db := openDB(b, b.TempDir())
	b.Cleanup(func() {
		if err := db.Close(); err != nil {
			b.Error(err)
		}
	})
	w := newWorkload(knownSeries)
	t := dayStart()
	if err := db.AppendSamples(t, w.samples); err != nil {
		b.Fatal(err)
	}
	if err := db.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		w.next()
		t += flushStep
		b.StartTimer()
		if err := db.AppendSamples(t, w.samples); err != nil {
			b.Fatal(err)
		}
		if err := db.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/knownSeries, "ns/sample")
}
