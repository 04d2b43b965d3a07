package storage_test

import (
	"fmt"
	"testing"

	"github.com/telltale-dev/telltale/storage"
	"github.com/telltale-dev/telltale/storage/storagetest"
)

// BenchmarkSeriesID measures SeriesID for a series already known since
// Open: the cache hit path, which must not read Badger nor allocate.
//
//	go test -run='^$' -bench=BenchmarkSeriesID -benchmem -count=6 ./storage/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkSeriesID(b *testing.B) {
	db := storagetest.OpenTemp(b)
	ls := lbls("__name__", "http_requests_total", "code", "200", "handler", "/api/v1/query", "instance", "host-1:9100", "job", "api")
	want := mustID(b, db, ls)
	b.ReportAllocs()
	for b.Loop() {
		if id, _, err := db.SeriesID(ls); err != nil || id != want {
			b.Fatalf("SeriesID = %d, %v", id, err)
		}
	}
}

// BenchmarkSeriesIDCreate measures creating new series one at a time (one
// Badger transaction each).
func BenchmarkSeriesIDCreate(b *testing.B) {
	db := storagetest.OpenTemp(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ls := lbls("__name__", "m", "i", fmt.Sprint(i))
		i++
		if _, _, err := db.SeriesID(ls); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSelect measures Select over 100 000 series: 100 metric names ×
// 1 000 instances, each in one of 10 jobs.
//
//	go test -run='^$' -bench=BenchmarkSelect -benchmem -count=6 ./storage/ | tee new.txt
//	benchstat old.txt new.txt
func BenchmarkSelect(b *testing.B) {
	const names, instances = 100, 1000
	db := storagetest.OpenTemp(b)
	lss := make([]storage.Labels, 0, names*instances)
	for n := range names {
		for i := range instances {
			lss = append(lss, lbls("__name__", fmt.Sprintf("metric_%03d", n), "instance", fmt.Sprintf("host-%04d:9100", i), "job", fmt.Sprintf("job-%d", i%10)))
		}
	}
	for start := 0; start < len(lss); start += 10000 {
		if _, _, err := db.SeriesIDs(nil, lss[start:start+10000]); err != nil {
			b.Fatal(err)
		}
	}
	m := func(t storage.MatchType, name, value string) storage.Matcher { return mustMatcher(b, t, name, value) }
	for _, bc := range []struct {
		name     string
		matchers []storage.Matcher
		want     int
	}{
		{"name", []storage.Matcher{m(storage.MatchEqual, "__name__", "metric_042")}, instances},
		{"name,job", []storage.Matcher{m(storage.MatchEqual, "__name__", "metric_042"), m(storage.MatchEqual, "job", "job-3")}, instances / 10},
		{"name,job!=", []storage.Matcher{m(storage.MatchEqual, "__name__", "metric_042"), m(storage.MatchNotEqual, "job", "job-3")}, instances * 9 / 10},
		{"name,instance=~prefix", []storage.Matcher{m(storage.MatchEqual, "__name__", "metric_042"), m(storage.MatchRegexp, "instance", "host-00.*")}, 100},
		{"instance=~unanchored", []storage.Matcher{m(storage.MatchRegexp, "instance", ".*-0001:.*")}, names},
		{"name=~alternation", []storage.Matcher{m(storage.MatchRegexp, "__name__", "metric_001|metric_002")}, 2 * instances},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ids, err := db.Select(bc.matchers...)
				if err != nil || len(ids) != bc.want {
					b.Fatalf("Select = %d ids, %v; want %d", len(ids), err, bc.want)
				}
			}
		})
	}
}
