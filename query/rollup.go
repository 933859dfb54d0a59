package query

import (
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// Which selects the rollup tiers serve, and with which aggregate. A select
// qualifies when the query's step is at least a tier's resolution, so no
// chart needs points finer than the tier has, and its range (for range
// functions) covers at least one interval of the tier. Each function reads
// the aggregate that keeps its meaning, as Thanos does over its
// downsampled chunks:
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
//	plain selectors        last      1-minute tier only: the 5-minute lookback needs points within it
//
// Every other function reads raw samples. Where a window's edge cuts an
// interval, the interval counts whole, so a rollup answer may differ from
// the raw one by the samples of one interval at each edge.
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

// selectPlan is the tier and aggregate one Select reads.
type selectPlan struct {
	tier      store.Tier
	aggregate store.Aggregate
}

// planSelect chooses what a select reads, and strips the pseudo-matcher.
func planSelect(h *storage.SelectHints, ms []*labels.Matcher, rollups bool) (selectPlan, []*labels.Matcher) {
	forced, ms := takeRollupMatcher(ms)
	if forced != nil { // a rewritten query asked for this aggregate
		return selectPlan{tier: coarsest(h, *forced), aggregate: *forced}, ms
	}
	raw := selectPlan{tier: store.TierRaw}
	if !rollups || h == nil || h.Step < minuteMs {
		return raw, ms
	}
	if h.Range == 0 { // an instant selector: points must fall within the lookback
		return selectPlan{tier: store.TierMinute, aggregate: store.AggregateLast}, ms
	}
	agg, ok := rollupFuncs[h.Func]
	if !ok || h.Range < minWindow(agg)*minuteMs {
		return raw, ms
	}
	return selectPlan{tier: coarsest(h, agg), aggregate: agg}, ms
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

// coarsest is the coarsest rollup tier both the step and the range allow.
func coarsest(h *storage.SelectHints, agg store.Aggregate) store.Tier {
	if h != nil && h.Step >= hourMs && h.Range >= minWindow(agg)*hourMs {
		return store.TierHour
	}
	return store.TierMinute
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
