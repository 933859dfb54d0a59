package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

func TestParseResolution(t *testing.T) {
	f := func(in string, want Resolution) {
		t.Helper()
		got, err := ParseResolution(in)
		if err != nil || got != want {
			t.Fatalf("ParseResolution(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f("", ResolutionRaw)
	f("raw", ResolutionRaw)
	f("0s", ResolutionRaw)
	f("30s", ResolutionRaw)
	f("auto", ResolutionAuto)
	f("1m", ResolutionMinute)
	f("5m", ResolutionMinute)
	f("1h", ResolutionHour)
	f("1d", ResolutionHour)
	for _, bad := range []string{"fast", "-1m", "1x"} {
		if _, err := ParseResolution(bad); !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), "max_source_resolution") {
			t.Errorf("ParseResolution(%q) = %v, want ErrBadQuery naming max_source_resolution", bad, err)
		}
	}
}

func TestPlan(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	db, err := store.Open(filepath.Join(t.TempDir(), "p.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	recent := now.Add(-time.Hour).UnixMilli()
	f := func(res Resolution, h storage.SelectHints, want selectPlan) {
		t.Helper()
		if h.Start == 0 {
			h.Start = recent
		}
		if got, _ := NewQueryable(db, res).plan(&h, nil); got != want {
			t.Fatalf("plan(%v, %+v) = %+v, want %+v", res, h, got, want)
		}
	}
	raw := selectPlan{tier: store.TierRaw}
	rawCounter := selectPlan{tier: store.TierRaw, aggregate: store.AggregateCounter}
	minute := func(a store.Aggregate) selectPlan {
		return selectPlan{tier: store.TierMinute, aggregate: a, asked: true}
	}
	hour := func(a store.Aggregate) selectPlan { return selectPlan{tier: store.TierHour, aggregate: a, asked: true} }
	// By default every select reads raw samples, whatever the step.
	f(ResolutionRaw, storage.SelectHints{Step: 60_000, Func: "rate", Range: 300_000}, rawCounter)
	f(ResolutionRaw, storage.SelectHints{Step: 3_600_000, Func: "max_over_time", Range: 3_600_000}, selectPlan{tier: store.TierRaw, aggregate: store.AggregateMax})
	f(ResolutionRaw, storage.SelectHints{Step: 3_600_000}, raw)
	// Asked for, rollups serve what they can.
	f(ResolutionMinute, storage.SelectHints{Step: 15_000, Func: "rate", Range: 300_000}, minute(store.AggregateCounter))
	f(ResolutionHour, storage.SelectHints{Step: 3_600_000, Func: "max_over_time", Range: 3_600_000}, hour(store.AggregateMax))
	f(ResolutionHour, storage.SelectHints{Step: 3_600_000, Func: "rate", Range: 1_800_000}, minute(store.AggregateCounter)) // rate needs 5 intervals
	f(ResolutionHour, storage.SelectHints{Step: 3_600_000, Func: "sum"}, minute(store.AggregateLast))                       // plain selectors: 1-minute at most
	f(ResolutionMinute, storage.SelectHints{Step: 60_000, Func: "rate", Range: 240_000}, rawCounter)
	f(ResolutionMinute, storage.SelectHints{Step: 60_000, Func: "max_over_time", Range: 30_000}, selectPlan{tier: store.TierRaw, aggregate: store.AggregateMax})
	f(ResolutionHour, storage.SelectHints{Step: 3_600_000, Func: "stddev_over_time", Range: 3_600_000}, raw)
	// auto: the coarsest tier at most a fifth of the step.
	f(ResolutionAuto, storage.SelectHints{Step: 60_000, Func: "rate", Range: 300_000}, rawCounter)
	f(ResolutionAuto, storage.SelectHints{Step: 299_000, Func: "max_over_time", Range: 300_000}, selectPlan{tier: store.TierRaw, aggregate: store.AggregateMax})
	f(ResolutionAuto, storage.SelectHints{Step: 300_000, Func: "rate", Range: 300_000}, minute(store.AggregateCounter))
	f(ResolutionAuto, storage.SelectHints{Step: 5 * 3_600_000, Func: "max_over_time", Range: 3_600_000}, hour(store.AggregateMax))
	f(ResolutionAuto, storage.SelectHints{Step: 5 * 3_600_000, Func: "rate", Range: 3_600_000}, minute(store.AggregateCounter))
	f(ResolutionAuto, storage.SelectHints{Step: 0, Func: "rate", Range: 3_600_000}, rawCounter) // an instant query
	// Time only rollups still cover goes to the finest tier that keeps it, unasked.
	f(ResolutionRaw, storage.SelectHints{Start: now.Add(-20 * 24 * time.Hour).UnixMilli(), Step: 60_000}, selectPlan{tier: store.TierMinute})
	f(ResolutionRaw, storage.SelectHints{Start: now.Add(-100 * 24 * time.Hour).UnixMilli(), Func: "rate", Range: 300_000}, selectPlan{tier: store.TierHour, aggregate: store.AggregateCounter})
}

// rollupBounds are the functions rollups serve, with the largest relative
// error against raw samples that the README states, measured here: on
// ranges aligned to their step, as Grafana and the dashboard send them,
// windows fall on the tier's intervals and the interval aggregates and
// plain selectors are exact; rate and increase see one point per interval
// instead of every sample, which moves their extrapolation. Off the grid a
// window's edge cuts an interval that counts whole, and a plain selector
// answers the last sample of the interval before: up to one interval older.
var rollupBounds = []struct {
	query            string
	minute, hourTier float64
	kind             int // plainSelector or counterWindow: see wantTier
}{
	{`max_over_time(temperature_celsius[10m])`, 1e-12, 1e-12, 0},
	{`min_over_time(temperature_celsius[10m])`, 1e-12, 1e-12, 0},
	{`sum_over_time(memory_bytes[5m])`, 1e-12, 1e-12, 0},
	{`count_over_time(temperature_celsius[15m])`, 1e-12, 1e-12, 0},
	{`avg_over_time(temperature_celsius[10m])`, 1e-12, 1e-12, 0},
	{`last_over_time(memory_bytes[30m])`, 1e-12, 1e-12, 0},
	{`max by (instance) (max_over_time(memory_bytes[1h]))`, 1e-12, 1e-12, 0},
	{`memory_bytes`, 1e-12, 1e-12, plainSelector},
	{`memory_bytes @ 1793530800`, 1e-12, 1e-12, plainSelector}, // @ 11:00:00, on the minute and hour grid
	{`max_over_time(temperature_celsius[10m] offset 1h)`, 1e-12, 1e-12, 0},
	{`sum_over_time(memory_bytes[10m] @ 1793530800)`, 1e-12, 1e-12, 0},
	{`sum by (route) (http_requests_total)`, 1e-12, 1e-12, plainSelector},
	{`rate(http_requests_total[30m])`, 0.03, 0.015, counterWindow},
	{`sum by (route) (increase(http_requests_total[30m]))`, 0.015, 0.01, counterWindow},
	{`histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[30m])))`, 1e-12, 1e-12, counterWindow},
}

// Kinds of rollupBounds queries whose tier is not the one asked for.
const (
	// plainSelector reads the 1-minute tier at most.
	plainSelector = iota + 1
	// counterWindow needs 5 intervals: its 1-hour window reads the 1-minute tier.
	counterWindow
)

// TestRollupsWithinBound runs each query at the 1-minute and 1-hour tiers
// and with auto, checks the tier was really read and the answer says so,
// and compares with raw samples within the stated bound.
func TestRollupsWithinBound(t *testing.T) {
	l := loadBoth(t)
	e := New(l.db, &Options{CacheBytes: -1})
	var tiers []store.Tier
	e.raw.onSelect = func(p selectPlan) { tiers = append(tiers, p.tier) }
	end := dataEnd.Truncate(time.Hour) // 12:00:00, a minute and hour boundary
	for _, c := range rollupBounds {
		for _, r := range []struct {
			res   Resolution
			step  time.Duration
			shift time.Duration // off the step's grid, as a "last N hours" range from now
			tier  store.Tier
			tol   float64
		}{
			{ResolutionMinute, time.Minute, 0, store.TierMinute, c.minute},
			{ResolutionMinute, time.Minute, 17 * time.Second, store.TierMinute, 0},
			{ResolutionAuto, 5 * time.Minute, 0, store.TierMinute, c.minute},
			{ResolutionAuto, 5 * time.Minute, 17 * time.Second, store.TierMinute, 0},
			{ResolutionHour, time.Hour, 0, store.TierHour, c.hourTier},
			{ResolutionHour, time.Hour, 17 * time.Second, store.TierHour, 0},
		} {
			query, wantTier := c.query, r.tier
			if r.tier == store.TierHour && c.kind != plainSelector {
				query = hourWindows(query) // hour steps need hour windows to use the hour tier
			}
			if c.kind != 0 {
				wantTier = min(wantTier, store.TierMinute)
			}
			start, end := end.Add(-2*time.Hour-r.shift), end.Add(-r.shift) // every window within the data
			tiers = tiers[:0]
			want, ws, err := e.Range(context.Background(), query, start, end, r.step)
			if w, _ := ws.AsStrings("", 10, 0); err != nil || len(w) != 0 {
				t.Fatalf("%s raw: %v, warnings %v", query, err, w)
			}
			for _, tier := range tiers {
				if tier != store.TierRaw {
					t.Fatalf("%s without max_source_resolution read tier %s", query, tier)
				}
			}
			tiers = tiers[:0]
			got, ws, err := e.RangeAt(context.Background(), query, start, end, r.step, r.res)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(tiers, wantTier) {
				t.Errorf("%s at %s step %s read tiers %v, want %s", query, r.res, r.step, tiers, wantTier)
			}
			if w := strings.Join(warningStrings(ws), " "); !strings.Contains(w, "rollups served part of this answer") {
				t.Errorf("%s at %s: warnings %q, want one naming the tier", query, r.res, w)
			}
			rel, d := maxRelErr(got, want)
			if r.shift != 0 { // off the grid: measured for the README, not bounded
				t.Logf("%-90s %-4s step %-6s off the grid: worst relative error %.3g %s", query, r.res, r.step, rel, d)
				continue
			}
			if d != "" {
				t.Errorf("%s at %s step %s: %s", query, r.res, r.step, d)
			}
			t.Logf("%-90s %-4s step %-6s worst relative error %.3g", query, r.res, r.step, rel)
			if rel > r.tol {
				t.Errorf("%s at %s step %s: relative error %.3g, over the stated %g", query, r.res, r.step, rel, r.tol)
			}
		}
	}
}

func warningStrings(ws interface{ AsErrors() []error }) []string {
	var out []string
	for _, err := range ws.AsErrors() {
		out = append(out, err.Error())
	}
	return out
}

// maxRelErr is the largest relative difference between two matrices with
// the same series and timestamps, or a description of how they differ.
func maxRelErr(got, want promql.Matrix) (float64, string) {
	if len(got) != len(want) {
		return 0, fmt.Sprintf("%d series, want %d", len(got), len(want))
	}
	worst := 0.0
	for i := range want {
		g, w := got[i], want[i]
		if !labels.Equal(g.Metric, w.Metric) || len(g.Floats) != len(w.Floats) {
			return 0, fmt.Sprintf("series %s with %d points, want %s with %d", g.Metric, len(g.Floats), w.Metric, len(w.Floats))
		}
		for j := range w.Floats {
			a, b := g.Floats[j], w.Floats[j]
			if a.T != b.T {
				return 0, fmt.Sprintf("%s: point at %d, want %d", w.Metric, a.T, b.T)
			}
			if a.F != b.F {
				worst = math.Max(worst, math.Abs(a.F-b.F)/math.Max(math.Abs(a.F), math.Abs(b.F)))
			}
		}
	}
	return worst, ""
}

func hourWindows(q string) string {
	for _, w := range []string{"[5m]", "[10m]", "[15m]", "[30m]"} {
		q = strings.ReplaceAll(q, w, "[1h]")
	}
	return q
}
