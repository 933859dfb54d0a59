package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"atroz/store"
)

// benchStore opens a store whose clock follows the data as it is written.
func benchStore(b *testing.B) (*store.DB, *time.Time) {
	b.Helper()
	clock := new(time.Time)
	db, err := store.Open(filepath.Join(b.TempDir(), "b.db"), &store.Options{
		FlushInterval: -1, PruneInterval: -1, RawRetention: 40 * 24 * time.Hour, MaxSeries: 200_000,
		Now: func() time.Time { return *clock },
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db, clock
}

// writeHistograms writes a latency histogram (10 buckets) per route at 15 s
// for span, ending at end.
func writeHistograms(b *testing.B, db *store.DB, clock *time.Time, routes int, span time.Duration, end time.Time) {
	b.Helper()
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	r := rand.New(rand.NewPCG(1, 2))
	type series struct {
		ls store.Labels
		v  float64
	}
	var all []*series
	for i := range routes {
		for _, le := range les {
			all = append(all, &series{ls: store.Labels{{Name: "__name__", Value: "http_request_duration_seconds_bucket"}, {Name: "le", Value: le}, {Name: "route", Value: fmt.Sprintf("/api/v1/r%d", i)}}})
		}
	}
	for t, n := end.Add(-span), 0; !t.After(end); t, n = t.Add(15*time.Second), n+1 {
		*clock = t
		for j, s := range all {
			s.v += float64(r.IntN(3 + j%len(les)))
			if err := db.Append(s.ls, t.UnixMilli(), s.v); err != nil {
				b.Fatal(err)
			}
		}
		if n%40 == 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHistogramQuantile24h charts p95 latency per route for 50 routes
// over 24 h (2 h with -short) at a 1-minute step, from raw samples and from
// the 1-minute rollups, in one run so the two compare.
func BenchmarkHistogramQuantile24h(b *testing.B) {
	span := 24 * time.Hour
	if testing.Short() {
		span = 2 * time.Hour
	}
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	db, clock := benchStore(b)
	writeHistograms(b, db, clock, 50, span, end)
	q := `histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))`
	for _, res := range []Resolution{ResolutionRaw, ResolutionMinute} {
		b.Run(res.String(), func(b *testing.B) {
			e := New(db, &Options{CacheBytes: -1, Now: func() time.Time { return end }})
			benchRange(b, e, q, end.Add(-span), end, time.Minute, res, 50)
		})
	}
}

// BenchmarkChart30Days charts one series over 30 days (3 with -short) at a
// 1-hour step: the rollups answer from the 1-hour tier.
func BenchmarkChart30Days(b *testing.B) {
	days := 30
	if testing.Short() {
		days = 3
	}
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	span := time.Duration(days) * 24 * time.Hour
	db, clock := benchStore(b)
	ls := store.Labels{{Name: "__name__", Value: "process_resident_memory_bytes"}, {Name: "job", Value: "atroz"}}
	r := rand.New(rand.NewPCG(3, 4))
	v := 1e8
	for t, n := end.Add(-span), 0; !t.After(end); t, n = t.Add(10*time.Second), n+1 {
		*clock = t
		v += float64(r.IntN(200)-100) * 4096
		if err := db.Append(ls, t.UnixMilli(), v); err != nil {
			b.Fatal(err)
		}
		if n%1000 == 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	q := `max_over_time(process_resident_memory_bytes[1h])`
	for _, res := range []Resolution{ResolutionRaw, ResolutionHour} {
		b.Run(res.String(), func(b *testing.B) {
			e := New(db, &Options{CacheBytes: -1, Now: func() time.Time { return end }})
			benchRange(b, e, q, end.Add(-span), end, time.Hour, res, 1)
		})
	}
}

// BenchmarkCacheHit serves a dashboard panel's repeated query from the
// result cache: everything but the last step comes from memory.
func BenchmarkCacheHit(b *testing.B) {
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	db, clock := benchStore(b)
	writeHistograms(b, db, clock, 5, 2*time.Hour, end)
	e := New(db, &Options{Now: func() time.Time { return end.Add(time.Hour) }}) // the whole range has settled
	q := `sum by (route) (rate(http_request_duration_seconds_bucket{le="+Inf"}[5m]))`
	if _, _, err := e.Range(context.Background(), q, end.Add(-time.Hour), end, time.Minute); err != nil {
		b.Fatal(err)
	}
	benchRange(b, e, q, end.Add(-time.Hour), end, time.Minute, ResolutionRaw, 5)
}

func benchRange(b *testing.B, e *Engine, q string, start, end time.Time, step time.Duration, res Resolution, wantSeries int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, _, err := e.RangeAt(context.Background(), q, start, end, step, res)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != wantSeries {
			b.Fatalf("%d series, want %d", len(m), wantSeries)
		}
	}
}
