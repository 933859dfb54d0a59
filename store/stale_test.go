package store

import (
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
)

var staleNaN = math.Float64frombits(value.StaleNaN)

// wantSamples checks the raw samples of the one series the matchers select, bit for bit.
func wantSamples(t *testing.T, db *DB, what string, ls Labels, want []Sample) {
	t.Helper()
	got := selectRaw(t, db, eq(MetricName, ls.Get(MetricName)))
	if len(got) != 1 || len(got[0].Samples) != len(want) {
		t.Fatalf("%s: %v, want one series of %v", what, got, want)
	}
	for i, s := range got[0].Samples {
		if s.T != want[i].T || math.Float64bits(s.V) != math.Float64bits(want[i].V) {
			t.Fatalf("%s: sample %d is %v (bits %#x), want %v (bits %#x)", what, i, s, math.Float64bits(s.V), want[i], math.Float64bits(want[i].V))
		}
	}
}

// TestStaleMarkerSurvives appends a staleness marker between ordinary
// samples and a plain NaN after them, and finds every bit pattern again
// from memory, after a flush (a WAL record), after a crash (WAL replay),
// after the chunk closed, and after a clean close (a checkpoint).
func TestStaleMarkerSurvives(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "stale.db")
	db := openTest(t, path, clk, nil)
	ls := lbl("up", "job", "node")
	t0 := baseTime.UnixMilli() - 60_000
	want := []Sample{{t0, 1}, {t0 + 15_000, staleNaN}, {t0 + 30_000, 1}, {t0 + 45_000, math.NaN()}, {t0 + 50_000, staleNaN}}
	for _, s := range want {
		mustAppend(t, db, ls, s.T, s.V)
	}
	wantSamples(t, db, "in memory", ls, want)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	wantSamples(t, db, "after flush", ls, want)
	abandon(t, db)
	db = openTest(t, path, clk, nil)
	wantSamples(t, db, "after WAL replay", ls, want)
	// An identical resend of the marker is accepted; another value at its time is not.
	mustAppend(t, db, ls, t0+50_000, staleNaN)
	if err := db.Append(ls, t0+50_000, math.NaN()); err == nil {
		t.Fatal("a plain NaN at the marker's time was taken as its resend")
	}
	clk.t = clk.t.Add(2 * time.Hour) // past MaxChunkAge: the flush closes the chunk
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	wantSamples(t, db, "after chunk close", ls, want)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	wantSamples(t, db, "after reopen", ls, want)
	if err := db.Check(); err != nil {
		t.Fatalf("check with staleness markers in chunks: %v", err)
	}
}

// TestStaleMarkerInCheckpoint reopens from a checkpointed open chunk that
// ends with a marker.
func TestStaleMarkerInCheckpoint(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "stale.db")
	db := openTest(t, path, clk, nil)
	ls := lbl("up", "job", "node")
	t0 := baseTime.UnixMilli() - 60_000
	want := []Sample{{t0, 1}, {t0 + 15_000, staleNaN}}
	for _, s := range want {
		mustAppend(t, db, ls, s.T, s.V)
	}
	if err := db.Close(); err != nil { // a clean close checkpoints the open chunk
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	wantSamples(t, db, "after checkpoint", ls, want)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ls, t0+15_000, 3); err == nil {
		t.Fatal("another value at the marker's time was accepted after reopen")
	}
}

// TestRollupsSkipStaleMarkers folds a series with markers and NaN into
// rollups: they equal the rollups of its numbers alone.
func TestRollupsSkipStaleMarkers(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "r.db"), clk, nil)
	ls := lbl("jobs_total")
	t0 := baseTime.UnixMilli() - 3*hourMs
	var all, numbers []Sample
	for i := range 600 {
		s := Sample{t0 + int64(i)*15_000, float64(i)}
		switch i % 7 {
		case 3:
			s.V = staleNaN
		case 5:
			s.V = math.NaN()
		default:
			numbers = append(numbers, s)
		}
		all = append(all, s)
		mustAppend(t, db, ls, s.T, s.V)
	}
	clk.t = clk.t.Add(2 * time.Hour) // close the chunk, so rollups are written from it
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tier Tier
		res  int64
	}{{TierMinute, minuteMs}, {TierHour, hourMs}} {
		got, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: []*labelsMatcher{eq(MetricName, "jobs_total")}}, tc.tier)
		if err != nil || len(got) != 1 {
			t.Fatalf("select %s: %v, %d series", tc.tier, err, len(got))
		}
		samePoints(t, tc.tier.String(), got[0].Points, wantRollup(numbers, tc.res))
		for _, p := range got[0].Points {
			for a := Aggregate(0); a < numAggregates; a++ {
				if math.IsNaN(p.Get(a)) {
					t.Fatalf("%s point at %d has %s NaN", tc.tier, p.T, a)
				}
			}
		}
	}
	wantSamples(t, db, "raw", ls, all)
}

// TestRollupCounterIgnoresInfinity keeps the counter aggregate finite past
// an infinite sample, which min, max and sum still see.
func TestRollupCounterIgnoresInfinity(t *testing.T) {
	st := newRollupState()
	for _, s := range []Sample{{0, 5}, {10_000, math.Inf(1)}, {20_000, 7}, {70_000, 9}} {
		st.addRaw(s, rollupSink{})
	}
	pts := st.points(minuteMs)
	if len(pts) != 2 || !math.IsInf(pts[0].Max, 1) || pts[0].Counter != 7 || pts[1].Counter != 9 {
		t.Fatalf("points %+v: want max +Inf in the first, counter 7 then 9", pts)
	}
}
