package query

import (
	"context"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// Queryable is the store as Prometheus' storage.Queryable, so the PromQL
// engine evaluates over it. It reads raw samples, and rollup tiers only
// where its Resolution allows them or for time older than the raw
// retention (see rollup.go and rolled.go).
type Queryable struct {
	db  *store.DB
	res Resolution
	// onSelect, when set, is told what each Select reads; tests use it to
	// check that a query was served from the tier they expect.
	onSelect func(selectPlan)
}

// NewQueryable returns db as a storage.Queryable reading at most at
// resolution res.
func NewQueryable(db *store.DB, res Resolution) *Queryable {
	return &Queryable{db: db, res: res}
}

// at returns a Queryable like q reading at most at resolution res.
func (q *Queryable) at(res Resolution) *Queryable {
	c := *q
	c.res = res
	return &c
}

// Querier returns a querier of the time range [mint, maxt].
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{q: q, mint: mint, maxt: maxt}, nil
}

type querier struct {
	q          *Queryable
	mint, maxt int64
	// reader serves the raw selects, made at the first; the engine's
	// selects come one after another, from one goroutine.
	reader *store.Reader
}

// Select reads the matching series, sorted (the store always sorts),
// ending the read with ctx's error once ctx is done.
func (q *querier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	plan, ms := q.q.plan(hints, ms)
	if q.q.onSelect != nil {
		q.q.onSelect(plan)
	}
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	if plan.tier == store.TierRaw && !plan.points {
		return withContext(ctx, q.selectRaw(mint, maxt, ms))
	}
	return withContext(ctx, q.q.selectRolled(plan, mint, maxt, ms))
}

// selectRaw reads raw samples only, through the querier's store.Reader:
// the series decode their chunks as the engine iterates them.
func (q *querier) selectRaw(mint, maxt int64, ms []*labels.Matcher) storage.SeriesSet {
	if q.reader == nil {
		q.reader = q.q.db.Reader()
	}
	series, err := q.reader.Select(mint, maxt, ms...)
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	return newSeriesSet(series)
}

// LabelValues returns the values of name among the matching series.
func (q *querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.q.db.LabelValues(name, ms...), nil, nil
}

// LabelNames returns the label names of the matching series.
func (q *querier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	return q.q.db.LabelNames(ms...), nil, nil
}

// Close releases the reader; the engine closes a querier when its query
// has been evaluated.
func (q *querier) Close() error {
	if q.reader == nil {
		return nil
	}
	return q.reader.Close()
}
