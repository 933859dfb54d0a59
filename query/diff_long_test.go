package query

import (
	"context"
	"math"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// longEnd is the newest sample of the 14-day data set.
var longEnd = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const (
	longSpan     = 14 * 24 * time.Hour
	longInterval = 2 * time.Minute
)

// loadLong writes 14 days of a few counters and gauges, scraped every 2
// minutes with a jitter of up to 3 s and a counter reset a day, into the
// store and Prometheus' TSDB.
func loadLong(t testing.TB) loaded {
	t.Helper()
	l := openBoth(t, store.Options{RawRetention: 30 * 24 * time.Hour, Now: func() time.Time { return longEnd }})
	db, prom := l.db, l.prom
	var all []labels.Labels
	for _, code := range []string{"200", "500"} {
		for _, route := range []string{"/", "/cart", "/search"} {
			all = append(all, labels.FromStrings("__name__", "web_requests_total", "code", code, "route", route))
		}
	}
	for _, host := range []string{"a", "b"} {
		all = append(all, labels.FromStrings("__name__", "host_cpu_ratio", "host", host))
	}
	steps := int(longSpan / longInterval)
	start := longEnd.Add(-longSpan).UnixMilli()
	app := prom.Appender(context.Background())
	for i := 0; i <= steps; i++ {
		ts := start + int64(i)*longInterval.Milliseconds() + int64(i*7919%3000)
		for k, ls := range all {
			v := float64((i%720)*(k+1)) * 1.5 // counters reset once a day
			if ls.Get("__name__") == "host_cpu_ratio" {
				v = 0.5 + 0.4*math.Sin(float64(i*(k+1))/97)
			}
			if ls.Get("code") == "500" && i%11 != 0 { // a sparse counter: moves one scrape in 11
				v = float64((i%720)/11) * float64(k)
			}
			if err := db.Append(store.FromPrometheus(ls), ts, v); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Append(0, ls, ts, v); err != nil {
				t.Fatal(err)
			}
		}
		if i%1000 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	return l
}

// longQueries are the queries Grafana sends for day- and week-long charts.
var longQueries = []string{
	`host_cpu_ratio`,
	`host_cpu_ratio @ 1793534400`,
	`host_cpu_ratio offset 1d`,
	`avg_over_time(host_cpu_ratio[5m])`,
	`max_over_time(host_cpu_ratio[1h])`,
	`min_over_time(host_cpu_ratio[1d])`,
	`quantile_over_time(0.95, host_cpu_ratio[1h])`,
	`stddev_over_time(host_cpu_ratio[6h])`,
	`stdvar_over_time(host_cpu_ratio[6h])`,
	`count_over_time(host_cpu_ratio[10m])`,
	`sum_over_time(host_cpu_ratio[30m])`,
	`last_over_time(host_cpu_ratio[1h])`,
	`rate(web_requests_total[5m])`,
	`rate(web_requests_total[1h])`,
	`increase(web_requests_total{code="500"}[10m])`,
	`irate(web_requests_total[10m])`,
	`idelta(host_cpu_ratio[10m])`,
	`delta(host_cpu_ratio[1h])`,
	`deriv(host_cpu_ratio[1h])`,
	`resets(web_requests_total[1d])`,
	`changes(host_cpu_ratio[1h])`,
	`sum by (code) (increase(web_requests_total[1d]))`,
	`sum(rate(web_requests_total{code="500"}[5m])) / sum(rate(web_requests_total[5m]))`,
	`max_over_time(rate(web_requests_total[5m])[1h:5m])`,
	`absent(web_requests_total{code="404"})`,
	`absent_over_time(host_cpu_ratio{host="c"}[1h])`,
	`topk(1, rate(web_requests_total[1h]))`,
	`avg(host_cpu_ratio) by (host) > 0.5`,
}

// TestMatchesPrometheusStorageLong: day- and two-week-long ranges at the
// steps Grafana picks for them (15 s over an hour, 60 s and 5 m over a
// day, 1 h over 14 days) and instants across the data answer exactly as
// the same engine over Prometheus' TSDB: no rollup takes part by default.
// It runs over the store as written and again re-encoded into blocks.
func TestMatchesPrometheusStorageLong(t *testing.T) {
	for _, encoded := range []bool{false, true} {
		t.Run(encodedName(encoded), func(t *testing.T) {
			l := loadLong(t)
			if encoded {
				encodeAll(t, l.db)
			}
			matchesPrometheusStorageLong(t, l)
		})
	}
}

func matchesPrometheusStorageLong(t *testing.T, l loaded) {
	ours := New(l.db, &Options{CacheBytes: -1})
	theirs := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	ctx := context.Background()
	ranges := []struct {
		span, step time.Duration
	}{{time.Hour, 15 * time.Second}, {24 * time.Hour, time.Minute}, {24 * time.Hour, 5 * time.Minute}, {longSpan - 24*time.Hour, time.Hour}}
	for _, qs := range longQueries {
		for _, ts := range []time.Time{longEnd, longEnd.Add(-3*24*time.Hour - 17*time.Second), longEnd.Add(-13 * 24 * time.Hour)} {
			got, _, err := ours.Instant(ctx, qs, ts)
			if err != nil {
				t.Fatalf("%s @ %s: %v", qs, ts, err)
			}
			if d := diff(got, evalInstant(t, theirs, l.prom, qs, ts)); d != "" {
				t.Errorf("instant %s @ %s: %s", qs, ts, d)
			}
		}
		for _, r := range ranges {
			end := longEnd.Truncate(r.step)
			got, ws, err := ours.Range(ctx, qs, end.Add(-r.span), end, r.step)
			if err != nil {
				t.Fatalf("%s: %v", qs, err)
			}
			if w, _ := ws.AsStrings("", 10, 0); len(w) != 0 {
				t.Errorf("range %s over %s: warnings %v", qs, r.span, w)
			}
			if d := diff(got, evalRange(t, theirs, l.prom, qs, end.Add(-r.span), end, r.step)); d != "" {
				t.Errorf("range %s over %s step %s: %s", qs, r.span, r.step, d)
			}
		}
	}
}
