package alert

import (
	"context"
	"errors"
	"math"
	"time"

	"atroz/store"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// staleNaN is Prometheus' staleness marker: a recorded series that a rule
// no longer returns ends there, as Prometheus' rule group ends it.
var staleNaN = math.Float64frombits(value.StaleNaN)

// errHistogram is a rule's sample that is a native histogram, which the store does not keep.
var errHistogram = errors.New("native histogram samples are not stored")

// evalRecording evaluates a recording rule at ts and appends its result to
// the store as Prometheus' rule group does: each sample on its own (one the
// store refuses, such as another rule's series at the same time with
// another value, is dropped and marks the rule unhealthy), then a staleness
// marker for each series the rule recorded last time and not this time. A
// failed evaluation writes nothing and keeps the last series for the next.
func (m *Manager) evalRecording(ctx context.Context, g *group, i int, r *rules.RecordingRule, ts time.Time) {
	start := time.Now()
	defer func() {
		r.SetEvaluationTimestamp(ts)
		r.SetEvaluationDuration(time.Since(start))
	}()
	vec, err := r.Eval(ctx, g.QueryOffset, ts, m.query, m.extURL, g.Limit)
	if err != nil {
		r.SetHealth(rules.HealthBad)
		r.SetLastError(err)
		g.failures.Add(1)
		m.opts.Logger.Error("recording rule evaluation failed", "event_type", "rule_evaluation", "group", g.Name, "record", r.Name(), "error", err)
		return
	}
	r.SetHealth(rules.HealthGood)
	r.SetLastError(nil)
	seen := make(map[string]store.Labels, len(vec))
	var dropped map[string]int
	for _, s := range vec {
		ls := storeLabels(s.Metric)
		err := errHistogram
		if s.H == nil {
			err = m.db.Append(ls, s.T, s.F)
		}
		if err != nil {
			r.SetHealth(rules.HealthBad)
			r.SetLastError(err)
			dropped = countDropped(dropped, err)
			m.opts.Logger.Debug("recording rule result dropped", "event_type", "rule_evaluation", "record", r.Name(), "series", ls.String(), "error", err)
			continue
		}
		seen[string(s.Metric.Bytes(nil))] = ls
	}
	for reason, n := range dropped {
		m.opts.Logger.Warn("recording rule results dropped", "event_type", "rule_evaluation", "group", g.Name, "record", r.Name(), "reason", reason, "dropped", n, "last_error", r.LastError())
	}
	m.markStale(g, r, g.prev[i], seen, ts.Add(-g.QueryOffset).UnixMilli())
	g.prev[i] = seen
}

// countDropped counts a refused sample under the store's reason for it.
func countDropped(m map[string]int, err error) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	for _, reason := range []error{store.ErrOutOfOrder, store.ErrDuplicateSample, store.ErrTooOld, store.ErrTooFarInFuture, store.ErrSeriesLimit, store.ErrDiskFull, errHistogram} {
		if errors.Is(err, reason) {
			m[reason.Error()]++
			return m
		}
	}
	m["refused"]++
	return m
}

// markStale appends a staleness marker at t for each series of prev that
// seen lacks. A marker refused because another rule wrote the series at t
// is expected, as in Prometheus, and not logged.
func (m *Manager) markStale(g *group, r *rules.RecordingRule, prev, seen map[string]store.Labels, t int64) {
	for k, ls := range prev {
		if _, ok := seen[k]; ok {
			continue
		}
		err := m.db.Append(ls, t, staleNaN)
		if err != nil && !errors.Is(err, store.ErrOutOfOrder) && !errors.Is(err, store.ErrDuplicateSample) && !errors.Is(err, store.ErrTooOld) {
			m.opts.Logger.Warn("staleness marker not written", "event_type", "rule_evaluation", "group", g.Name, "record", r.Name(), "series", ls.String(), "error", err)
		}
	}
}

// storeLabels converts a result's labels for the store.
func storeLabels(ls labels.Labels) store.Labels {
	out := make(store.Labels, 0, ls.Len())
	ls.Range(func(l labels.Label) { out = append(out, store.Label{Name: l.Name, Value: l.Value}) })
	return out
}

// batches splits a group's rules into the steps of its evaluation: a run
// of alerting rules that read nothing the group records is one step, its
// rules evaluated at once; every other rule is a step of its own, so a
// rule sees what the rules before it recorded in the same evaluation.
// Alerting rules write no series, so none depends on one.
func batches(rs []rules.Rule) [][]int {
	recorded := map[string]bool{}
	for _, r := range rs {
		if _, ok := r.(*rules.RecordingRule); ok {
			recorded[r.Name()] = true
		}
	}
	var out [][]int
	open := false
	for i, r := range rs {
		if !independent(r, recorded) {
			out, open = append(out, []int{i}), false
			continue
		}
		if !open {
			out, open = append(out, nil), true
		}
		out[len(out)-1] = append(out[len(out)-1], i)
	}
	return out
}

// independent reports whether r is an alerting rule whose expression
// selects, by name, no metric of recorded. A selector without a name could
// read any of them.
func independent(r rules.Rule, recorded map[string]bool) bool {
	if _, ok := r.(*rules.AlertingRule); !ok {
		return false
	}
	ok := true
	parser.Inspect(r.Query(), func(n parser.Node, _ []parser.Node) error {
		if vs, isVS := n.(*parser.VectorSelector); isVS && len(recorded) > 0 {
			if name := selectorName(vs); name == "" || recorded[name] {
				ok = false
			}
		}
		return nil
	})
	return ok
}

// selectorName is the metric name vs selects by equality, or "".
func selectorName(vs *parser.VectorSelector) string {
	for _, m := range vs.LabelMatchers {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}
