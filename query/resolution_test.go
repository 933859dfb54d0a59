package query

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/promql"
)

// clocked is a store and the clock it runs by.
type clocked struct {
	db    *store.DB
	clock *time.Time
}

// clockStore opens a store whose clock the test moves as it writes.
func clockStore(t *testing.T, raw time.Duration) clocked {
	t.Helper()
	clock := new(time.Time)
	db, err := store.Open(filepath.Join(t.TempDir(), "r.db"), &store.Options{
		FlushInterval: -1, PruneInterval: -1, RawRetention: raw,
		Now: func() time.Time { return *clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return clocked{db, clock}
}

// writeEvery appends v(i) to each store at start + i*every (+ a jitter of a
// few hundred ms) until end, its clock following, and flushes now and then.
func writeEvery(t *testing.T, ls store.Labels, start, end time.Time, every time.Duration, v func(i int) float64, dbs ...clocked) {
	t.Helper()
	for i, ts := 0, start; !ts.After(end); i, ts = i+1, ts.Add(every) {
		jittered := ts.Add(time.Duration(i*7919%500) * time.Millisecond)
		for _, c := range dbs {
			*c.clock = jittered
			if err := c.db.Append(ls, jittered.UnixMilli(), v(i)); err != nil {
				t.Fatal(err)
			}
			if i%200 == 0 {
				if err := c.db.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, c := range dbs {
		*c.clock = end
		if err := c.db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
}

func rangeOf(t *testing.T, e *Engine, q string, start, end time.Time, step time.Duration, res Resolution) (promql.Matrix, string) {
	t.Helper()
	m, ws, err := e.RangeAt(context.Background(), q, start, end, step, res)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	w, _ := ws.AsStrings("", 10, 0)
	return m, strings.Join(w, "; ")
}

// TestPastRawRetention: a range reaching past the raw retention is
// answered from the rollups for that time, exactly where windows fall on
// minute boundaries, and says so; no counter reset appears where the
// rollups meet the raw samples.
func TestPastRawRetention(t *testing.T) {
	short, full := clockStore(t, 2*time.Hour), clockStore(t, 30*24*time.Hour)
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	start := end.Add(-6 * time.Hour)
	gauge := store.Labels{{Name: "__name__", Value: "temperature"}}
	counter := store.Labels{{Name: "__name__", Value: "requests_total"}}
	writeEvery(t, gauge, start.Add(3*time.Second), end, 10*time.Second, func(i int) float64 { return 20 + 5*math.Sin(float64(i)/40) }, short, full)
	writeEvery(t, counter, start.Add(3*time.Second), end, 10*time.Second, func(i int) float64 {
		if i > 1000 { // a reset two hours before the raw samples begin
			return float64(i-1000) * 3
		}
		return float64(i) * 3
	}, short, full)
	if _, err := short.db.Prune(); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return end }
	e, truth := New(short.db, &Options{CacheBytes: -1, Now: now}), New(full.db, &Options{CacheBytes: -1, Now: now})
	from := start.Add(time.Hour)
	for _, c := range []struct {
		q   string
		tol float64
	}{
		{`max_over_time(temperature[10m])`, 1e-12},
		{`count_over_time(temperature[10m])`, 1e-12},
		{`avg_over_time(temperature[10m])`, 1e-12},
		{`increase(requests_total[30m])`, 0.03},
	} {
		want, ws := rangeOf(t, truth, c.q, from, end, time.Minute, ResolutionRaw)
		if ws != "" {
			t.Fatalf("%s within the raw retention warns %q", c.q, ws)
		}
		got, ws := rangeOf(t, e, c.q, from, end, time.Minute, ResolutionRaw)
		if !strings.Contains(ws, "older than the 2h0m0s raw retention was read from the 1-minute rollup tier") {
			t.Errorf("%s: warnings %q, want the raw retention named", c.q, ws)
		}
		rel, d := maxRelErr(got, want)
		if d != "" || rel > c.tol {
			t.Errorf("%s past the raw retention: %s, worst relative error %.3g (allowed %g)", c.q, d, rel, c.tol)
		}
	}
}

// TestSparseSeriesStayRaw: data scraped once a minute is no smaller in
// the 1-minute tier, so auto reads its raw samples: exact, and no warning.
func TestSparseSeriesStayRaw(t *testing.T) {
	db := clockStore(t, 30*24*time.Hour)
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	writeEvery(t, store.Labels{{Name: "__name__", Value: "host_cpu_ratio"}}, end.Add(-6*time.Hour+7*time.Second), end, time.Minute, func(i int) float64 { return float64(i%17) / 17 }, db)
	e := New(db.db, &Options{CacheBytes: -1, Now: func() time.Time { return end }})
	for _, q := range []string{`host_cpu_ratio`, `max_over_time(host_cpu_ratio[10m])`, `avg_over_time(host_cpu_ratio[10m])`} {
		want, _ := rangeOf(t, e, q, end.Add(-5*time.Hour), end, 5*time.Minute, ResolutionRaw)
		got, ws := rangeOf(t, e, q, end.Add(-5*time.Hour), end, 5*time.Minute, ResolutionAuto)
		if ws != "" {
			t.Errorf("%s: warnings %q, want none: no rollup served it", q, ws)
		}
		if rel, d := maxRelErr(got, want); d != "" || rel > 1e-12 { // avg is summed and counted, not averaged by the engine
			t.Errorf("%s at auto differs from raw: %s %g", q, d, rel)
		}
	}
}

// TestYoungCounterAtHourTier: increase over a day at the 1-hour tier
// answers for a counter that began 90 minutes ago, close to raw.
func TestYoungCounterAtHourTier(t *testing.T) {
	db := clockStore(t, 30*24*time.Hour)
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	for _, code := range []string{"200", "500"} {
		begin := end.Add(-10 * time.Hour)
		if code == "500" {
			begin = end.Add(-90 * time.Minute)
		}
		ls := store.Labels{{Name: "__name__", Value: "web_requests_total"}, {Name: "code", Value: code}}
		writeEvery(t, ls, begin.Add(3*time.Second), end, 10*time.Second, func(i int) float64 { return float64(i) * 2 }, db)
	}
	e := New(db.db, &Options{CacheBytes: -1, Now: func() time.Time { return end }})
	q := `sum by (code) (increase(web_requests_total[1d]))`
	want, _ := rangeOf(t, e, q, end.Add(-12*time.Hour), end, time.Hour, ResolutionRaw)
	got, ws := rangeOf(t, e, q, end.Add(-12*time.Hour), end, time.Hour, ResolutionHour)
	if !strings.Contains(ws, "1-hour rollups") {
		t.Errorf("warnings %q, want the 1-hour tier named", ws)
	}
	if len(got) != len(want) {
		t.Fatalf("%d series at the 1-hour tier, %d raw: %v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i].Floats, want[i].Floats
		if len(g) == 0 || g[len(g)-1].T != w[len(w)-1].T {
			t.Fatalf("%s: points %v, raw %v", want[i].Metric, g, w)
		}
		if a, b := g[len(g)-1].F, w[len(w)-1].F; math.Abs(a-b) > 0.05*b {
			t.Errorf("%s now: %g at the 1-hour tier, %g raw", want[i].Metric, a, b)
		}
	}
}
