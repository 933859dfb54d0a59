package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/query"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
)

// recordRules mixes recording and alerting rules in one group: the second
// rule reads the first one's result of the same evaluation, the alert the
// second's.
const recordRules = `groups:
- name: rec
  labels: {team: web}
  rules:
  - record: svc:req:rate1m
    expr: sum by (svc) (rate(req_total[1m]))
  - record: svc:req:double
    expr: svc:req:rate1m * 2
    labels: {kind: doubled}
  - alert: Busy
    expr: svc:req:double > 1e9
  - record: nan:ratio
    expr: sum(req_total) * 0 / 0
`

// reqTotal is a counter growing faster each minute, so its rate changes
// at every evaluation. Series b stops at t0+2m.
func reqTotal(r *rig, ts time.Time) {
	n := ts.Sub(t0.Add(-5*time.Minute)).Seconds() / 15
	r.add(ts, n*n, "req_total", "svc", "a")
	if ts.Before(t0.Add(2 * time.Minute)) {
		r.add(ts, 3*n*n, "req_total", "svc", "b")
	}
}

func newRecordRig(t *testing.T, rulesYAML string) *rig {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, file, rulesYAML)
	return newRig(t, "", file)
}

// stored returns the raw samples of the series sel selects, by their labels.
func stored(t *testing.T, db *store.DB, sel string) map[string][]store.Sample {
	t.Helper()
	ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := db.Select(store.Query{MinT: t0.Add(-time.Hour).UnixMilli(), MaxT: t0.Add(time.Hour).UnixMilli(), Matchers: ms})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]store.Sample{}
	for _, s := range ss {
		out[s.Labels.String()] = s.Samples
	}
	return out
}

// TestRecordingRulesStoreWhatTheQueryAnswers evaluates a mixed file every
// 15 s and checks each recorded sample against the engine's answer to the
// rule's expression at the same time, and the second rule against the
// first one's result of the same evaluation.
func TestRecordingRulesStoreWhatTheQueryAnswers(t *testing.T) {
	r := newRecordRig(t, recordRules)
	eng := query.New(r.db, &query.Options{CacheBytes: -1})
	var evals []time.Time
	want := map[string]map[int64]float64{}
	r.run(t0.Add(-5*time.Minute), t0.Add(5*time.Minute), func(ts time.Time) {
		reqTotal(r, ts)
		evals = append(evals, ts)
		v, _, err := eng.Instant(t.Context(), "sum by (svc) (rate(req_total[1m]))", ts)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range v.(promql.Vector) {
			k := fmt.Sprintf(`svc:req:rate1m{svc=%q,team="web"}`, s.Metric.Get("svc"))
			if want[k] == nil {
				want[k] = map[int64]float64{}
			}
			want[k][ts.UnixMilli()] = s.F
		}
	})
	got := stored(t, r.db, `{__name__="svc:req:rate1m"}`)
	for k, samples := range want {
		live := 0
		for _, s := range got[k] {
			if value.IsStaleNaN(s.V) {
				continue
			}
			live++
			if w, ok := samples[s.T]; !ok || w != s.V {
				t.Errorf("%s at %d: stored %g, the query answers %g (%v)", k, s.T, s.V, w, ok)
			}
		}
		if live != len(samples) {
			t.Errorf("%s: %d samples stored, the query answered %d times", k, live, len(samples))
		}
	}
	doubled := stored(t, r.db, `{__name__="svc:req:double", svc="a"}`)[`svc:req:double{kind="doubled",svc="a",team="web"}`]
	rate := got[`svc:req:rate1m{svc="a",team="web"}`]
	if len(doubled) != len(evals)-1 || len(rate) != len(evals)-1 { // the first finds one sample, no rate
		t.Fatalf("%d doubled and %d rate samples for %d evaluations", len(doubled), len(rate), len(evals))
	}
	for i := range doubled {
		if doubled[i].T != rate[i].T || doubled[i].V != 2*rate[i].V {
			t.Fatalf("evaluation %d: doubled %v, rate %v: the second rule did not read the first one's result of the same evaluation", i, doubled[i], rate[i])
		}
	}
}

// TestRecordingRuleMarksVanishedSeriesStale stops series b: the evaluation
// that no longer returns it writes a staleness marker, and queries stop
// finding it at once instead of five minutes later.
func TestRecordingRuleMarksVanishedSeriesStale(t *testing.T) {
	r := newRecordRig(t, recordRules)
	r.run(t0.Add(-5*time.Minute), t0.Add(5*time.Minute), func(ts time.Time) { reqTotal(r, ts) })
	b := stored(t, r.db, `{__name__="svc:req:rate1m", svc="b"}`)[`svc:req:rate1m{svc="b",team="web"}`]
	last := b[len(b)-1]
	// b's last sample is at t0+1m45s; rate over 1m finds two of them until t0+2m15s.
	if !value.IsStaleNaN(last.V) || last.T != t0.Add(2*time.Minute+30*time.Second).UnixMilli() {
		t.Fatalf("b's last recorded sample %v at %s, want a staleness marker at t0+2m30s", last, time.UnixMilli(last.T).Sub(t0))
	}
	for _, s := range b[:len(b)-1] {
		if math.IsNaN(s.V) {
			t.Fatalf("b recorded NaN at %s before it vanished", time.UnixMilli(s.T).Sub(t0))
		}
	}
	eng := query.New(r.db, &query.Options{CacheBytes: -1})
	v, _, err := eng.Instant(t.Context(), "svc:req:rate1m", t0.Add(3*time.Minute))
	if err != nil || len(v.(promql.Vector)) != 1 {
		t.Fatalf("svc:req:rate1m after b vanished: %v, %v; want a alone", v, err)
	}
	// NaN results are stored as NaN, not as markers.
	nan := stored(t, r.db, `{__name__="nan:ratio"}`)[`nan:ratio{team="web"}`]
	if len(nan) == 0 || !math.IsNaN(nan[0].V) || value.IsStaleNaN(nan[0].V) {
		t.Fatalf("nan:ratio stored %v, want NaN samples", nan)
	}
}

// TestRecordingRuleFailures: a result with one labelset twice fails the
// rule as in Prometheus, writing nothing; two rules recording one series
// keep the first rule's sample and mark the second unhealthy.
func TestRecordingRuleFailures(t *testing.T) {
	r := newRecordRig(t, `groups:
- name: bad
  rules:
  - record: same
    expr: '{__name__=~"req_total|other_total"}'
  - record: twice
    expr: sum(req_total)
  - record: twice
    expr: sum(req_total) + 1
`)
	r.add(t0, 1, "req_total", "svc", "a")
	r.add(t0, 2, "other_total", "svc", "a")
	r.m.EvalAt(t.Context(), t0)
	rs := r.m.Groups()[1].Rules
	if rs[0].Health != "err" || rs[0].LastError != rules.ErrDuplicateRecordingLabelSet.Error() {
		t.Errorf("same: %s %q, want err %q", rs[0].Health, rs[0].LastError, rules.ErrDuplicateRecordingLabelSet)
	}
	if got := stored(t, r.db, `{__name__="same"}`); len(got) != 0 {
		t.Errorf("a failed evaluation stored %v", got)
	}
	if rs[1].Health != "ok" || rs[2].Health != "err" || !strings.Contains(rs[2].LastError, store.ErrDuplicateSample.Error()) {
		t.Errorf("twice: %s %q, then %s %q", rs[1].Health, rs[1].LastError, rs[2].Health, rs[2].LastError)
	}
	if got := stored(t, r.db, `{__name__="twice"}`); len(got) != 1 || fmt.Sprint(got) != "map[twice{}:[{1793534400000 1}]]" {
		t.Errorf("twice stored %v, want the first rule's 1 at t0", got)
	}
	if f := r.m.groups[1].failures.Load(); f != 1 {
		t.Errorf("%d evaluation failures counted, want 1", f)
	}
}

func TestRuleGroupsShape(t *testing.T) {
	r := newRecordRig(t, recordRules)
	r.run(t0, t0, func(ts time.Time) { reqTotal(r, ts) })
	f := func(typ string, want ...string) {
		t.Helper()
		gs, err := r.m.RuleGroups(typ)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(gs)
		for _, w := range want {
			if neg, ok := strings.CutPrefix(w, "!"); ok {
				if strings.Contains(string(b), neg) {
					t.Errorf("type=%s: %s holds %s", typ, b, neg)
				}
			} else if !strings.Contains(string(b), w) {
				t.Errorf("type=%s: %s lacks %s", typ, b, w)
			}
		}
	}
	rec := `{"name":"svc:req:double","query":"svc:req:rate1m * 2","labels":{"kind":"doubled","team":"web"},"health":"ok","evaluationTime":`
	f("", rec, `"lastEvaluation":"2026-11-01T12:00:00Z","type":"recording"}`, `"name":"Busy"`, `"type":"alerting"`, `"name":"atroz-defaults"`)
	f("record", rec, `!"type":"alerting"`, `!atroz-defaults`)
	f("ALERT", `"name":"Busy"`, `"name":"atroz-defaults"`, `!"type":"recording"`)
	if _, err := r.m.RuleGroups("recording"); !errors.Is(err, ErrRuleType) || err.Error() != `invalid parameter "type": not supported value "recording"` {
		t.Errorf("type=recording: %v", err)
	}
}

func TestBatches(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	rule := func(s string) rules.Rule {
		kind, expr, _ := strings.Cut(s, " ")
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		if name, ok := strings.CutPrefix(kind, "record:"); ok {
			return rules.NewRecordingRule(name, e, labels.EmptyLabels())
		}
		return rules.NewAlertingRule(kind, e, 0, 0, labels.EmptyLabels(), labels.EmptyLabels(), labels.EmptyLabels(), "", true, nil)
	}
	f := func(want string, rs ...string) {
		t.Helper()
		var in []rules.Rule
		for _, s := range rs {
			in = append(in, rule(s))
		}
		if got := fmt.Sprint(batches(in)); got != want {
			t.Errorf("batches %s, want %s", got, want)
		}
	}
	f("[[0 1 2]]", "A up", "B x > 1", "C rate(y[5m]) > 0")
	f("[[0 1] [2] [3] [4] [5]]", "A up", "B x > 1", "record:r sum(up)", "C r > 1", `D {__name__=~"u.*"}`, "E up")
	f("[[0] [1]]", "record:r up", "record:s r")
	f("[]")
}
