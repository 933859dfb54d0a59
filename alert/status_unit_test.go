package alert

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/rules"
)

func TestUnitOf(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yml")
	err := os.WriteFile(path, []byte(`groups:
- name: units
  rules:
  - {alert: Annotated, expr: x_seconds > 1, annotations: {unit: fps, summary: "{{ $value | humanizeDuration }}"}}
  - {alert: Labelled, expr: x > 1, labels: {unit: requests}}
  - {alert: Duration, expr: x > 1, annotations: {summary: "{{ $value | humanizeDuration }}"}}
  - {alert: Percentage, expr: x > 1, annotations: {summary: "{{ $value | humanizePercentage }}"}}
  - {alert: Binary, expr: x > 1, annotations: {summary: "{{ $value | humanize1024 }}"}}
  - {alert: Seconds, expr: "histogram_quantile(0.9, rate(x_seconds_bucket[5m])) > 1"}
  - {alert: Ratio, expr: system_memory_usage_ratio > 0.8}
  - {alert: Bytes, expr: y_bytes < 1e9}
  - {alert: Plain, expr: x > 1, annotations: {summary: "{{ $value }}"}}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := LoadRules(path, DefaultRuleNames(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, g := range groups {
		for _, r := range g.Rules {
			if a, ok := r.(*rules.AlertingRule); ok {
				got[a.Name()] = UnitOf(a)
			}
		}
	}
	f := func(name, want string) {
		t.Helper()
		if got[name] != want {
			t.Errorf("UnitOf(%s) = %q, want %q", name, got[name], want)
		}
	}
	f("Annotated", "fps")
	f("Labelled", "requests")
	f("Duration", "seconds")
	f("Percentage", "ratio")
	f("Binary", "bytes")
	f("Seconds", "seconds")
	f("Ratio", "ratio")
	f("Bytes", "bytes")
	f("Plain", "")
}
