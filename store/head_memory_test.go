package store

import (
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// headTestNow is the clock of the head memory tests.
var headTestNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// openHeadDB opens a store with no background work, room for n series and
// a fixed clock.
func openHeadDB(tb testing.TB, n int) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "atroz.db"), &Options{
		FlushInterval: -1, PruneInterval: -1, MaxSeries: n,
		Now: func() time.Time { return headTestNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// headSeries is series i of the head tests: six labels, as a latency
// histogram's bucket carries them, each name and value a string of its
// own, as a request's decoder may give them.
func headSeries(i int) Labels {
	ls := Labels{
		{MetricName, "http_request_duration_seconds_bucket"},
		{"instance", "10.0." + strconv.Itoa(i/5000) + "." + strconv.Itoa(i%250) + ":9090"},
		{"job", "api"},
		{"le", strconv.Itoa(i % 10)},
		{"method", "GET"},
		{"route", "/api/v1/items/" + strconv.Itoa(i/10)},
	}
	for j, l := range ls {
		ls[j] = Label{strings.Clone(l.Name), strings.Clone(l.Value)}
	}
	return ls
}

// appendRounds appends rounds samples to each of n series, 2,000 series to a batch.
func appendRounds(tb testing.TB, db *DB, n, rounds int) {
	tb.Helper()
	start := headTestNow.Add(-time.Hour).UnixMilli()
	batch := make([]SeriesSamples, 0, 2000)
	for r := range rounds {
		for i := range n {
			batch = append(batch, SeriesSamples{Labels: headSeries(i), Samples: []Sample{{T: start + int64(r)*15_000, V: float64(r)}}})
			if len(batch) == cap(batch) || i == n-1 {
				if err := db.AppendAll(batch); err != nil {
					tb.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkHeadBytesPerSeries measures the heap the head keeps per active
// series: 100,000 series of six labels with four samples each, unflushed.
func BenchmarkHeadBytesPerSeries(b *testing.B) {
	const n = 100_000
	b.ReportAllocs()
	var perSeries float64
	for range b.N {
		db := openHeadDB(b, n)
		before := heapInUse()
		appendRounds(b, db, n, 4)
		perSeries += float64(heapInUse()-before) / n
		runtime.KeepAlive(db)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(perSeries/float64(b.N), "B/series")
}

// TestAppendExistingSeriesAllocs checks appending to a series that exists
// allocates nothing per sample, one by one or in a batch.
func TestAppendExistingSeriesAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not counted under -race")
	}
	db := openHeadDB(t, 10)
	ls := headSeries(1)
	ts := headTestNow.Add(-time.Hour).UnixMilli()
	if err := db.Append(ls, ts, 0); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(1000, func() {
		ts++
		if err := db.Append(ls, ts, 1); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Append: %v allocations per sample, want 0", a)
	}
	batch := []SeriesSamples{{Labels: ls, Samples: []Sample{{}}}}
	if a := testing.AllocsPerRun(1000, func() {
		ts++
		batch[0].Samples[0] = Sample{T: ts, V: 2}
		if err := db.AppendAll(batch); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("AppendAll: %v allocations per sample, want 0", a)
	}
}
