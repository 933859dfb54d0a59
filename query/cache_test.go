package query

import (
	"context"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/promql"
)

func TestCacheServesSettledStepsAndKeepsRecentFresh(t *testing.T) {
	l := loadBoth(t)
	now := dataEnd.Add(30 * time.Second)
	var hits, misses int
	e := New(l.db, &Options{Now: func() time.Time { return now }, CacheResult: func(hit bool) {
		if hit {
			hits++
		} else {
			misses++
		}
	}})
	uncached := New(l.db, &Options{CacheBytes: -1})
	q := `sum by (instance) (memory_bytes)`
	start, end := now.Add(-time.Hour), now
	run := func() promql.Matrix {
		t.Helper()
		m, _, err := e.Range(context.Background(), q, start, end, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	first := run()
	second := run()
	if hits != 1 || misses != 1 {
		t.Fatalf("hits %d, misses %d; want 1 and 1", hits, misses)
	}
	want, _, _ := uncached.Range(context.Background(), q, start, end, time.Minute)
	for _, got := range []promql.Matrix{first, second} {
		if d := diff(got, want); d != "" {
			t.Fatalf("cached answer differs from the engine's: %s", d)
		}
	}
	// New data within the last step shows at once.
	for _, inst := range []string{"a:9100", "b:9100"} {
		if err := l.db.Append(store.Labels{{Name: "__name__", Value: "memory_bytes"}, {Name: "instance", Value: inst}, {Name: "job", Value: "api"}}, dataEnd.Add(20*time.Second).UnixMilli(), 42); err != nil {
			t.Fatal(err)
		}
	}
	third := run()
	if hits != 2 {
		t.Fatalf("hits %d, want 2", hits)
	}
	for _, s := range third {
		if last := s.Floats[len(s.Floats)-1]; last.F != 42 || last.T != end.UnixMilli() {
			t.Fatalf("%s: newest point %+v, want 42 at %d", s.Metric, last, end.UnixMilli())
		}
	}
}

func TestCacheIsBounded(t *testing.T) {
	l := loadBoth(t)
	e := New(l.db, &Options{CacheBytes: 64 << 10})
	for i := range 40 {
		start := dataEnd.Add(-3*time.Hour + time.Duration(i)*time.Minute)
		if _, _, err := e.Range(context.Background(), `memory_bytes`, start, start.Add(time.Hour), time.Minute); err != nil {
			t.Fatal(err)
		}
		if e.cache.size > 64<<10 {
			t.Fatalf("cache holds %d bytes, bound 65536", e.cache.size)
		}
	}
	if len(e.cache.items) == 0 || len(e.cache.items) == 40 {
		t.Fatalf("cache holds %d entries: nothing cached, or nothing evicted", len(e.cache.items))
	}
}

func TestCacheableQueries(t *testing.T) {
	e := New(nil, nil)
	for q, want := range map[string]bool{
		`rate(x[5m])`:                  true,
		`x @ 1700000000`:               true,
		`x @ start()`:                  false,
		`max_over_time(x[1h] @ end())`: false,
		`rate(x[5m])[1h:1m] @ end()`:   false,
	} {
		if got := cacheable(e.parser, q); got != want {
			t.Errorf("cacheable(%q) = %v, want %v", q, got, want)
		}
	}
}
