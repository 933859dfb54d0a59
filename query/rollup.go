package query

import (
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// Which selects rollups serve, and with which aggregate, once a request
// allows them (Resolution) or for time older than the raw retention. Each
// function reads the aggregate that keeps its meaning, as Thanos does over
// its downsampled chunks:
//
//	max_over_time          max       exact per interval
//	min_over_time          min       exact per interval
//	sum_over_time          sum       exact per interval
//	count_over_time        count     rewritten to sum_over_time of the count
//	avg_over_time          sum/count rewritten to sum_over_time(sum) / sum_over_time(count)
//	last_over_time         last      exact: a point's time is its last sample's
//	rate, increase         counter   resets added back; the window must hold 5 intervals,
//	                                 and extrapolation from one point per interval
//	                                 moves the answer by a few percent
//	plain selectors        last      1-minute tier at most: the 5-minute lookback needs points within it
//
// Every other function reads raw samples. Where a window's edge cuts an
// interval, the interval counts whole, so a rollup answer may differ from
// the raw one by the samples of one interval at each edge; the README
// states the measured bound per function.
var rollupFuncs = map[string]store.Aggregate{
	"max_over_time":  store.AggregateMax,
	"min_over_time":  store.AggregateMin,
	"sum_over_time":  store.AggregateSum,
	"last_over_time": store.AggregateLast,
	"rate":           store.AggregateCounter,
	"increase":       store.AggregateCounter,
}

// rollupLabel is a pseudo-label matcher that a rewritten query uses to ask
// for one aggregate; the querier removes it before reading.
const rollupLabel = "__rollup__"

const (
	minuteMs = int64(60_000)
	hourMs   = 60 * minuteMs
)

// selectPlan is what one Select reads.
type selectPlan struct {
	// tier is the rollup tier that may serve the select; TierRaw for none.
	tier store.Tier
	// aggregate is the value a rollup point gives, and what a raw sample
	// stands for where raw samples and points meet.
	aggregate store.Aggregate
	// asked is true when the request's resolution chose tier; false when
	// only time older than the raw retention sends the select to it.
	asked bool
	// points is true when the query was rewritten to read an aggregate
	// (count, sum): raw samples must then be served as one-sample points.
	points bool
}

// plan chooses what a select reads, and strips the pseudo-matcher.
func (q *Queryable) plan(h *storage.SelectHints, ms []*labels.Matcher) (selectPlan, []*labels.Matcher) {
	forced, ms := takeRollupMatcher(ms)
	p := selectPlan{tier: store.TierRaw}
	if h == nil {
		return p, ms
	}
	agg, served := aggregateFor(h)
	if forced != nil {
		agg, served, p.points = *forced, true, true
	}
	p.aggregate = agg
	if served {
		p.tier = allowedTier(h, agg, q.res.maxTier(h.Step))
		p.asked = p.tier != store.TierRaw
	}
	if p.tier == store.TierRaw && h.Start < q.db.Oldest(store.TierRaw) {
		p.tier = max(q.db.Covering(h.Start), store.TierMinute)
	}
	return p, ms
}

// aggregateFor is the aggregate that serves a select, and whether rollups
// can serve it at all.
func aggregateFor(h *storage.SelectHints) (store.Aggregate, bool) {
	if h.Range == 0 {
		return store.AggregateLast, true
	}
	agg, ok := rollupFuncs[h.Func]
	return agg, ok
}

// allowedTier is the coarsest tier, no coarser than top, that a select's
// window can use: a range must hold minWindow intervals of the tier, and a
// plain selector reads the 1-minute tier at most.
func allowedTier(h *storage.SelectHints, agg store.Aggregate, top store.Tier) store.Tier {
	if h.Range == 0 {
		return min(top, store.TierMinute)
	}
	for t := top; t > store.TierRaw; t-- {
		if h.Range >= minWindow(agg)*t.Resolution().Milliseconds() {
			return t
		}
	}
	return store.TierRaw
}

// minWindow is how many intervals of a tier a range must hold for agg:
// rate and increase extrapolate from the points they see, so they need
// several; the other aggregates are exact over whole intervals.
func minWindow(agg store.Aggregate) int64 {
	if agg == store.AggregateCounter {
		return 5
	}
	return 1
}

func takeRollupMatcher(ms []*labels.Matcher) (*store.Aggregate, []*labels.Matcher) {
	for i, m := range ms {
		if m.Name != rollupLabel {
			continue
		}
		rest := append(append([]*labels.Matcher(nil), ms[:i]...), ms[i+1:]...)
		if a, err := store.ParseAggregate(m.Value); err == nil {
			return &a, rest
		}
		return nil, rest
	}
	return nil, ms
}

// rewriteForRollups turns count_over_time and avg_over_time over plain
// selectors into sums of the count and sum aggregates, which rollups can
// serve exactly; the engine's own count or average of rollup points would
// count points, not samples. It rewrites in place and reports whether it
// changed anything.
func rewriteForRollups(expr parser.Expr) (parser.Expr, bool) {
	changed := false
	var rewrite func(e parser.Expr) parser.Expr
	rewrite = func(e parser.Expr) parser.Expr {
		call, ok := e.(*parser.Call)
		if ok && (call.Func.Name == "count_over_time" || call.Func.Name == "avg_over_time") {
			if ms, ok := call.Args[0].(*parser.MatrixSelector); ok {
				if out := rewriteCall(call, ms); out != nil {
					changed = true
					return out
				}
			}
		}
		for _, child := range parser.Children(e) {
			replaceChild(e, child, rewrite(child.(parser.Expr)))
		}
		return e
	}
	return rewrite(expr), changed
}

func rewriteCall(call *parser.Call, ms *parser.MatrixSelector) parser.Expr {
	if _, ok := ms.VectorSelector.(*parser.VectorSelector); !ok || ms.Range < time.Minute {
		return nil
	}
	sumOf := func(agg string) *parser.Call {
		vs := *ms.VectorSelector.(*parser.VectorSelector)
		vs.LabelMatchers = append(append([]*labels.Matcher(nil), vs.LabelMatchers...), labels.MustNewMatcher(labels.MatchEqual, rollupLabel, agg))
		m := *ms
		m.VectorSelector = &vs
		return &parser.Call{Func: parser.Functions["sum_over_time"], Args: parser.Expressions{&m}, PosRange: call.PosRange}
	}
	if call.Func.Name == "count_over_time" {
		return sumOf("count")
	}
	return &parser.BinaryExpr{Op: parser.DIV, LHS: sumOf("sum"), RHS: sumOf("count"),
		VectorMatching: &parser.VectorMatching{Card: parser.CardOneToOne}}
}

// replaceChild swaps old for new among e's direct children.
func replaceChild(e parser.Node, old parser.Node, new parser.Expr) {
	if old == parser.Node(new) {
		return
	}
	switch n := e.(type) {
	case *parser.Call:
		for i := range n.Args {
			if n.Args[i] == old {
				n.Args[i] = new
			}
		}
	case *parser.AggregateExpr:
		if n.Expr == old {
			n.Expr = new
		}
		if n.Param == old {
			n.Param = new
		}
	case *parser.BinaryExpr:
		if n.LHS == old {
			n.LHS = new
		}
		if n.RHS == old {
			n.RHS = new
		}
	case *parser.ParenExpr:
		n.Expr = new
	case *parser.UnaryExpr:
		n.Expr = new
	case *parser.SubqueryExpr:
		n.Expr = new
	case *parser.StepInvariantExpr:
		n.Expr = new
	}
}
