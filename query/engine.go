// Package query evaluates PromQL over the store with Prometheus' own engine:
// the store is a storage.Queryable, so no PromQL is written here. Every
// answer is the engine's over raw samples unless the request asks for
// rollups (Resolution) or reaches past the raw retention, and then it says
// so in its warnings. A small result cache serves the many viewers of one
// dashboard panel.
package query

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// Options configure an Engine. Zero fields take the documented defaults.
type Options struct {
	// Backend, when set, answers every query and lookup instead of the
	// store: a Prometheus-compatible HTTP API (see NewBackend). Queries
	// are still parsed, checked and admitted here.
	Backend *Backend
	// BackendRead makes the Engine evaluate each query itself over the
	// Backend's raw samples rather than forward it: answers are then
	// PromQL's whatever the backend's language, at the cost of moving the
	// raw samples a query reads.
	BackendRead bool
	// Timeout bounds one query. Default 2m, as Prometheus.
	Timeout time.Duration
	// MaxSamples bounds the samples one query may hold in memory, each
	// up to BytesPerSample bytes. Default 5,000,000 (650 MB), a tenth of
	// Prometheus' 50,000,000, which let one query take 6 GiB.
	MaxSamples int
	// MaxPoints bounds the points per series of a range query, and of
	// every subquery in a query. Default 11,000, as Prometheus' range queries.
	MaxPoints int
	// MaxConcurrency bounds the queries evaluated at once; more wait for
	// a slot, as Prometheus' --query.max-concurrency. Default GOMAXPROCS,
	// at least 2: evaluation is CPU work, so more at once only shares
	// the cores while multiplying the memory held.
	MaxConcurrency int
	// QueueWait bounds how long a query waits for a slot before ErrBusy.
	// Default 10s.
	QueueWait time.Duration
	// MaxConcurrencyPerPrincipal bounds the queries one principal may
	// have in flight (see Admit). Default 4.
	MaxConcurrencyPerPrincipal int
	// LookbackDelta is how far back an instant selector looks. Default 5m.
	LookbackDelta time.Duration
	// ExperimentalFunctions lets queries use Prometheus' experimental PromQL
	// functions (double_exponential_smoothing, sort_by_label, ...). Default off, as in Prometheus.
	ExperimentalFunctions bool
	// CacheBytes bounds the result cache; negative disables it. Default 64 MiB.
	CacheBytes int64
	// CacheResult is told of every cache lookup (the collector's CacheResult("query", hit)).
	CacheResult func(hit bool)
	// Now is the clock, for what counts as recent. Default time.Now.
	Now func() time.Time
	// Logger receives the engine's own messages. Default: discard.
	Logger *slog.Logger
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Timeout <= 0 {
		r.Timeout = 2 * time.Minute
	}
	if r.MaxSamples <= 0 {
		r.MaxSamples = DefaultMaxSamples
	}
	if r.MaxConcurrency <= 0 {
		r.MaxConcurrency = DefaultMaxConcurrency()
	}
	if r.QueueWait <= 0 {
		r.QueueWait = 10 * time.Second
	}
	if r.MaxConcurrencyPerPrincipal <= 0 {
		r.MaxConcurrencyPerPrincipal = DefaultMaxConcurrencyPerPrincipal
	}
	if r.MaxPoints <= 0 {
		r.MaxPoints = 11_000
	}
	if r.LookbackDelta <= 0 {
		r.LookbackDelta = 5 * time.Minute
	}
	if r.CacheBytes == 0 {
		r.CacheBytes = 64 << 20
	}
	if r.CacheResult == nil {
		r.CacheResult = func(bool) {}
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Defaults of the query limits, which the configuration shares.
const (
	// DefaultMaxSamples is Options.MaxSamples' default: 650 MB at BytesPerSample.
	DefaultMaxSamples = 5_000_000
	// DefaultMaxConcurrencyPerPrincipal is Options.MaxConcurrencyPerPrincipal's
	// default: above what one client sends at once (the dashboard's overview
	// asks 18 queries together, a Grafana dashboard one per panel), so its
	// own clients never see the 429. Queries beyond MaxConcurrency wait in
	// the queue holding no samples, so this bounds a principal's share of
	// the queue, not memory.
	DefaultMaxConcurrencyPerPrincipal = 32
)

// DefaultMaxConcurrency is Options.MaxConcurrency's default: GOMAXPROCS, at least 2.
func DefaultMaxConcurrency() int { return max(runtime.GOMAXPROCS(0), 2) }

// Engine runs PromQL over a store.
type Engine struct {
	opts   Options
	db     *store.DB
	eng    *promql.Engine
	raw    *Queryable
	parser parser.Parser
	cache  *resultCache
	adm    *admission
}

// New returns an Engine over db.
func New(db *store.DB, opts *Options) *Engine {
	o := opts.withDefaults()
	p := parser.NewParser(parser.Options{EnableExperimentalFunctions: o.ExperimentalFunctions}) // the engine's and Range's, so both read a query alike
	return &Engine{
		opts: o,
		db:   db,
		eng: promql.NewEngine(promql.EngineOpts{
			Logger:               o.Logger,
			MaxSamples:           o.MaxSamples,
			Timeout:              o.Timeout,
			LookbackDelta:        o.LookbackDelta,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			EnablePerStepStats:   true, // computed only for queries that ask (WithStats)
			Parser:               p,
			// The engine has no default: a subquery without a step would
			// find none.
			NoStepSubqueryIntervalFn: func(int64) int64 { return defaultSubqueryStep.Milliseconds() },
		}),
		raw:    NewQueryable(db, ResolutionRaw),
		parser: p,
		cache:  newResultCache(o.CacheBytes),
		adm:    newAdmission(o.MaxConcurrency, o.MaxConcurrencyPerPrincipal, o.QueueWait),
	}
}

// Errors the Engine returns besides the engine's own; the HTTP API maps
// them to Prometheus' error types.
var (
	// ErrBadQuery is returned for a query that does not parse or parameters out of range.
	ErrBadQuery = errors.New("bad query")
)

// Instant evaluates qs at ts over raw samples.
func (e *Engine) Instant(ctx context.Context, qs string, ts time.Time) (parser.Value, annotations.Annotations, error) {
	return e.InstantAt(ctx, qs, ts, ResolutionRaw)
}

// InstantAt evaluates qs at ts reading at most at resolution res.
func (e *Engine) InstantAt(ctx context.Context, qs string, ts time.Time, res Resolution) (parser.Value, annotations.Annotations, error) {
	expr, err := e.parse(qs)
	if err != nil {
		return nil, nil, err
	}
	if err := e.adm.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer e.adm.release()
	if e.forwards() {
		return e.opts.Backend.instant(ctx, qs, ts)
	}
	qs = e.forRollups(expr, qs, ts, ts, 0, res)
	q, err := e.eng.NewInstantQuery(ctx, e.queryable(res), queryOpts(ctx), qs, ts)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	defer q.Close()
	r := q.Exec(ctx)
	keepStats(ctx, q)
	if r.Err != nil {
		return nil, r.Warnings, r.Err
	}
	return detach(r.Value), r.Warnings, nil
}

// Range evaluates qs at every step from start to end over raw samples.
func (e *Engine) Range(ctx context.Context, qs string, start, end time.Time, step time.Duration) (promql.Matrix, annotations.Annotations, error) {
	return e.RangeAt(ctx, qs, start, end, step, ResolutionRaw)
}

// RangeAt evaluates qs at every step from start to end, reading at most
// at resolution res. The part of the range older than one step before now
// may be served from the result cache.
func (e *Engine) RangeAt(ctx context.Context, qs string, start, end time.Time, step time.Duration, res Resolution) (promql.Matrix, annotations.Annotations, error) {
	if err := e.checkRange(start, end, step); err != nil {
		return nil, nil, err
	}
	expr, err := e.parse(qs)
	if err != nil {
		return nil, nil, err
	}
	if err := e.adm.acquire(ctx); err != nil {
		return nil, nil, err
	}
	defer e.adm.release()
	if e.forwards() {
		return e.opts.Backend.rangeQuery(ctx, qs, start, end, step)
	}
	// The cache assumes data older than a step is settled, which only the
	// store can promise.
	canCache := cacheableExpr(expr) && statsOf(ctx) == nil && e.opts.Backend == nil // before the rewrite, which adds no @; statistics describe one whole evaluation
	run := e.forRollups(expr, qs, start, end, step, res)
	return e.cachedRange(ctx, run, canCache, start, end, step, res)
}

// parse parses qs and refuses it, before anything is evaluated, when a
// subquery would take more than MaxPoints points per series.
func (e *Engine) parse(qs string) (parser.Expr, error) {
	expr, err := e.parser.ParseExpr(qs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	if err := checkSubqueries(expr, e.opts.MaxPoints); err != nil {
		return nil, err
	}
	return expr, nil
}

// forRollups returns the query to run: qs itself, or, when rollups may
// serve part of it (the resolution allows them, or the query reaches past
// the raw retention), qs with count_over_time and avg_over_time rewritten
// to read the count and sum aggregates, which the engine's own count or
// average of rollup points would get wrong.
func (e *Engine) forRollups(expr parser.Expr, qs string, start, end time.Time, step time.Duration, res Resolution) string {
	if e.opts.Backend != nil { // raw samples only
		return qs
	}
	if res.maxTier(step.Milliseconds()) == store.TierRaw {
		earliest, _ := promql.FindMinMaxTime(&parser.EvalStmt{Expr: expr, Start: start, End: end, Interval: step, LookbackDelta: e.opts.LookbackDelta})
		if earliest >= e.db.Oldest(store.TierRaw) {
			return qs
		}
	}
	if rewritten, changed := rewriteForRollups(expr); changed {
		return rewritten.String()
	}
	return qs
}

// checkRange refuses ranges Prometheus refuses: end before start, a step
// that is not positive, more than MaxPoints points per series.
func (e *Engine) checkRange(start, end time.Time, step time.Duration) error {
	switch {
	case end.Before(start):
		return fmt.Errorf("%w: end timestamp must not be before start time", ErrBadQuery)
	case step <= 0:
		return fmt.Errorf("%w: zero or negative query resolution step widths are not accepted. Try a positive integer", ErrBadQuery)
	case end.Sub(start)/step > time.Duration(e.opts.MaxPoints):
		return fmt.Errorf("%w: exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", ErrBadQuery, e.opts.MaxPoints)
	}
	return nil
}

// evalRange runs a range query through the engine.
func (e *Engine) evalRange(ctx context.Context, qs string, start, end time.Time, step time.Duration, res Resolution) (promql.Matrix, annotations.Annotations, error) {
	q, err := e.eng.NewRangeQuery(ctx, e.queryable(res), queryOpts(ctx), qs, start, end, step)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadQuery, err)
	}
	defer q.Close()
	r := q.Exec(ctx)
	keepStats(ctx, q)
	if r.Err != nil {
		return nil, r.Warnings, r.Err
	}
	m, err := r.Matrix()
	if err != nil {
		return nil, r.Warnings, err
	}
	return detach(m).(promql.Matrix), r.Warnings, nil
}

// Stats receives the statistics of a query run with a context from
// WithStats: Prometheus' timings and sample counts, per step too when asked.
type Stats struct {
	perStep bool
	// Result is the statistics as Prometheus' API renders them; nil until
	// a query has run.
	Result stats.QueryStats
}

type statsKey struct{}

// WithStats returns ctx asking the queries run with it for their
// statistics, which land in the returned Stats; perStep adds the samples
// of each step, as Prometheus' stats=all does. A range query asked for
// them is evaluated whole, bypassing the result cache.
func WithStats(ctx context.Context, perStep bool) (context.Context, *Stats) {
	st := &Stats{perStep: perStep}
	return context.WithValue(ctx, statsKey{}, st), st
}

func statsOf(ctx context.Context) *Stats {
	st, _ := ctx.Value(statsKey{}).(*Stats)
	return st
}

// queryOpts returns the engine's options for a query run with ctx.
func queryOpts(ctx context.Context) promql.QueryOpts {
	if st := statsOf(ctx); st != nil {
		return promql.NewPrometheusQueryOpts(st.perStep, 0, nil)
	}
	return nil
}

// keepStats hands q's statistics to the Stats ctx carries, if any.
func keepStats(ctx context.Context, q promql.Query) {
	if st := statsOf(ctx); st != nil {
		st.Result = stats.NewQueryStats(q.Stats())
	}
}

// detach copies a result's points out of the engine's pools, which Close
// hands them back to for the next query to overwrite.
func detach(v parser.Value) parser.Value {
	switch v := v.(type) {
	case promql.Matrix:
		out := make(promql.Matrix, len(v))
		for i, s := range v {
			out[i] = promql.Series{Metric: s.Metric, Floats: slices.Clone(s.Floats), Histograms: slices.Clone(s.Histograms)}
		}
		return out
	}
	// A vector's samples are its own: Close pools only matrix points.
	return v
}

// PromEngine returns the PromQL engine with the limits of Options, for
// callers such as rules.EngineQueryFunc that drive it themselves.
func (e *Engine) PromEngine() *promql.Engine { return e.eng }

// Queryable returns the raw-sample Queryable, for the series and label endpoints.
func (e *Engine) Queryable() *Queryable { return e.raw }

// Series returns the labels of the series the matchers select, whatever
// the time: the index keeps a series until all its data has expired.
func (e *Engine) Series(ms []*labels.Matcher) ([]labels.Labels, error) {
	if e.opts.Backend != nil {
		return e.opts.Backend.series(ms, time.Time{}, time.Time{})
	}
	var out []labels.Labels
	for _, ls := range e.db.Series(ms...) {
		out = append(out, promLabels(ls))
	}
	return out, nil
}

// LabelNames returns the label names of the series any matcher set selects
// (every series without sets), sorted.
func (e *Engine) LabelNames(sets [][]*labels.Matcher) ([]string, error) {
	switch {
	case e.opts.Backend != nil:
		return e.opts.Backend.labelNames(sets, time.Time{}, time.Time{})
	case len(sets) == 0:
		return e.db.LabelNames(), nil
	}
	return union(sets, func(ms []*labels.Matcher) []string { return e.db.LabelNames(ms...) }), nil
}

// LabelValues returns the values of label name among the series any
// matcher set selects (every series without sets), sorted.
func (e *Engine) LabelValues(name string, sets [][]*labels.Matcher) ([]string, error) {
	switch {
	case e.opts.Backend != nil:
		return e.opts.Backend.labelValues(name, sets, time.Time{}, time.Time{})
	case len(sets) == 0:
		return e.db.LabelValues(name), nil
	}
	return union(sets, func(ms []*labels.Matcher) []string { return e.db.LabelValues(name, ms...) }), nil
}

// SeriesBetween returns the labels of the series the matchers select with
// data between mint and maxt (unix ms, inclusive).
func (e *Engine) SeriesBetween(mint, maxt int64, ms []*labels.Matcher) ([]labels.Labels, error) {
	if e.opts.Backend != nil {
		return e.opts.Backend.series(ms, time.UnixMilli(mint), time.UnixMilli(maxt))
	}
	found, err := e.db.SeriesBetween(mint, maxt, ms...)
	out := make([]labels.Labels, len(found))
	for i, ls := range found {
		out[i] = promLabels(ls)
	}
	return out, err
}

// LabelNamesBetween returns the label names of the series any matcher set
// selects (every series without sets) with data between mint and maxt.
func (e *Engine) LabelNamesBetween(mint, maxt int64, sets [][]*labels.Matcher) ([]string, error) {
	if e.opts.Backend != nil {
		return e.opts.Backend.labelNames(sets, time.UnixMilli(mint), time.UnixMilli(maxt))
	}
	return unionErr(sets, func(ms []*labels.Matcher) ([]string, error) { return e.db.LabelNamesBetween(mint, maxt, ms...) })
}

// LabelValuesBetween returns the values of label name among the series any
// matcher set selects (every series without sets) with data between mint
// and maxt.
func (e *Engine) LabelValuesBetween(name string, mint, maxt int64, sets [][]*labels.Matcher) ([]string, error) {
	if e.opts.Backend != nil {
		return e.opts.Backend.labelValues(name, sets, time.UnixMilli(mint), time.UnixMilli(maxt))
	}
	return unionErr(sets, func(ms []*labels.Matcher) ([]string, error) { return e.db.LabelValuesBetween(name, mint, maxt, ms...) })
}

// QueryFunc is what rules evaluate with: the engine over raw samples
// (the store's or the backend's), or the backend's instant queries.
func (e *Engine) QueryFunc() rules.QueryFunc {
	if e.forwards() {
		return e.opts.Backend.queryFunc()
	}
	return rules.EngineQueryFunc(e.eng, e.queryable(ResolutionRaw))
}

// forwards reports whether queries go to the backend whole.
func (e *Engine) forwards() bool { return e.opts.Backend != nil && !e.opts.BackendRead }

// queryable is what the engine reads at resolution res: the store's tiers,
// or the backend's raw samples.
func (e *Engine) queryable(res Resolution) storage.Queryable {
	if e.opts.Backend != nil {
		return backendQueryable{e.opts.Backend}
	}
	return e.raw.at(res)
}

// unionErr returns the sorted union of what fn finds for each matcher
// set, or for every series when there is none.
func unionErr(sets [][]*labels.Matcher, fn func([]*labels.Matcher) ([]string, error)) ([]string, error) {
	if len(sets) == 0 {
		sets = [][]*labels.Matcher{nil}
	}
	out := []string{}
	for _, ms := range sets {
		found, err := fn(ms)
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func union(sets [][]*labels.Matcher, fn func([]*labels.Matcher) []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, ms := range sets {
		for _, v := range fn(ms) {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}
