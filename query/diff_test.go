package query

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/tsdb"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/prometheus/prometheus/tsdb.(*DB).run"))
}

// dataEnd is the time of the newest generated sample; every sample sits 3 s
// (plus a scrape's jitter under half a second) past a 10 s boundary, so none
// falls on a minute's edge.
var dataEnd = time.Date(2026, 11, 1, 12, 0, 3, 0, time.UTC)

const dataSpan = 4 * time.Hour

type genSeries struct {
	lset labels.Labels
	next func(i int) (float64, bool) // value at step i, false for a gap
}

// generate returns counters with resets, gauges, histogram buckets, many
// label sets, a series with a gap and one that starts late.
func generate() []genSeries {
	r := rand.New(rand.NewPCG(42, 7))
	var out []genSeries
	counter := func(rate float64, resetEvery int) func(int) (float64, bool) {
		v := 0.0
		return func(i int) (float64, bool) {
			if resetEvery > 0 && i > 0 && i%resetEvery == 0 {
				v = 0
			}
			v += math.Floor(rate * 2 * r.Float64())
			return v, true
		}
	}
	for _, inst := range []string{"a:9100", "b:9100"} {
		for ri, route := range []string{"/api/v1/items", "/api/v1/orders", "/health", "/login"} {
			for ci, code := range []string{"200", "404", "500"} {
				reset := 0
				if ri == 1 && ci == 0 {
					reset = 500 // a counter reset every ~83 minutes
				}
				out = append(out, genSeries{labels.FromStrings("__name__", "http_requests_total", "instance", inst, "route", route, "code", code, "job", "api"), counter(float64(10-3*ci), reset)})
			}
		}
		walk := 1e8
		out = append(out, genSeries{labels.FromStrings("__name__", "memory_bytes", "instance", inst, "job", "api"), func(int) (float64, bool) {
			walk += float64(r.IntN(200)-100) * 4096
			return walk, true
		}})
	}
	for _, route := range []string{"/api/v1/items", "/login"} {
		prev := 0.0
		for _, le := range []string{"0.05", "0.1", "0.25", "0.5", "1", "+Inf"} {
			f, _ := strconv.ParseFloat(le, 64)
			if le == "+Inf" {
				f = 2
			}
			out = append(out, genSeries{labels.FromStrings("__name__", "http_request_duration_seconds_bucket", "route", route, "le", le, "job", "api"), counter(2+4*f+prev, 0)})
			prev += f
		}
	}
	for room, base := range map[string]float64{"kitchen": 21, "cellar": 12, "attic": 30} {
		out = append(out, genSeries{labels.FromStrings("__name__", "temperature_celsius", "room", room), func(i int) (float64, bool) {
			if room == "cellar" && i > 600 && i < 720 { // a 20-minute gap
				return 0, false
			}
			return base + 3*math.Sin(float64(i)/50) + r.NormFloat64()*0.1, true
		}})
	}
	out = append(out, genSeries{labels.FromStrings("__name__", "late_starter", "job", "batch"), func(i int) (float64, bool) {
		return float64(i), i >= 1200
	}})
	return out
}

// loaded is the same data in AtroZ's store and in Prometheus' TSDB.
type loaded struct {
	db   *store.DB
	prom *tsdb.DB
}

// openBoth opens an empty store with opts, flushing and pruning only when
// told, and an empty Prometheus TSDB, both closed when the test ends.
func openBoth(t testing.TB, opts store.Options) loaded {
	t.Helper()
	opts.FlushInterval, opts.PruneInterval, opts.EncodeInterval = -1, -1, -1
	db, err := store.Open(filepath.Join(t.TempDir(), "q.db"), &opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	prom, err := tsdb.Open(t.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Close() })
	return loaded{db: db, prom: prom}
}

func loadBoth(t testing.TB) loaded {
	t.Helper()
	return loadBothWith(t, func(v float64) float64 { return v })
}

// loadBothWith loads the generated series into both stores, each value
// passed through value first.
func loadBothWith(t testing.TB, value func(float64) float64) loaded {
	t.Helper()
	l := openBoth(t, store.Options{Now: func() time.Time { return dataEnd }})
	db, prom := l.db, l.prom
	series := generate()
	steps := int(dataSpan / (10 * time.Second))
	start := dataEnd.Add(-dataSpan).UnixMilli()
	app := prom.Appender(context.Background())
	for i := 0; i <= steps; i++ {
		ts := start + int64(i)*10_000 + int64(i*7919%487) // a scrape's jitter, under half a second
		for _, s := range series {
			v, ok := s.next(i)
			if !ok {
				continue
			}
			v = value(v)
			if err := db.Append(store.FromPrometheus(s.lset), ts, v); err != nil {
				t.Fatal(err)
			}
			if _, err := app.Append(0, s.lset, ts, v); err != nil {
				t.Fatal(err)
			}
		}
		if i%97 == 0 { // flushes at odd places: chunk, flush and head boundaries all fall inside the data
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	return l
}

// diffQueries cover every matcher type, counter and gauge functions,
// histograms, aggregations, binary operators with vector matching, offset,
// @, and subqueries.
var diffQueries = []string{
	`http_requests_total`,
	`http_requests_total{code="200"}`,
	`http_requests_total{code!="200"}`,
	`http_requests_total{route=~"/api/.*"}`,
	`http_requests_total{route!~"/api/.*",code=~"2..|5.."}`,
	`{__name__=~"http_.*",job="api"}`,
	`{__name__="memory_bytes"}`,
	`memory_bytes offset 7m`,
	`memory_bytes @ 1793534103`,
	`rate(http_requests_total[1m])`,
	`rate(http_requests_total[5m])`,
	`rate(http_requests_total[30m])`,
	`irate(http_requests_total[5m])`,
	`increase(http_requests_total{route="/api/v1/orders"}[10m])`,
	`resets(http_requests_total[1h])`,
	`changes(memory_bytes[15m])`,
	`delta(temperature_celsius[10m])`,
	`deriv(memory_bytes[10m])`,
	`predict_linear(memory_bytes[30m], 3600)`,
	`avg_over_time(temperature_celsius[10m])`,
	`min_over_time(temperature_celsius[10m])`,
	`max_over_time(temperature_celsius[30m])`,
	`sum_over_time(memory_bytes[5m])`,
	`count_over_time(temperature_celsius[15m])`,
	`last_over_time(temperature_celsius[30m])`,
	`stddev_over_time(temperature_celsius[10m])`,
	`quantile_over_time(0.9, temperature_celsius[20m])`,
	`present_over_time(late_starter[5m])`,
	`absent_over_time(late_starter[5m])`,
	`absent(nonexistent_metric)`,
	`histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))`,
	`histogram_quantile(0.5, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))`,
	`histogram_quantile(0.99, rate(http_request_duration_seconds_bucket{route="/login"}[10m]))`,
	`sum(rate(http_requests_total[5m]))`,
	`sum by (code) (rate(http_requests_total[5m]))`,
	`sum without (instance) (rate(http_requests_total[5m]))`,
	`avg by (instance) (memory_bytes)`,
	`max by (route) (http_requests_total)`,
	`min without (code, job) (http_requests_total)`,
	`count by (route) (http_requests_total)`,
	`stddev(temperature_celsius)`,
	`quantile(0.5, rate(http_requests_total[5m]))`,
	`topk(3, memory_bytes)`,
	`topk(2, max_over_time(temperature_celsius[10m]))`,
	`bottomk(2, memory_bytes)`,
	`count_values("value", floor(temperature_celsius))`,
	`group by (instance) (http_requests_total)`,
	`sum by (route) (rate(http_requests_total{code="500"}[5m])) / sum by (route) (rate(http_requests_total[5m]))`,
	`rate(http_requests_total{code="500"}[5m]) / ignoring(code) group_left sum without (code) (rate(http_requests_total[5m]))`,
	`http_requests_total / on (instance, route, code) http_requests_total`,
	`memory_bytes / on (instance) group_left sum by (instance) (http_requests_total)`,
	`memory_bytes > 1e8`,
	`memory_bytes > bool 1e8`,
	`temperature_celsius * 1.8 + 32`,
	`-temperature_celsius`,
	`http_requests_total{code="200"} and on (instance, route) http_requests_total{code="500"} > 100`,
	`http_requests_total{code="404"} or http_requests_total{code="500"}`,
	`http_requests_total unless http_requests_total{route="/health"}`,
	`max_over_time(rate(http_requests_total[1m])[30m:1m])`,
	`avg_over_time(sum(memory_bytes)[1h:5m])`,
	`rate(http_requests_total[5m] offset 30m)`,
	`sum(rate(http_requests_total[5m] @ 1793530503))`,
	`time() - timestamp(memory_bytes)`,
	`vector(1) + scalar(sum(memory_bytes))`,
	`label_replace(memory_bytes, "host", "$1", "instance", "(.*):.*")`,
	`sort_desc(sum by (route) (http_requests_total))`,
	`clamp_max(temperature_celsius, 22)`,
	`abs(delta(memory_bytes[5m]))`,
	`round(temperature_celsius, 0.5)`,
	`late_starter`,
}

// TestMatchesPrometheusStorage runs every query as instant and range
// queries through the same engine over both stores and requires identical
// answers. The instants and ranges cross chunk, flush and head boundaries.
// It runs over the store as written and again with all of its closed data
// re-encoded into blocks.
func TestMatchesPrometheusStorage(t *testing.T) {
	for _, encoded := range []bool{false, true} {
		t.Run(encodedName(encoded), func(t *testing.T) {
			l := loadBoth(t)
			if encoded {
				encodeAll(t, l.db)
			}
			matchesPrometheusStorage(t, l)
		})
	}
}

// encodedName names a subtest over the store as written or re-encoded.
func encodedName(encoded bool) string {
	if encoded {
		return "blocks"
	}
	return "as written"
}

// encodeAll re-encodes every closed chunk and rollup block of db into
// blocks, as db compact does, and requires that some were.
func encodeAll(t testing.TB, db *store.DB) {
	t.Helper()
	res, err := db.EncodeBlocks(true)
	if err != nil || res.Blocks == 0 {
		t.Fatalf("encode blocks: %+v, %v", res, err)
	}
}

func matchesPrometheusStorage(t *testing.T, l loaded) {
	matchesPrometheusStorageWith(t, New(l.db, &Options{CacheBytes: -1}), l)
}

// matchesPrometheusStorageWith requires ours to answer every diffQuery as
// Prometheus' engine answers it over l's TSDB, at instants and over
// ranges across chunk, flush and head boundaries.
func matchesPrometheusStorageWith(t *testing.T, ours *Engine, l loaded) {
	theirs := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	ctx := context.Background()
	instants := []time.Time{dataEnd, dataEnd.Add(-37 * time.Second), dataEnd.Add(-83 * time.Minute), dataEnd.Add(-3*time.Hour - 11*time.Second)}
	ranges := []struct {
		start, end time.Time
		step       time.Duration
	}{
		{dataEnd.Add(-dataSpan), dataEnd, time.Minute},
		{dataEnd.Add(-2 * time.Hour), dataEnd.Add(-time.Hour), 15 * time.Second},
		{dataEnd.Add(-25 * time.Minute), dataEnd, 10 * time.Second},
	}
	for _, qs := range diffQueries {
		for _, ts := range instants {
			got, _, err := ours.Instant(ctx, qs, ts)
			if err != nil {
				t.Fatalf("%s @ %s: %v", qs, ts, err)
			}
			want := evalInstant(t, theirs, l.prom, qs, ts)
			if d := diff(got, want); d != "" {
				t.Errorf("instant %s @ %s: %s", qs, ts.Format(time.TimeOnly), d)
			}
		}
		for _, r := range ranges {
			got, _, err := ours.Range(ctx, qs, r.start, r.end, r.step)
			if err != nil {
				t.Fatalf("%s: %v", qs, err)
			}
			want := evalRange(t, theirs, l.prom, qs, r.start, r.end, r.step)
			if d := diff(got, want); d != "" {
				t.Errorf("range %s [%s, %s] step %s: %s", qs, r.start.Format(time.TimeOnly), r.end.Format(time.TimeOnly), r.step, d)
			}
		}
	}
}

func evalInstant(t testing.TB, eng *promql.Engine, db *tsdb.DB, qs string, ts time.Time) parser.Value {
	q, err := eng.NewInstantQuery(context.Background(), db, nil, qs, ts)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.Value
}

func evalRange(t testing.TB, eng *promql.Engine, db *tsdb.DB, qs string, start, end time.Time, step time.Duration) promql.Matrix {
	q, err := eng.NewRangeQuery(context.Background(), db, nil, qs, start, end, step)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	m, err := res.Matrix()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// diff describes the first difference between two results, or returns "".
// Series, timestamps and order must match exactly; values may differ by a
// few ulps, which is what adding the same floats in another order does
// (aggregations over an instant vector see series in storage order).
func diff(got, want parser.Value) string {
	g, w := flatten(got), flatten(want)
	for i := 0; i < len(g) || i < len(w); i++ {
		switch {
		case i >= len(g):
			return fmt.Sprintf("missing %s %g", w[i].key, w[i].v)
		case i >= len(w):
			return fmt.Sprintf("extra %s %g", g[i].key, g[i].v)
		case g[i].key != w[i].key || !sameFloat(g[i].v, w[i].v):
			return fmt.Sprintf("got %s %g, want %s %g", g[i].key, g[i].v, w[i].key, w[i].v)
		}
	}
	return ""
}

func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b || math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

type point struct {
	key string
	v   float64
}

// flatten lists a result's points.
func flatten(v parser.Value) []point {
	var out []point
	switch v := v.(type) {
	case promql.Matrix:
		for _, s := range v {
			for _, p := range s.Floats {
				out = append(out, point{fmt.Sprintf("%s t=%d", s.Metric, p.T), p.F})
			}
		}
	case promql.Vector: // an instant vector's order is the storage's, not PromQL's
		for _, s := range v {
			out = append(out, point{fmt.Sprintf("%s t=%d", s.Metric, s.T), s.F})
		}
		slices.SortFunc(out, func(a, b point) int { return strings.Compare(a.key, b.key) })
	case promql.Scalar:
		out = append(out, point{fmt.Sprintf("scalar t=%d", v.T), v.V})
	default:
		out = append(out, point{v.String(), 0})
	}
	return out
}
