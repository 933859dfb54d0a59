package alert

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestMetricNames keeps MetricNames true: every name a manager with a
// receiver writes is listed.
func TestMetricNames(t *testing.T) {
	r := newRecordRig(t, recordRules)
	r.m.EvalAt(t.Context(), t0)
	var b bytes.Buffer
	r.m.WriteMetrics(&b)
	n := 0
	for line := range strings.Lines(b.String()) {
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		if !strings.HasPrefix(line, "#") && !slices.Contains(MetricNames(), name) {
			t.Errorf("%s is written but not in MetricNames", name)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d lines written:\n%s", n, b.String())
	}
}
