package slo

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

var update = flag.Bool("update", false, "rewrite the golden rule files")

// buckets are the request-duration histogram's bounds, as the collector's.
var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// TestRulesGolden renders a file of three SLOs, one of each indicator, and
// the built-in ones, and compares them with golden rule files, which
// promtool accepts when it is installed.
func TestRulesGolden(t *testing.T) {
	f := func(name string, file *File) {
		t.Helper()
		got, err := Rules(file)
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", name+".rules.yaml")
		if *update {
			if err := os.WriteFile(golden, got, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: rules differ from %s (go test ./slo -run Golden -update rewrites it):\n%s", name, golden, got)
		}
		promtoolCheck(t, golden)
	}
	file, err := Load(filepath.Join("testdata", "checkout.yaml"), buckets)
	if err != nil {
		t.Fatal(err)
	}
	f("checkout", file)
	f("defaults", &File{Defaults: true})
}

// promtoolCheck runs promtool check rules on path when promtool is on
// the PATH; CI installs it.
func promtoolCheck(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed; CI installs Debian's prometheus package")
		}
		return
	}
	out, err := exec.Command(bin, "check", "rules", path).CombinedOutput() // #nosec G204 -- a test file
	if err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", path, err, out)
	}
}

// TestBurnFactors: the factors are the SRE workbook's for 30 days, and
// spend the same shares of another window's budget.
func TestBurnFactors(t *testing.T) {
	day := 24 * time.Hour
	f := func(w time.Duration, b burn, want float64) {
		t.Helper()
		if got := b.factor(w); got != want {
			t.Errorf("factor over %s for %s/%s = %g, want %g", w, b.long, b.short, got, want)
		}
	}
	f(30*day, pageBurns[0], 14.4)
	f(30*day, pageBurns[1], 6)
	f(30*day, ticketBurns[0], 3)
	f(30*day, ticketBurns[1], 1)
	f(7*day, pageBurns[0], 3.36)
	f(28*day, pageBurns[0], 13.44)
	s := SLO{Objective: 99.9}
	if b := s.Budget(); b != 0.001 {
		t.Errorf("budget of 99.9 %% = %v, want 0.001", b)
	}
	// The API's conditions are the rules'. At 70 % over 7 days the page's
	// 1-hour burn, 3.36 × 30 % of events bad, would need more than all.
	week := SLO{Objective: 70, Window: model.Duration(7 * day)}
	got := week.BurnAlerts()
	want := []BurnAlert{
		{PageAlert, "page", 3600, 300, 3.36, false},
		{PageAlert, "page", 21600, 1800, 1.4, true},
		{TicketAlert, "ticket", 86400, 7200, 0.7, true},
		{TicketAlert, "ticket", 259200, 21600, 0.2333333333, true},
	}
	if !slices.Equal(got, want) {
		t.Errorf("burn alerts of %+v:\n got %+v\nwant %+v", week, got, want)
	}
}

// TestParseErrors: each problem of a file is reported at its line, naming
// the field and the reason, and the file is refused whole.
func TestParseErrors(t *testing.T) {
	f := func(src string, want ...string) {
		t.Helper()
		_, err := Parse([]byte(src), "slo.yaml", buckets)
		if err == nil {
			t.Fatalf("%q accepted", src)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
	}
	f("slos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: latency\n    threshold: 300ms\n",
		"slo.yaml:2: slo \"a\": threshold: 300ms is not a bound of the request-duration histogram", "the nearest are 250ms and 500ms")
	f("slos:\n  - name: a\n    service: s\n    objective: 100\n    indicator: availability\n",
		"slo.yaml:2:", "objective: 100 is not a percentage above 0 and below 100")
	f("slos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: uptime\n", `indicator: "uptime" is unknown`)
	f("slos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: availability\n    window: 1h\n", "window: 1h is shorter than a day")
	f("slos:\n  - name: a\n    objective: 99\n    indicator: availability\n", "service: is required")
	f("slos:\n  - name: a b\n    service: s\n    objective: 99\n    indicator: availability\n", `name: "a b" may hold only`)
	f("slos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: availability\n    treshold: 1s\n", `slo.yaml:2: unknown field "treshold"`)
	f("slos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: latency\n", "threshold: is required for the latency indicator")
	f("slos:\n  - name: availability\n    service: s\n    objective: 99\n    indicator: availability\n", `slo "availability": name: is taken`)
	f("defaults: false\nslos:\n  - name: a\n    service: s\n    objective: 99\n    indicator: availability\n  - name: a\n    service: t\n    objective: 99\n    indicator: availability\n",
		`slo.yaml:7: slo "a": name: is taken`)
	f("slos: [\n", "slo.yaml:")
	f("alerts: []\n", `unknown field "alerts"`)
	// Two problems, both reported.
	f("slos:\n  - name: a\n    service: s\n    objective: 0\n    indicator: availability\n  - name: b\n    service: s\n    objective: 99\n    indicator: nope\n",
		"slo.yaml:2:", "slo.yaml:6:")
	_, err := Parse([]byte("slos: []\n"), "slo.yaml", buckets)
	if !errors.Is(err, ErrNoSLOs) {
		t.Errorf("an empty file: %v, want ErrNoSLOs", err)
	}
}

// TestParseDefaults: a file may only switch the built-in SLOs off, and an
// SLO's window defaults to 30 days.
func TestParseDefaults(t *testing.T) {
	f, err := Parse([]byte("defaults: false\nslos:\n  - name: a\n    service: s\n    objective: 99.5\n    indicator: availability\n"), "slo.yaml", buckets)
	if err != nil {
		t.Fatal(err)
	}
	if f.Defaults || len(f.SLOs) != 1 || f.SLOs[0].Window != DefaultWindow {
		t.Fatalf("parsed %+v", f)
	}
	if f, err = Parse([]byte("defaults: false\n"), "slo.yaml", buckets); err != nil || len(f.SLOs) != 0 {
		t.Fatalf("defaults off and no SLO: %+v, %v", f, err)
	}
	for _, d := range Defaults() {
		if err := d.validate(buckets); err != nil && !strings.HasPrefix(err.Error(), "service") {
			t.Errorf("built-in %s: %v", d.Name, err)
		}
	}
}
