package alert

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestThreshold(t *testing.T) {
	f := func(expr string, want float64, ok bool) {
		t.Helper()
		e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
		if err != nil {
			t.Fatal(err)
		}
		got, gotOK := Threshold(e)
		if got != want || gotOK != ok {
			t.Fatalf("Threshold(%s) = %g, %v; want %g, %v", expr, got, gotOK, want, ok)
		}
	}
	f(`up > 0.5`, 0.5, true)
	f(`(up) <= (50)`, 50, true)
	f(`0.8 < up`, 0.8, true)
	f(`(up > 2) and on() count(up) >= 20`, 2, true)
	f(`up > 3 unless down`, 3, true)
	f(`up > bool 4`, 4, true)
	f(`up > down`, 0, false)
	f(`up + 1`, 0, false)
	f(`up`, 0, false)
	f(`count(up) >= 20 or up > 1`, 0, false)
}

// TestRuleThresholdFollowsRulesFile: a rules file that replaces a built-in
// rule moves its threshold; a disabled rule has none.
func TestRuleThresholdFollowsRulesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	writeFile(t, path, "groups:\n- name: mine\n  rules:\n  - alert: HighLatency\n    expr: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) > 0.25\n")
	r := newRig(t, "", path)
	f := func(name string, want float64, loaded bool) {
		t.Helper()
		got, ok := r.m.RuleThreshold(name)
		if ok != loaded || (got == nil) != (want < 0) || (got != nil && *got != want) {
			t.Fatalf("RuleThreshold(%s) = %v, %v; want %g, %v", name, got, ok, want, loaded)
		}
	}
	f("HighLatency", 0.25, true)
	f("HighErrorRate", 0.01, true)
	f("StaleData", 900, true)
	f("NoSuchRule", -1, false)
}
