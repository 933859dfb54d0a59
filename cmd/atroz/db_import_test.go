package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

// A file of 410 days lands in every tier that keeps its time, and the
// summary says how many samples went where.
func TestDBImportBackfillTiers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "history.prom")
	var b strings.Builder
	now := time.Now()
	// Every 6 h, 3 h off each day's start, so no sample sits on a tier's edge.
	for i := range 1640 {
		ts := now.Add(-410*24*time.Hour + time.Duration(i)*6*time.Hour + 3*time.Hour)
		fmt.Fprintf(&b, "jobs_done_total{job=\"nightly\"} %d %d\n", i, ts.UnixMilli())
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data"), "DATA_RETENTION_DAYS": "400"}
	stdout, stderr, err := run(t, env, "db", "import", file)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	want := "imported 1600 samples into 1 series in "
	tiers := "raw 60, 1m 300, 1h 1240; skipped 40 older than every tier, rejected 0\n"
	if !strings.HasPrefix(stdout, want) || !strings.HasSuffix(stdout, tiers) {
		t.Fatalf("summary %q, want %q ... %q", stdout, want, tiers)
	}
	if stdout, _, err := run(t, env, "db", "check"); err != nil || stdout != "ok\n" {
		t.Fatalf("check after the import: %q, %v", stdout, err)
	}
}

func TestProgressChecking(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, every: time.Hour}
	p.report(store.ImportResult{Checked: 3000, Duration: time.Second})
	if b.String() != "checked 3000 samples so far (3000 samples/s)\n" {
		t.Errorf("progress printed %q", b.String())
	}
}

func TestByReason(t *testing.T) {
	if got := byReason(map[string]int64{"too_old": 1, "out_of_order": 3}); got != " (out_of_order 3, too_old 1)" {
		t.Errorf("byReason = %q", got)
	}
	if got := byReason(nil); got != "" {
		t.Errorf("byReason(nil) = %q", got)
	}
}
