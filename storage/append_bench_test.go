package storage_test

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/telltale-dev/telltale/storage"
)

// newSeriesSamples returns count samples of distinct series with 4 labels
// each (__name__, host, id, job), as a flush of new series brings them.
func newSeriesSamples(count int) []storage.Sample {
	samples := make([]storage.Sample, count)
	for i := range samples {
		samples[i] = storage.Sample{
			Labels: lbls("__name__", "metric_"+strconv.Itoa(i%100), "host", "host-"+strconv.Itoa(i%50), "id", strconv.Itoa(i), "job", "api"),
			Value:  float64(i),
		}
	}
	return samples
}

// heapAfterGC returns the live heap after a full collection.
func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// benchAppendNew measures one AppendSamples and one Commit of count new
// series in a fresh DB per iteration, and reports ns/series and the heap
// the DB keeps per series afterwards (B/series: HeapAlloc after GC, less
// HeapAlloc after GC before the call, with the samples alive in both).
func benchAppendNew(b *testing.B, count int) {
	samples := newSeriesSamples(count)
	b.ReportAllocs()
	var perSeries float64
	for b.Loop() {
		b.StopTimer()
		db, err := storage.Open(storage.DefaultConfig(b.TempDir()), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		before := heapAfterGC()
		b.StartTimer()
		if err := db.AppendSamples(t0, samples); err != nil {
			b.Fatal(err)
		}
		if err := db.Commit(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		perSeries = (float64(heapAfterGC()) - float64(before)) / float64(count)
		runtime.KeepAlive(samples)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*count), "ns/series")
	b.ReportMetric(perSeries, "B/series")
}

// BenchmarkAppendNewSeries is one flush of 100 000 new series (target
// < 1 s, i.e. < 10 000 ns/series, and < 250 B/series kept):
//
//	go test -run='^$' -bench='^BenchmarkAppendNewSeries$' -benchtime=3x ./storage/
//	go test -run='^$' -bench='^BenchmarkAppendNewSeries$' -benchtime=1x -cpuprofile=cpu.out -memprofile=mem.out ./storage/
func BenchmarkAppendNewSeries(b *testing.B) { benchAppendNew(b, 100_000) }

// BenchmarkAppendNewSeries1M is one flush of 1 000 000 new series (target
// < 10 s). Run it once:
//
//	go test -run='^$' -bench='^BenchmarkAppendNewSeries1M$' -benchtime=1x -timeout=10m ./storage/
func BenchmarkAppendNewSeries1M(b *testing.B) { benchAppendNew(b, 1_000_000) }
