package query

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

// rollupCases are the functions rollups serve, with the relative error
// allowed against raw samples. Windows and steps here sit on minute (or
// hour) boundaries and no sample falls on one, so the interval aggregates
// are exact; rate and increase see one point per interval instead of every
// sample, which moves their extrapolation by a few percent over a window
// of 30 or more intervals (up to 10% seen here), and more over fewer.
var rollupCases = []struct {
	query string
	tol   float64
}{
	{`max_over_time(temperature_celsius[10m])`, 1e-9},
	{`min_over_time(temperature_celsius[10m])`, 1e-9},
	{`sum_over_time(memory_bytes[5m])`, 1e-9},
	{`count_over_time(temperature_celsius[15m])`, 1e-9},
	{`avg_over_time(temperature_celsius[10m])`, 1e-9},
	{`last_over_time(memory_bytes[30m])`, 1e-9},
	{`max by (instance) (max_over_time(memory_bytes[1h]))`, 1e-9},
	{`memory_bytes`, 1e-9},
	{`sum by (route) (http_requests_total)`, 1e-9},
	{`rate(http_requests_total[30m])`, 0.1},
	{`sum by (route) (increase(http_requests_total[30m]))`, 0.1},
	{`histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[30m])))`, 0.1},
}

// TestRollupsMatchRaw runs each query at 1-minute and 1-hour steps with and
// without rollups, checks the rollup tiers were really read, and compares.
func TestRollupsMatchRaw(t *testing.T) {
	l := loadBoth(t)
	raw := New(l.db, &Options{NoRollups: true, CacheBytes: -1})
	rolled := New(l.db, &Options{CacheBytes: -1})
	var tiers []store.Tier
	rolled.rolled.onSelect = func(p selectPlan) { tiers = append(tiers, p.tier) }
	end := dataEnd.Truncate(time.Hour) // 12:00:00, a minute and hour boundary
	for _, c := range rollupCases {
		for _, r := range []struct {
			start time.Time
			step  time.Duration
		}{{end.Add(-3 * time.Hour), time.Minute}, {end.Add(-3 * time.Hour), time.Hour}} {
			query := c.query
			if r.step == time.Hour { // hour steps need hour windows to use the hour tier
				query = hourWindows(query)
			}
			tiers = tiers[:0]
			want, _, err := raw.Range(context.Background(), query, r.start, end, r.step)
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := rolled.Range(context.Background(), query, r.start, end, r.step)
			if err != nil {
				t.Fatal(err)
			}
			if len(tiers) == 0 || tiers[0] == store.TierRaw {
				t.Errorf("%s at step %s read tiers %v, want a rollup tier", query, r.step, tiers)
			}
			if d := approxDiff(got, want, c.tol); d != "" {
				t.Errorf("%s at step %s: %s", query, r.step, d)
			}
		}
	}
}

func hourWindows(q string) string {
	for _, w := range []string{"[5m]", "[10m]", "[15m]", "[30m]"} {
		q = strings.ReplaceAll(q, w, "[1h]")
	}
	return q
}

// approxDiff compares two matrices point by point within a relative tolerance.
func approxDiff(got, want promql.Matrix, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Metric.String() != w.Metric.String() || len(g.Floats) != len(w.Floats) {
			return fmt.Sprintf("series %s with %d points, want %s with %d", g.Metric, len(g.Floats), w.Metric, len(w.Floats))
		}
		for j := range w.Floats {
			a, b := g.Floats[j], w.Floats[j]
			if a.T != b.T || !(a.F == b.F || math.Abs(a.F-b.F) <= tol*math.Max(math.Abs(a.F), math.Abs(b.F))) {
				return fmt.Sprintf("%s at %d: %g, want %g (tolerance %g)", w.Metric, b.T, a.F, b.F, tol)
			}
		}
	}
	return ""
}

func TestPlanSelect(t *testing.T) {
	f := func(h *storage.SelectHints, rollups bool, want selectPlan) {
		t.Helper()
		if got, _ := planSelect(h, nil, rollups); got != want {
			t.Fatalf("planSelect(%+v, %v) = %+v, want %+v", h, rollups, got, want)
		}
	}
	raw := selectPlan{tier: store.TierRaw}
	f(nil, true, raw)
	f(&storage.SelectHints{Step: 15_000, Func: "rate", Range: 300_000}, true, raw)
	f(&storage.SelectHints{Step: 60_000, Func: "rate", Range: 300_000}, false, raw)
	f(&storage.SelectHints{Step: 60_000, Func: "rate", Range: 300_000}, true, selectPlan{store.TierMinute, store.AggregateCounter})
	f(&storage.SelectHints{Step: 3_600_000, Func: "max_over_time", Range: 3_600_000}, true, selectPlan{store.TierHour, store.AggregateMax})
	f(&storage.SelectHints{Step: 3_600_000, Func: "rate", Range: 300_000}, true, selectPlan{store.TierMinute, store.AggregateCounter})
	f(&storage.SelectHints{Step: 60_000, Func: "rate", Range: 240_000}, true, raw)         // rate needs 5 intervals
	f(&storage.SelectHints{Step: 60_000, Func: "max_over_time", Range: 30_000}, true, raw) // a window shorter than an interval
	f(&storage.SelectHints{Step: 3_600_000, Func: "rate", Range: 3_600_000}, true, selectPlan{store.TierMinute, store.AggregateCounter})
	f(&storage.SelectHints{Step: 60_000, Func: "stddev_over_time", Range: 300_000}, true, raw)
	f(&storage.SelectHints{Step: 3_600_000, Func: "sum"}, true, selectPlan{store.TierMinute, store.AggregateLast})
}
