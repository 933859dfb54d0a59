package query

import (
	"context"
	"testing"
	"time"
)

// TestWithStats: a query run with WithStats reports Prometheus' timings
// and sample counts, per step when asked; a range query asked for them is
// evaluated whole rather than served from the cache.
func TestWithStats(t *testing.T) {
	l := loadBoth(t)
	now := dataEnd.Add(30 * time.Second)
	var lookups int
	e := New(l.db, &Options{Now: func() time.Time { return now }, CacheResult: func(bool) { lookups++ }})
	q := `sum by (instance) (memory_bytes)`

	ctx, st := WithStats(context.Background(), false)
	if _, _, err := e.Instant(ctx, q, dataEnd); err != nil {
		t.Fatal(err)
	}
	b := st.Result.Builtin()
	if b.Samples == nil || b.Samples.TotalQueryableSamples == 0 || b.Timings.ExecTotalTime <= 0 || b.Samples.SamplesReadPerStep != nil {
		t.Fatalf("instant stats: %+v, samples %+v", b, b.Samples)
	}

	ctx, st = WithStats(context.Background(), true)
	start := now.Add(-time.Hour)
	if _, _, err := e.Range(ctx, q, start, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	b = st.Result.Builtin()
	if b.Samples == nil || len(b.Samples.TotalQueryableSamplesPerStep) != 61 {
		t.Fatalf("range stats per step: %+v", b.Samples)
	}
	if lookups != 0 {
		t.Errorf("a range query asking for statistics looked up the cache %d times", lookups)
	}
	if _, _, err := e.Range(context.Background(), q, start, now, time.Minute); err != nil || lookups != 1 {
		t.Errorf("without statistics: %d cache lookups, %v", lookups, err)
	}
}
