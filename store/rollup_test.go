package store

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// wantRollup aggregates raw samples into points of width res, the plain way.
func wantRollup(raw []Sample, res int64) []Point {
	var out []Point
	var cum, last float64
	for i, s := range raw {
		switch {
		case i == 0:
			cum = s.V
		case s.V < last:
			cum += s.V
		default:
			cum += s.V - last
		}
		last = s.V
		p := Point{T: s.T, Last: s.V, Min: s.V, Max: s.V, Sum: s.V, Count: 1, Counter: cum}
		if n := len(out); n > 0 && floorDiv(out[n-1].T, res) == floorDiv(s.T, res) {
			out[n-1].merge(p)
			continue
		}
		out = append(out, p)
	}
	return out
}

func closeEnough(a, b float64) bool {
	return a == b || math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

func samePoints(t *testing.T, what string, got, want []Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d points, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		for a := Aggregate(0); a < numAggregates; a++ {
			if g.T != w.T || !closeEnough(g.Get(a), w.Get(a)) {
				t.Fatalf("%s: point %d %s: got t=%d %g, want t=%d %g", what, i, a, g.T, g.Get(a), w.T, w.Get(a))
			}
		}
	}
}

// genCounter makes a counter with resets and irregular gaps.
func genCounter(r *rand.Rand, t0 int64, n int) []Sample {
	out := make([]Sample, 0, n)
	t, v := t0, 0.0
	for range n {
		t += 1000 + int64(r.IntN(3))*1000*int64(r.IntN(2)) // mostly 1 s, sometimes a gap
		if r.IntN(2000) == 0 {
			v = 0 // reset
		}
		v += float64(r.IntN(10))
		out = append(out, Sample{t, v})
	}
	return out
}

func TestRollupsMatchRaw(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	r := rand.New(rand.NewPCG(1, 2))
	t0 := baseTime.UnixMilli() - 20*3600_000
	raw := genCounter(r, t0, 9*3600) // about 9-10 hours: several 1m blocks
	ls := lbl("requests_total", "route", "/a")
	for i, s := range raw {
		mustAppend(t, db, ls, s.T, s.V)
		if r.IntN(500) == 0 || i == len(raw)/2 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	verify := func(db *DB, what string) {
		t.Helper()
		for _, tc := range []struct {
			tier Tier
			res  int64
		}{{TierMinute, minuteMs}, {TierHour, hourMs}} {
			got, err := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: []*labelsMatcher{eq(MetricName, "requests_total")}}, tc.tier)
			if err != nil || len(got) != 1 {
				t.Fatalf("%s: select %s: %v, %d series", what, tc.tier, err, len(got))
			}
			samePoints(t, what+" "+tc.tier.String(), got[0].Points, wantRollup(raw, tc.res))
			// A window inside the range returns exactly the points within it.
			mid := raw[len(raw)/3].T
			got, _ = db.SelectTier(Query{MinT: mid, MaxT: mid + 3*hourMs, Matchers: []*labelsMatcher{eq(MetricName, "requests_total")}}, tc.tier)
			samePoints(t, what+" window "+tc.tier.String(), got[0].Points, inRange(wantRollup(raw, tc.res), mid, mid+3*hourMs))
		}
	}
	verify(db, "before flush")
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	verify(db, "after flush")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db2 := openTest(t, path, clk, nil)
	verify(db2, "after reopen")
	ds, err := db2.DiskStats()
	if err != nil {
		t.Fatal(err)
	}
	if ds.Tiers[1].Blocks == 0 {
		t.Fatalf("no 1m rollup block written: %+v", ds)
	}
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestRollupCounterServesRate(t *testing.T) {
	// The counter aggregate with resets added back gives the raw increase.
	raw := []Sample{{0, 5}, {30_000, 9}, {60_000, 2}, {90_000, 4}, {120_000, 10}}
	pts := wantRollup(raw, minuteMs)
	st := newRollupState()
	for _, s := range raw {
		st.addRaw(s, rollupSink{})
	}
	got := st.points(minuteMs)
	samePoints(t, "state", got, pts)
	// raw increase: (9-5) + 2 + (4-2) + (10-4) = 14
	if inc := got[len(got)-1].Counter - 5; inc != 14 {
		t.Fatalf("increase from counter aggregate = %g, want 14", inc)
	}
}

func TestTierFor(t *testing.T) {
	clk := &testClock{baseTime}
	db := openTest(t, filepath.Join(t.TempDir(), "t.db"), clk, nil)
	now := baseTime.UnixMilli()
	f := func(res int64, minT int64, want Tier) {
		t.Helper()
		if got := db.TierFor(Query{MinT: minT, MaxT: now, Resolution: msDur(res)}); got != want {
			t.Fatalf("TierFor(res %dms, from %d) = %s, want %s", res, minT, got, want)
		}
	}
	f(0, now-3600_000, TierRaw)
	f(15_000, now-3600_000, TierRaw)
	f(minuteMs, now-3600_000, TierMinute)
	f(hourMs, now-3600_000, TierHour)
	f(15_000, now-20*24*hourMs, TierMinute) // raw keeps 15 days
	f(15_000, now-100*24*hourMs, TierHour)  // 1m keeps 90 days
}
