package query

import (
	"fmt"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/annotations"
)

// selectRolled serves a select that rollups may answer. Per series it
// reads the plan's tier, and raw samples where they exist and the tier
// would not be smaller than them (a series scraped once a minute keeps
// its raw samples at the 1-minute tier) or where the request did not ask
// for rollups (the tier then serves only time older than the raw data).
// Whenever a tier served any point, the series set warns, naming it.
func (q *Queryable) selectRolled(p selectPlan, mint, maxt int64, ms []*labels.Matcher) storage.SeriesSet {
	sq := store.Query{MinT: mint, MaxT: maxt, Matchers: ms, Aggregate: p.aggregate}
	var tiered []store.Series
	var err error
	if p.tier != store.TierRaw {
		if tiered, err = q.db.SelectTier(sq, p.tier); err != nil {
			return storage.ErrSeriesSet(err)
		}
	}
	var raw []store.Series
	if !p.asked || anySparse(tiered) {
		if raw, err = q.db.SelectTier(sq, store.TierRaw); err != nil {
			return storage.ErrSeriesSet(err)
		}
	}
	out, used := q.combine(p, tiered, raw, mint)
	set := &rolledSet{series: out, i: -1}
	if used {
		set.warnings = set.warnings.Add(q.tierWarning(p))
	}
	return set
}

// tierWarning is the warning an answer carries when tier p.tier served it.
func (q *Queryable) tierWarning(p selectPlan) error {
	if p.asked {
		return fmt.Errorf("max_source_resolution=%s: %s rollups served part of this answer; each function's error bound against raw samples is in the README", q.res, tierName(p.tier))
	}
	return fmt.Errorf("data older than the %s raw retention was read from the %s rollup tier", q.db.Retention(store.TierRaw), tierName(p.tier))
}

// combine merges the tier's series with the raw ones by labels (both are
// sorted) and reports whether any tier point was used.
func (q *Queryable) combine(p selectPlan, tiered, raw []store.Series, mint int64) ([]series, bool) {
	out := make([]series, 0, max(len(tiered), len(raw)))
	used := false
	i, j := 0, 0
	for i < len(tiered) || j < len(raw) {
		var t, r *store.Series
		switch c := compareSeries(tiered, raw, i, j); {
		case c < 0:
			t, i = &tiered[i], i+1
		case c > 0:
			r, j = &raw[j], j+1
		default:
			t, r, i, j = &tiered[i], &raw[j], i+1, j+1
		}
		s, fromTier := q.seriesOf(p, t, r, mint)
		used = used || fromTier
		if len(s) > 0 {
			out = append(out, series{lset: promLabels(labelsOf(t, r)), samples: s})
		}
	}
	return out, used
}

// seriesOf is one series' samples: t's points where the plan lets them
// serve, raw samples (as points of the plan's aggregate) from r's first
// sample on otherwise. It reports whether any tier point was used.
func (q *Queryable) seriesOf(p selectPlan, t, r *store.Series, mint int64) (samples, bool) {
	useRaw := r != nil && len(r.Samples) > 0 && (!p.asked || t == nil || sparse(t.Points))
	if !useRaw {
		if t == nil {
			return nil, false
		}
		if p.aggregate == store.AggregateCounter {
			return q.withFirstSample(p, t, mint), len(t.Samples) > 0
		}
		return t.Samples, len(t.Samples) > 0
	}
	// The tier serves whole intervals up to the one the raw samples begin
	// in, which a pruned chunk may have cut; raw samples serve the rest.
	from := r.Samples[0].T
	if t != nil && len(t.Points) > 0 && t.Points[0].T < from {
		res := p.tier.Resolution().Milliseconds()
		from = (from/res + 1) * res
	}
	var out samples
	offset := 0.0 // the resets the tier's counter added back before the raw samples
	if t != nil {
		for _, pt := range t.Points {
			if pt.T >= from {
				break
			}
			out = append(out, store.Sample{T: pt.T, V: pt.Get(p.aggregate)})
			offset = pt.Counter - pt.Last
		}
	}
	if len(out) == 0 {
		from = minInt64
	}
	rs := r.Samples
	for len(rs) > 0 && rs[0].T < from {
		rs = rs[1:]
	}
	fromTier := len(out) > 0
	if !fromTier && p.aggregate != store.AggregateCount {
		return rs, false // raw samples are their own points of every other aggregate
	}
	for _, s := range rs {
		out = append(out, store.Sample{T: s.T, V: rawAs(p.aggregate, s.V, offset)})
	}
	return out, fromTier
}

const minInt64 = -1 << 63

// rawAs is what a raw sample counts as among points of aggregate a: a
// point of one sample.
func rawAs(a store.Aggregate, v, counterOffset float64) float64 {
	switch a {
	case store.AggregateCount:
		return 1
	case store.AggregateCounter:
		return v + counterOffset
	}
	return v
}

// sparse reports whether a tier's points hold fewer than two raw samples
// each on average: the tier is then no smaller than the raw data.
func sparse(pts []store.Point) bool {
	if len(pts) == 0 {
		return false
	}
	n := 0.0
	for _, p := range pts {
		n += p.Count
	}
	return n < 2*float64(len(pts))
}

func anySparse(ss []store.Series) bool {
	for _, s := range ss {
		if sparse(s.Points) {
			return true
		}
	}
	return false
}

// withFirstSample adds, before a counter's first point, the first sample
// of that point's interval when the series began inside the read: rate and
// increase need two points, and a series younger than two intervals of the
// tier would otherwise have one, and no answer.
func (q *Queryable) withFirstSample(p selectPlan, t *store.Series, mint int64) samples {
	res := p.tier.Resolution().Milliseconds()
	if len(t.Points) == 0 || t.Points[0].T-res < mint {
		return t.Samples
	}
	first := t.Points[0]
	from := first.T / res * res
	finer := q.db.Covering(from)
	if finer >= p.tier {
		return t.Samples
	}
	got, err := q.db.SelectTier(store.Query{MinT: from, MaxT: first.T - 1, Matchers: exactly(t.Labels), Aggregate: store.AggregateCounter}, finer)
	if err != nil || len(got) == 0 || len(got[0].Samples) == 0 {
		return t.Samples
	}
	s := got[0].Samples[0]
	if finer == store.TierRaw {
		s.V += first.Counter - first.Last
	}
	return append(samples{s}, t.Samples...)
}

// exactly returns matchers that select the series ls only.
func exactly(ls store.Labels) []*labels.Matcher {
	ms := make([]*labels.Matcher, len(ls))
	for i, l := range ls {
		ms[i] = labels.MustNewMatcher(labels.MatchEqual, l.Name, l.Value)
	}
	return ms
}

func compareSeries(a, b []store.Series, i, j int) int {
	switch {
	case i >= len(a):
		return 1
	case j >= len(b):
		return -1
	}
	return a[i].Labels.Compare(b[j].Labels)
}

func labelsOf(t, r *store.Series) store.Labels {
	if t != nil {
		return t.Labels
	}
	return r.Labels
}

// rolledSet iterates series that rollups served, with their warning.
type rolledSet struct {
	series   []series
	i        int
	warnings annotations.Annotations
}

func (s *rolledSet) Next() bool {
	s.i++
	return s.i < len(s.series)
}

func (s *rolledSet) At() storage.Series                { return &s.series[s.i] }
func (s *rolledSet) Err() error                        { return nil }
func (s *rolledSet) Warnings() annotations.Annotations { return s.warnings }
