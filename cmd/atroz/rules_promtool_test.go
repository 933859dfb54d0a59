package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"atroz/alert"
	"atroz/internal/extserver"
)

// TestRulesCheckAgreesWithPromtool runs promtool 3, built from the
// Prometheus module in go.mod, and atroz rules check on every file of
// testdata/rules: both accept the valid ones and refuse the broken ones,
// atroz serve loads exactly the files they accept, and each line promtool
// places an error on, atroz places one on too, every error once.
func TestRulesCheckAgreesWithPromtool(t *testing.T) {
	promtool := extserver.Promtool(t)
	files, err := filepath.Glob("testdata/rules/*/*.yml")
	if err != nil || len(files) < 20 {
		t.Fatalf("rule files: %v, %v", files, err)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "testdata/rules/"), func(t *testing.T) {
			valid := strings.HasPrefix(f, "testdata/rules/valid/")
			out, err := exec.Command(promtool, "check", "rules", f).CombinedOutput() // #nosec G204 -- the test's own files
			var exit *exec.ExitError
			if err != nil && !errors.As(err, &exit) {
				t.Fatal(err)
			}
			m, _, stderr := testMain(nil)
			code := m.exitCode(m.Run(context.Background(), []string{"rules", "check", "-data-dir", t.TempDir(), f}))
			_, loadErr := alert.LoadRules(f, nil, nil)
			if (err == nil) != valid || (code == 0) != valid || (loadErr == nil) != valid {
				t.Fatalf("valid %v: promtool %v, atroz rules check exit %d, atroz loads: %v\npromtool:\n%s\natroz:\n%s", valid, err, code, loadErr, out, stderr)
			}
			atroz := errorLines(t, stderr.String(), f)
			for _, line := range promtoolLines(string(out), f) {
				if !slices.Contains(atroz, line) {
					t.Errorf("promtool places an error on line %d, atroz on %v\npromtool:\n%s\natroz:\n%s", line, atroz, out, stderr)
				}
			}
		})
	}
}

// promtoolLines returns the lines promtool places errors on: rulefmt's
// "FILE: LINE:COL: ..." (0:0 is no place) and YAML's "line N: ...".
func promtoolLines(out, file string) []int {
	var lines []int
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(file)+`: (\d+):\d+: `).FindAllStringSubmatch(out, -1) {
		if n, _ := strconv.Atoi(m[1]); n > 0 {
			lines = append(lines, n)
		}
	}
	for _, m := range regexp.MustCompile(`\bline (\d+):`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		lines = append(lines, n)
	}
	return lines
}

// errorLines returns the lines atroz rules check places errors on, failing
// the test on an error printed twice or placed at 0:0.
func errorLines(t *testing.T, stderr, file string) []int {
	t.Helper()
	var lines []int
	seen := map[string]bool{}
	for l := range strings.Lines(stderr) {
		if seen[l] || strings.Contains(l, ":0:0:") || strings.Contains(l, " 0:0: ") {
			t.Errorf("error printed twice or at 0:0: %s", l)
		}
		seen[l] = true
		if m := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:(\d+):`).FindStringSubmatch(l); m != nil && !strings.Contains(l, ": note: ") {
			n, _ := strconv.Atoi(m[1])
			lines = append(lines, n)
		}
	}
	return lines
}
