package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// backendQueryable reads raw samples from a Backend, so an Engine with
// Options.BackendRead evaluates every query itself over the backend's
// data: its answers are PromQL's, the store's engine's, whatever the
// backend's own language (VictoriaMetrics' MetricsQL does not extrapolate
// rate(), for one). A select asks the backend for the selector's raw
// samples over its range, an instant query of a range selector, which
// every Prometheus-compatible API answers with the stored samples.
type backendQueryable struct{ b *Backend }

func (q backendQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &backendQuerier{b: q.b, mint: mint, maxt: maxt}, nil
}

type backendQuerier struct {
	b          *Backend
	mint, maxt int64
}

// Select returns the raw samples of the series ms selects over the
// hints' range (the querier's without hints), sorted by labels.
func (q *backendQuerier) Select(ctx context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	if maxt < mint {
		return storage.EmptySeriesSet()
	}
	// A range selector holds the samples after end-range up to end, so
	// one more millisecond takes the sample at mint too.
	qs := fmt.Sprintf("%s[%dms]", selector(ms), maxt-mint+1)
	v, notes, err := q.b.instant(ctx, qs, time.UnixMilli(maxt))
	if err != nil {
		return storage.ErrSeriesSet(err)
	}
	m, ok := v.(promql.Matrix)
	if !ok {
		return storage.ErrSeriesSet(fmt.Errorf("query backend: raw samples came as a %s", v.Type()))
	}
	slices.SortFunc(m, func(a, b promql.Series) int { return labels.Compare(a.Metric, b.Metric) })
	return &matrixSet{m: m, i: -1, notes: notes}
}

// LabelValues returns the values of name among the series ms selects.
func (q *backendQuerier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	out, err := q.b.labelValues(name, matcherSets(ms), time.UnixMilli(q.mint), time.UnixMilli(q.maxt))
	return out, nil, err
}

// LabelNames returns the label names of the series ms selects.
func (q *backendQuerier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	out, err := q.b.labelNames(matcherSets(ms), time.UnixMilli(q.mint), time.UnixMilli(q.maxt))
	return out, nil, err
}

// Close releases nothing: each select is one request.
func (q *backendQuerier) Close() error { return nil }

func matcherSets(ms []*labels.Matcher) [][]*labels.Matcher {
	if len(ms) == 0 {
		return nil
	}
	return [][]*labels.Matcher{ms}
}

// matrixSet is a matrix as a storage.SeriesSet.
type matrixSet struct {
	m     promql.Matrix
	i     int
	notes annotations.Annotations
}

func (s *matrixSet) Next() bool {
	s.i++
	return s.i < len(s.m)
}

func (s *matrixSet) At() storage.Series                { return promql.NewStorageSeries(s.m[s.i]) }
func (s *matrixSet) Err() error                        { return nil }
func (s *matrixSet) Warnings() annotations.Annotations { return s.notes }

// Remote reports whether a query backend answers instead of the store.
func (e *Engine) Remote() bool { return e.opts.Backend != nil }

// RawSamples returns the raw samples of the series ms selects between
// mint and maxt (unix ms, inclusive), sorted by labels: the backend's when
// there is one, the store's raw tier otherwise.
func (e *Engine) RawSamples(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]store.Series, error) {
	if e.opts.Backend == nil {
		return e.db.SelectTier(store.Query{MinT: mint, MaxT: maxt, Matchers: ms}, store.TierRaw)
	}
	q := &backendQuerier{b: e.opts.Backend, mint: mint, maxt: maxt}
	set := q.Select(ctx, true, nil, ms...)
	var out []store.Series
	for set.Next() {
		s := set.At()
		sr := store.Series{Labels: store.FromPrometheus(s.Labels())}
		it := s.Iterator(nil)
		for it.Next() != chunkenc.ValNone {
			t, v := it.At()
			sr.Samples = append(sr.Samples, store.Sample{T: t, V: v})
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		out = append(out, sr)
	}
	return out, set.Err()
}
