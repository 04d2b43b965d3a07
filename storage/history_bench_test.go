package storage_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/telltale-dev/telltale/storage"
)

// dayFlushes is a day of 10 s flushes.
const dayFlushes = 8640

// realistic produces the values of count series flush by flush: even series
// are counters increasing by small integers, odd ones gauges doing a random
// walk of small integer steps (queue lengths, connections, bytes).
type realistic struct {
	rng     *rand.Rand
	samples []storage.Sample
}

// newRealistic returns the first flush of count series.
func newRealistic(count int) *realistic {
	r := &realistic{rng: rand.New(rand.NewPCG(1, 2)), samples: make([]storage.Sample, count)}
	for i := range r.samples {
		name := "requests_total"
		if i%2 == 1 {
			name = "queue_length"
		}
		r.samples[i] = storage.Sample{
			Labels: lbls("__name__", name, "host", "h"+strconv.Itoa(i%50), "i", strconv.Itoa(i)),
			Value:  float64(r.rng.IntN(1000)),
		}
	}
	return r
}

// next advances every series by one flush.
func (r *realistic) next() {
	for i := range r.samples {
		if i%2 == 0 {
			r.samples[i].Value += float64(r.rng.IntN(10))
		} else {
			r.samples[i].Value = math.Max(0, r.samples[i].Value+float64(r.rng.IntN(7)-3))
		}
	}
}

// writeDay appends a day of flushes of count series to db.
func writeDay(tb testing.TB, db *storage.DB, count int) {
	r := newRealistic(count)
	for n := range dayFlushes {
		if err := db.AppendSamples(t0+int64(n)*step, r.samples); err != nil {
			tb.Fatal(err)
		}
		if err := db.Commit(); err != nil {
			tb.Fatal(err)
		}
		r.next()
	}
}

// dirSize returns the sum of the sizes of the files in dir.
func dirSize(tb testing.TB, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkHistoryDisk writes a day of 10 s flushes of 1 000 series (one
// AppendSamples and one Commit per flush) and reports the disk bytes per
// sample after Close (target < 3) and the append time per sample.
func BenchmarkHistoryDisk(b *testing.B) {
	const series = 1000
	b.ReportAllocs()
	var bytesPerSample float64
	for b.Loop() {
		dir := b.TempDir()
		db, err := storage.Open(storage.DefaultConfig(dir), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		writeDay(b, db, series)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		bytesPerSample = float64(dirSize(b, dir)) / (series * dayFlushes)
	}
	b.ReportMetric(bytesPerSample, "bytes/sample")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*series*dayFlushes), "ns/sample")
}

// BenchmarkSamplesDay reads the day of one series out of 100 (target
// < 50 ms).
func BenchmarkSamplesDay(b *testing.B) {
	db, err := storage.Open(storage.DefaultConfig(b.TempDir()), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const series = 100
	writeDay(b, db, series)
	id, _, err := db.SeriesID(newRealistic(series).samples[42].Labels)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(dayFlushes * 16)
	for b.Loop() {
		pts, err := db.Samples(id, t0, t0+dayFlushes*step)
		if err != nil || len(pts) != dayFlushes {
			b.Fatalf("Samples: %d points, %v", len(pts), err)
		}
	}
}
