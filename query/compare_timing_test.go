package query

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// versusQueries are what BenchmarkVersusPrometheus runs, each as an instant
// query at the newest sample and as a 2-hour range at a 15 s step.
var versusQueries = []struct{ name, expr string }{
	{"gauge", `http_requests_in_flight`},
	{"rate", `rate(http_requests_total[5m])`},
	{"sum_rate", `sum by (route) (rate(http_requests_total[5m]))`},
	{"ratio_5xx", `sum by (route) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (route) (rate(http_requests_total[5m]))`},
	{"quantile", `histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket[5m])))`},
	{"topk", `topk(5, sum by (route) (rate(http_requests_total[5m])))`},
	{"max_over_time", `max_over_time(http_requests_in_flight[10m])`},
	{"subquery", `max_over_time(sum by (code) (rate(http_requests_total[1m]))[30m:1m])`},
}

// versusShape is how much data BenchmarkVersusPrometheus loads: routes
// of one service scraped every 15 s for span.
type versusShape struct {
	routes int
	span   time.Duration
}

func (s versusShape) String() string { return fmt.Sprintf("%d routes × %s", s.routes, s.span) }

// versusStores is the same data in AtroZ's store and in two Prometheus
// TSDBs: one compacted as Prometheus itself compacts (2-hour blocks on
// disk, the newest hours in its in-memory head) and one with every sample
// in 2-hour blocks on disk. AtroZ's is there twice too: as the server
// writes it (at a 15 s scrape no block has formed within 6.5 hours) and
// with every closed chunk re-encoded into blocks, as db compact leaves it.
type versusStores struct {
	atroz, encoded *store.DB // as the server writes it; every closed chunk re-encoded into blocks
	prom, blocks   *tsdb.DB
	end            time.Time
}

// BenchmarkVersusPrometheus runs the same PromQL engine over AtroZ's store
// and over Prometheus' TSDB holding the same samples: counters, latency
// histograms and gauges of 50 routes scraped every 15 s with jitter for 6.5
// hours (5 routes for 1 hour with -short). Sub-benchmarks pair by query for
// benchstat -col /store; each query's stores run one after another, so a
// busy machine slows both alike. Besides wall time each reports cpu-ns/op,
// the CPU time the process spent per query, garbage collection included,
// which other processes on a shared machine inflate less. Before timing,
// every query's answer from AtroZ must equal Prometheus'.
func BenchmarkVersusPrometheus(b *testing.B) {
	// Open chunks close after an hour, so the store's memory holds the
	// last half hour: the average case.
	shape := versusShape{routes: 50, span: 6*time.Hour + 30*time.Minute}
	if testing.Short() {
		shape = versusShape{routes: 5, span: time.Hour}
	}
	st := loadVersus(b, shape)
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: 2 * time.Minute, LookbackDelta: 5 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	stores := []struct {
		name string
		q    storage.Queryable
	}{{"atroz", NewQueryable(st.atroz, ResolutionRaw)}, {"atroz-blocks", NewQueryable(st.encoded, ResolutionRaw)}, {"prometheus", st.prom}, {"prometheus-blocks", st.blocks}}
	for _, q := range versusQueries {
		for _, kind := range []string{"instant", "range"} {
			run := func(qb storage.Queryable, keep bool) (parser.Value, error) {
				return st.eval(eng, qb, q.expr, kind == "range", keep)
			}
			for _, ours := range stores[:2] {
				if err := sameAnswer(run, ours.q, stores[2].q); err != nil {
					b.Fatalf("%s %s %s: %v", ours.name, kind, q.expr, err)
				}
			}
			b.Run("q="+q.name+"_"+kind, func(b *testing.B) {
				for _, s := range stores {
					b.Run("store="+s.name, func(b *testing.B) {
						b.ReportAllocs()
						cpu0, ok := processCPU()
						for b.Loop() {
							if _, err := run(s.q, false); err != nil {
								b.Fatal(err)
							}
						}
						if cpu1, ok1 := processCPU(); ok && ok1 {
							b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
						}
					})
				}
			})
		}
	}
}

// eval runs expr over qb, an instant query at the newest sample or a
// 2-hour range ending there at a 15 s step. With keep it returns the
// answer detached from the engine's pools, which get it back when the
// query closes.
func (st versusStores) eval(eng *promql.Engine, qb storage.Queryable, expr string, rng, keep bool) (parser.Value, error) {
	ctx := context.Background()
	var q promql.Query
	var err error
	if rng {
		q, err = eng.NewRangeQuery(ctx, qb, nil, expr, st.end.Add(-2*time.Hour), st.end, 15*time.Second)
	} else {
		q, err = eng.NewInstantQuery(ctx, qb, nil, expr, st.end)
	}
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil || !keep {
		return nil, res.Err
	}
	return detach(res.Value), nil
}

// sameAnswer runs a query over two queryables and compares the answers.
func sameAnswer(run func(storage.Queryable, bool) (parser.Value, error), a, b storage.Queryable) error {
	got, err := run(a, true)
	if err != nil {
		return err
	}
	want, err := run(b, true)
	if err != nil {
		return err
	}
	if d := diff(got, want); d != "" {
		return fmt.Errorf("atroz and prometheus differ: %s", d)
	}
	if len(flatten(got)) == 0 {
		return fmt.Errorf("no result")
	}
	return nil
}

// loadVersus writes shape's data into a store (flushed as it goes, with the
// clock following the data, so chunks close and reach bbolt as they would
// in service) and into two Prometheus TSDBs.
func loadVersus(b *testing.B, shape versusShape) versusStores {
	b.Helper()
	end := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := end.Add(-shape.span)
	open := func() *store.DB {
		db, err := store.Open(filepath.Join(b.TempDir(), "v.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, Now: func() time.Time { return clock }})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		return db
	}
	db, encoded := open(), open()
	prom, blocks := openTSDB(b), openTSDB(b)
	gen := newVersusGen(shape.routes)
	scrapes := int(shape.span / (15 * time.Second))
	last := int64(0)
	for i := 0; i <= scrapes; i++ {
		clock = end.Add(-shape.span + time.Duration(i)*15*time.Second)
		ts := gen.jitter(clock.UnixMilli())
		apps := []storage.Appender{prom.Appender(context.Background()), blocks.Appender(context.Background())}
		for _, s := range gen.next() {
			for _, d := range []*store.DB{db, encoded} {
				if err := d.Append(store.FromPrometheus(s.lset), ts, s.v); err != nil {
					b.Fatal(err)
				}
			}
			for _, app := range apps {
				if _, err := app.Append(0, s.lset, ts, s.v); err != nil {
					b.Fatal(err)
				}
			}
		}
		for _, app := range apps {
			if err := app.Commit(); err != nil {
				b.Fatal(err)
			}
		}
		if i%4 == 0 {
			flushAll(b, db, encoded)
		}
		last = ts
	}
	flushAll(b, db, encoded)
	if _, err := encoded.EncodeBlocks(true); err != nil {
		b.Fatal(err)
	}
	compactTSDB(b, prom, blocks, last)
	return versusStores{atroz: db, encoded: encoded, prom: prom, blocks: blocks, end: time.UnixMilli(last)}
}

func flushAll(b *testing.B, dbs ...*store.DB) {
	b.Helper()
	for _, db := range dbs {
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// openTSDB opens an empty Prometheus TSDB that compacts only when told.
func openTSDB(b *testing.B) *tsdb.DB {
	b.Helper()
	db, err := tsdb.Open(b.TempDir(), nil, nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		b.Fatal(err)
	}
	db.DisableCompactions()
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// compactTSDB compacts prom as Prometheus does on its own (2-hour blocks
// once the head spans three hours; the rest stays in the head) and writes
// every sample of blocks into 2-hour blocks.
func compactTSDB(b *testing.B, prom, blocks *tsdb.DB, maxt int64) {
	b.Helper()
	if err := prom.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	const blockMs = int64(2 * time.Hour / time.Millisecond)
	for mint := blocks.Head().MinTime() / blockMs * blockMs; mint <= maxt; mint += blockMs {
		if err := blocks.CompactHead(tsdb.NewRangeHead(blocks.Head(), mint, mint+blockMs-1)); err != nil {
			b.Fatal(err)
		}
	}
}

// versusGen generates what one service's collector exposes per scrape:
// for each route, request counters by code, a latency histogram (ten
// cumulative buckets, sum and count) and an in-flight gauge; and two host
// gauges.
type versusGen struct {
	r      *rand.Rand
	routes []versusRoute
	lsets  []labels.Labels // in the order next returns values
	out    []versusSample
	cpu    float64
	mem    float64
}

// versusRoute is one route's counters.
type versusRoute struct {
	perScrape  float64 // mean requests per scrape
	codes      [len(versusCodes)]float64
	buckets    [len(versusLes)]float64
	sum, count float64
}

type versusSample struct {
	lset labels.Labels
	v    float64
}

var (
	versusCodes  = [...]string{"200", "404", "500", "503"}
	versusShares = [...]float64{0.93, 0.05, 0.015, 0.005}
	versusLes    = [...]string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
)

func newVersusGen(routes int) *versusGen {
	g := &versusGen{r: rand.New(rand.NewPCG(11, 13)), mem: 2e8}
	add := func(kv ...string) { g.lsets = append(g.lsets, labels.FromStrings(kv...)) }
	for i := range routes {
		route := fmt.Sprintf("/api/v1/r%02d", i)
		g.routes = append(g.routes, versusRoute{perScrape: 1500 / float64(i+1)}) // a few busy routes, a long quiet tail
		for _, code := range versusCodes {
			add("__name__", "http_requests_total", "service", "api", "route", route, "method", "GET", "code", code)
		}
		for _, le := range versusLes {
			add("__name__", "http_request_duration_seconds_bucket", "service", "api", "route", route, "method", "GET", "le", le)
		}
		add("__name__", "http_request_duration_seconds_sum", "service", "api", "route", route, "method", "GET")
		add("__name__", "http_request_duration_seconds_count", "service", "api", "route", route, "method", "GET")
		add("__name__", "http_requests_in_flight", "service", "api", "route", route)
	}
	add("__name__", "system_cpu_usage_ratio", "service", "api")
	add("__name__", "process_resident_memory_bytes", "service", "api")
	return g
}

// jitter moves a scrape's timestamp by up to ±400 ms, as a scrape loop's
// timing does.
func (g *versusGen) jitter(ms int64) int64 { return ms + int64(g.r.IntN(801)) - 400 }

// next advances every series by one scrape.
func (g *versusGen) next() []versusSample {
	g.out = g.out[:0]
	emit := func(v float64) { g.out = append(g.out, versusSample{g.lsets[len(g.out)], v}) }
	for i := range g.routes {
		rt := &g.routes[i]
		n := math.Round(rt.perScrape * (0.7 + 0.6*g.r.Float64()))
		for j := range rt.codes {
			rt.codes[j] += math.Round(n * versusShares[j] * (0.5 + g.r.Float64()))
			emit(rt.codes[j])
		}
		slow := 2 + g.r.Float64() // latency drifts from scrape to scrape
		for j := range rt.buckets {
			share := 1 - math.Exp(-float64(j+1)/slow)
			if j == len(rt.buckets)-1 {
				share = 1
			}
			rt.buckets[j] += math.Round(n * share)
			emit(rt.buckets[j])
		}
		rt.sum += n * 0.05 * slow * (0.8 + 0.4*g.r.Float64())
		rt.count += n
		emit(rt.sum)
		emit(rt.count)
		emit(float64(g.r.IntN(int(rt.perScrape/50) + 2)))
	}
	g.cpu = 0.2 + 0.3*g.r.Float64()
	g.mem = max(5e7, g.mem+float64(g.r.IntN(200)-95)*4096)
	emit(g.cpu)
	emit(g.mem)
	return g.out
}
