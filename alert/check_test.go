package alert

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestCheckFilePlacesEveryError: each error once, at the line and column
// of what it is about, where rulefmt gives no place or 0:0.
func TestCheckFilePlacesEveryError(t *testing.T) {
	f := func(content string, want ...string) {
		t.Helper()
		path := filepath.Join(t.TempDir(), "r.yml")
		writeFile(t, path, content)
		var got []string
		for _, p := range CheckFile(path).Problems {
			got = append(got, strings.TrimPrefix(p.Error(), path+":"))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s\ngot:\n%s\nwant:\n%s", content, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	rule := "groups:\n- name: g\n  rules:\n"
	// rulefmt's YAML errors come twice; the second is dropped.
	f(rule+"  - record: a\n    expr: up\n   - alert: B\n", "1: did not find expected key") // where yaml.v3 and promtool place it
	f(rule+"  - alert: A\n    expr: up\n    severity: page\n", "6:5: field severity not found in type rulefmt.Rule")
	f(rule+"  - alert: A\n    expr: up\n    for: soon\n", `6:10: not a valid duration string: "soon"`)
	// rulefmt places these at 0:0 or nowhere.
	f(rule+"  - expr: up\n", `4:5: group "g", rule 1, "": one of 'record' or 'alert' must be set`)
	f(rule+"  - record: a\n  - alert: B\n    expr: up\n", `4:5: group "g", rule 1, "a": field 'expr' must be set in rule`)
	f(rule+"  - alert: A\n    expr: up\n    labels:\n      __name__: x\n", `7:7: group "g", rule 1, "A": invalid label name: __name__`)
	f(rule+"  - alert: A\n    expr: up\n    annotations:\n      s: '{{ .x '\n", `7:10: group "g", rule 1, "A": annotation "s": template: __alert_A:1: unclosed action`)
	f("groups:\n- name: g\n  labels: {__name__: x}\n  rules: []\n", "3:12: invalid label name: __name__")
	f("groups:\n- name: g\n  rules: []\n- name: h\n  rules: []\n- name: g\n  rules: []\n", `6:3: groupname: "g" is repeated in the same file`)
	f("groups:\n- rules: []\n", "2:3: Groupname must not be empty")
	// Two groups of one name: the error of the second's rule is placed in the second.
	f("groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n- name: g\n  rules:\n  - record: b\n    labels: {__name__: x}\n    expr: up\n",
		`6:3: groupname: "g" is repeated in the same file`, `9:14: group "g", rule 1, "b": invalid label name: __name__`)
	f(rule+"  - record: a\n    expr: sum(\n", `5:11: group "g", rule 1, "a": could not parse expression: 1:5: parse error: unclosed left parenthesis`)
	f(rule + "  - record: a\n    expr: up\n")
}

func TestCheckFileRules(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.yml")
	writeFile(t, path, recordRules)
	fc := CheckFile(path)
	if len(fc.Problems) != 0 || len(fc.Rules) != 4 {
		t.Fatalf("%+v", fc)
	}
	r := fc.Rules[1]
	if r.Name != "svc:req:double" || r.Alerting || r.Line != 7 || r.Column != 13 || strings.Join(r.Labels, ",") != "kind=doubled,team=web" || strings.Join(r.Metrics, ",") != "svc:req:rate1m" {
		t.Fatalf("%+v", r)
	}
	if r := fc.Rules[2]; r.Name != "Busy" || !r.Alerting {
		t.Fatalf("%+v", r)
	}
}

// FuzzCheckFile: any file is judged as rulefmt judges it, without a panic,
// every problem printed once.
func FuzzCheckFile(f *testing.F) {
	f.Add(recordRules)
	f.Add(defaultRules)
	f.Add("groups:\n- name: g\n  rules:\n  - record: a\n    expr: up\n   - alert: B\n")
	f.Add("groups:\n- name: g\n  labels: {__name__: x}\n  rules:\n  - expr: up\n  - alert: 'x'\n    labels: {a: '{{'}\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "r.yml")
		writeFile(t, path, content)
		fc := CheckFile(path)
		_, errs := rulefmt.Parse([]byte(content), false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		if (len(errs) == 0) != (len(fc.Problems) == 0) {
			t.Fatalf("rulefmt: %v; CheckFile: %v", errs, fc.Problems)
		}
		seen := map[string]bool{}
		for _, p := range fc.Problems {
			if seen[p.Error()] {
				t.Fatalf("%s reported twice", p.Error())
			}
			seen[p.Error()] = true
		}
	})
}

func TestDefaultRuleNames(t *testing.T) {
	if got := strings.Join(DefaultRuleNames(), ","); got != "HighLatency,HighErrorRate,HighMemory,LowFrameRate,PoorLCP,PoorINP,StaleData,WebSocketChurn,AtroZSlowAPI,AtroZErrors,AtroZFlushFailing,AtroZDiskFull,AtroZDiskFilling" {
		t.Fatalf("built-in rules %s", got)
	}
}
