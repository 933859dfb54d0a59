package store

import (
	"path/filepath"
	"testing"
	"time"
)

func TestPruneByTier(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "p.db")
	db := openTest(t, path, clk, func(o *Options) {
		o.RawRetention = 2 * time.Hour
		o.MinuteRetention = 6 * time.Hour
		o.HourRetention = 48 * time.Hour
		o.PruneBatch = 7 // many small transactions
	})
	ls := lbl("g", "k", "v")
	// 20 hours of 10 s samples, written as they arrive.
	start := baseTime.Add(-20 * time.Hour)
	for ts := start; ts.Before(baseTime); ts = ts.Add(10 * time.Second) {
		clk.t = ts
		mustAppend(t, db, ls, ts.UnixMilli(), 1)
		if ts.Unix()%600 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	now := baseTime.UnixMilli()
	oldest := func(tier Tier) int64 {
		got, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: []*labelsMatcher{eq(MetricName, "g")}}, tier)
		if err != nil || len(got) != 1 {
			t.Fatalf("select %s: %v, %d series", tier, err, len(got))
		}
		return got[0].Samples[0].T
	}
	hourBefore := oldest(TierHour)
	clk.t = baseTime
	n, err := db.Prune()
	if err != nil || n == 0 {
		t.Fatalf("prune: %d blocks, %v", n, err)
	}
	for _, c := range []struct {
		tier       Tier
		keep       time.Duration
		span, step int64 // a block's longest span, the spacing of its points
	}{{TierRaw, 2 * time.Hour, maxChunkSpan, 10_000}, {TierMinute, 6 * time.Hour, pointsPerBlock * minuteMs, minuteMs}} {
		o, cutoff := oldest(c.tier), now-c.keep.Milliseconds()
		// Whole blocks go: nothing older than one block before the cutoff
		// survives, and nothing inside the window is lost.
		if o < cutoff-c.span || o > cutoff+c.step {
			t.Errorf("%s: oldest point %s after pruning with %s retention", c.tier, time.UnixMilli(o).UTC(), c.keep)
		}
	}
	if o := oldest(TierHour); o != hourBefore {
		t.Errorf("1h tier lost data inside its 48 h retention: oldest %s, was %s", time.UnixMilli(o).UTC(), time.UnixMilli(hourBefore).UTC())
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if db.Stats().PrunedBlocks != uint64(n) {
		t.Fatalf("stats pruned %d, want %d", db.Stats().PrunedBlocks, n)
	}
}

func TestPruneForgetsExpiredSeries(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "p.db"), clk, func(o *Options) { o.RetentionCap = time.Hour })
	old, live := lbl("gone", "a", "1"), lbl("kept", "a", "1")
	for i := range 300 {
		mustAppend(t, db, old, baseTime.UnixMilli()-int64(300-i)*1000, 1)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	clk.t = baseTime.Add(3 * time.Hour)
	mustAppend(t, db, live, clk.t.UnixMilli(), 1)
	// Flush closes the idle series' open chunk (MaxChunkAge); prune then drops it all.
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Prune(); err != nil {
		t.Fatal(err)
	}
	if got := db.Stats().Series; got != 1 {
		t.Fatalf("series after pruning: %d, want 1", got)
	}
	// The forgotten series comes back as a new one when it is written again.
	mustAppend(t, db, old, clk.t.UnixMilli(), 2)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := selectRaw(t, db, eq(MetricName, "gone")); len(got) != 1 || len(got[0].Samples) != 1 {
		t.Fatalf("re-created series: %+v", got)
	}
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}
