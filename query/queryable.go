package query

import (
	"context"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// Queryable is the store as Prometheus' storage.Queryable, so the PromQL
// engine evaluates over it. With rollups it serves selects whose hints
// allow it from the 1-minute and 1-hour tiers (see rollup.go).
type Queryable struct {
	db      *store.DB
	rollups bool
	// onSelect, when set, is told what each Select reads; tests use it to
	// check that a query was served from the tier they expect.
	onSelect func(selectPlan)
}

// NewQueryable returns db as a storage.Queryable; rollups lets coarse
// selects read the rollup tiers.
func NewQueryable(db *store.DB, rollups bool) *Queryable {
	return &Queryable{db: db, rollups: rollups}
}

// Querier returns a querier of the time range [mint, maxt].
func (q *Queryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{q: q, mint: mint, maxt: maxt}, nil
}

type querier struct {
	q          *Queryable
	mint, maxt int64
}

// Select reads the matching series, sorted (the store always sorts).
func (q *querier) Select(_ context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	plan, ms := planSelect(hints, ms, q.q.rollups)
	if q.q.onSelect != nil {
		q.q.onSelect(plan)
	}
	sq := store.Query{MinT: q.mint, MaxT: q.maxt, Matchers: ms, Aggregate: plan.aggregate}
	if hints != nil {
		sq.MinT, sq.MaxT = hints.Start, hints.End
	}
	series, err := q.q.db.SelectTier(sq, plan.tier)
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

func (q *querier) Close() error { return nil }
