package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/collector"
	"atroz/slo"
	"atroz/store"
)

const checkoutSLO = `slos:
  - name: checkout-latency
    service: checkout
    objective: 99
    indicator: latency
    threshold: 250ms
`

func TestSLOCheckAndRules(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "slo.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(good, []byte(checkoutSLO), 0o600)
	_ = os.WriteFile(bad, []byte(strings.Replace(checkoutSLO, "250ms", "300ms", 1)), 0o600)
	f := func(wantExit int, wantOut, wantErr string, env map[string]string, args ...string) {
		t.Helper()
		m, stdout, stderr := testMain(env)
		code := m.exitCode(m.Run(context.Background(), append([]string{"slo"}, args...)))
		if code != wantExit || !strings.Contains(stdout.String(), wantOut) || !strings.Contains(stderr.String(), wantErr) {
			t.Errorf("slo %v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout with %q, stderr with %q", args, code, stdout, stderr, wantExit, wantOut, wantErr)
		}
	}
	f(0, good+": SUCCESS: 1 SLOs, the built-in ones kept\n", "", nil, "check", good)
	f(0, good+": SUCCESS: 1 SLOs, the built-in ones dropped\n", "", map[string]string{"SLO_DEFAULTS": "false"}, "check", good)
	f(1, "", bad+`:2: slo "checkout-latency": threshold: 300ms is not a bound of the request-duration histogram, which cannot count requests between bounds; the nearest are 250ms and 500ms`, nil, "check", bad)
	f(2, "", "atroz slo check [flags] FILE", nil, "check")
	f(2, "", "Usage:", nil)
	f(0, "- name: slo:checkout-latency", "", nil, "rules", good)
	f(0, `le="0.25"`, "", nil, "rules", good)
	f(0, "- name: slo:availability", "", nil, "rules")
}

// TestSLORuleGroups: serve's alert manager gets a group per SLO, the
// built-in ones unless dropped, and refuses to start on a bad file.
func TestSLORuleGroups(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slo.yaml")
	_ = os.WriteFile(file, []byte(checkoutSLO), 0o600)
	f := func(cfg SLOConfig, want ...string) {
		t.Helper()
		groups, err := ruleGroups(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.Name)
			if len(g.Rules) != 12 { // 2 rates, 8 ratios, 2 alerts
				t.Errorf("group %s has %d rules, want 12", g.Name, len(g.Rules))
			}
		}
		if !slices.Equal(names, want) {
			t.Errorf("%+v: groups %v, want %v", cfg, names, want)
		}
	}
	f(SLOConfig{Defaults: true}, "slo:availability", "slo:latency", "slo:frame-rate")
	f(SLOConfig{Defaults: false})
	f(SLOConfig{File: file, Defaults: true}, "slo:availability", "slo:latency", "slo:frame-rate", "slo:checkout-latency")
	f(SLOConfig{File: file, Defaults: false}, "slo:checkout-latency")
	var page *alert.RuleGroup
	groups, _ := ruleGroups(SLOConfig{File: file})
	for i := range groups {
		page = &groups[i]
	}
	if n := page.Rules[len(page.Rules)-2].Name(); n != "SLOErrorBudgetBurnPage" {
		t.Errorf("the group's page alert is %q", n)
	}

	_ = os.WriteFile(file, []byte("slos:\n  - name: x\n"), 0o600)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a serve that starts runs until then
	defer cancel()
	m, _, _ := testMain(map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "LISTEN_ADDR": "127.0.0.1:0", "SLO_FILE": file})
	err := m.Run(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), file+`:2: slo "x": service: is required`) {
		t.Fatalf("serve with a bad SLO file: %v", err)
	}
}

// ruleGroups loads cfg's SLOs and returns their rule groups, as serve does.
func ruleGroups(cfg SLOConfig) ([]alert.RuleGroup, error) {
	f, err := cfg.load()
	if err != nil {
		return nil, err
	}
	return slo.RuleGroups(f, nil)
}

// TestLoadSLOsFromStore: serve's SLOs are the file's and those the data
// file keeps from the dashboard; a stored one whose name the file has
// taken since is left out with a warning.
func TestLoadSLOsFromStore(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "slo.yaml")
	_ = os.WriteFile(file, []byte(checkoutSLO), 0o600)
	db, err := store.Open(filepath.Join(dir, "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, _, err := slo.OpenCatalog(db, &slo.File{}, collector.DurationBuckets())
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`{"name":"pay","service":"shop","objective":99.9,"indicator":"availability"}`,
		`{"name":"checkout-latency","service":"checkout","objective":99,"indicator":"availability"}`,
	} {
		s, err := slo.DecodeJSON([]byte(body), collector.DurationBuckets())
		if err == nil {
			err = c.Create(s)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	cat, err := loadSLOs(&Config{SLO: SLOConfig{File: file, Defaults: true}}, db, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range cat.File().SLOs {
		got = append(got, s.Name+":"+s.Origin())
	}
	if want := "[checkout-latency:file pay:dashboard]"; fmt.Sprint(got) != want {
		t.Errorf("SLOs %v, want %s", got, want)
	}
	if !strings.Contains(logs.String(), `"msg":"stored SLO left out"`) || !strings.Contains(logs.String(), `checkout-latency`) {
		t.Errorf("no warning of the shadowed SLO:\n%s", logs.String())
	}
}
