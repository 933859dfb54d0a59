package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

func TestDBWorkflow(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
	step := func(want string, args ...string) string {
		t.Helper()
		stdout, stderr, err := run(t, env, args...)
		if err != nil {
			t.Fatalf("atroz %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
		}
		if !strings.Contains(stdout, want) {
			t.Errorf("atroz %s: stdout lacks %q:\n%s", strings.Join(args, " "), want, stdout)
		}
		return stdout + stderr
	}

	out := step("imported 8 samples into 8 series in ", "db", "import", "testdata/import.prom")
	for _, want := range []string{"raw 8, 1m 0, 1h 0; skipped 1 older than every tier, rejected 1 (too_far_in_future 1)", "rejected: ", "future"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	out = step("series  8\n", "db", "stats")
	for _, want := range []string{"tier", "blocks", "samples", "bytes/sample", "raw", "1m", "1h", "wal "} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
	step("ok\n", "db", "check")
	step("compacted "+filepath.Join(env["DATA_DIR"], "atroz.db")+": ", "db", "compact")
	step("ok\n", "db", "check")
	step("series  8\n", "db", "stats")
}

// TestDBPurgeErasesAlerts: after db purge and db compact, no byte of the
// data file holds the purged service's alert labels (an e-mail address in
// one), in alert state, history or its silence, while another service's
// stay.
func TestDBPurgeErasesAlerts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "atroz.db")
	db, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const gone, kept = "jane.doe@shop.example", "ops@billing.example"
	now := time.Now().UTC()
	state := func(service, owner string) []byte {
		return []byte(`{"rule":"HighErrorRate","state":"firing","labels":{"alertname":"HighErrorRate","service":"` + service + `","owner":"` + owner + `"},"active_at":"` + now.Format(time.RFC3339) + `"}`)
	}
	event := func(service, owner string) []byte {
		return []byte(`{"time":"` + now.Format(time.RFC3339) + `","alertname":"HighErrorRate","state":"firing","labels":{"service":"` + service + `","owner":"` + owner + `"},"value":1}`)
	}
	for _, err := range []error{
		db.PutRecord(store.RecordAlertState, "shop", state("shop", gone)),
		db.PutRecord(store.RecordAlertState, "billing", state("billing", kept)),
		db.AppendAlertEvents(now, [][]byte{event("shop", gone), event("billing", kept)}),
		db.PutRecord(store.RecordSilence, "s1", []byte(`{"id":"s1","matchers":[{"name":"service","value":"shop","isRegex":false}],"comment":"`+gone+`"}`)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	contains := func(s string) bool {
		t.Helper()
		b, err := os.ReadFile(path) // #nosec G304 -- the test's own file
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(string(b), s)
	}
	if !contains(gone) {
		t.Fatal("the e-mail address is not in the file to begin with")
	}
	env := map[string]string{"DATA_DIR": dir}
	out, stderr, err := run(t, env, "db", "purge", "-service", "shop")
	if err != nil || !strings.Contains(out, "purged 0 series, 1 alert states, 1 alert history events and 1 silences of service \"shop\"") {
		t.Fatalf("db purge: %v\n%s%s", err, out, stderr)
	}
	if _, stderr, err := run(t, env, "db", "compact"); err != nil {
		t.Fatalf("db compact: %v\n%s", err, stderr)
	}
	if contains(gone) {
		t.Errorf("%s is still in the data file after purge and compact", gone)
	}
	if !contains(kept) {
		t.Errorf("another service's alert (%s) was purged too", kept)
	}
}

func TestDBImportErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.prom")
	if err := os.WriteFile(bad, []byte("metric{ 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATA_DIR": filepath.Join(dir, "data")}
	f := func(file, want string) {
		t.Helper()
		_, _, err := run(t, env, "db", "import", file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("import %s: err = %v, want it to contain %q", file, err, want)
		}
	}
	f(filepath.Join(dir, "missing.prom"), "open import file")
	f(bad, "import: ")
}

func TestDBCommandsNeedAStore(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
	for _, cmd := range []string{"stats", "check", "compact"} {
		_, _, err := run(t, env, "db", cmd)
		if err == nil || !strings.Contains(err.Error(), "no store at ") {
			t.Errorf("db %s: err = %v, want no store", cmd, err)
		}
	}
}

func TestDBCommandsLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	env := map[string]string{"DATA_DIR": dir, "LOCK_TIMEOUT": "100ms"}
	want := "data directory " + dir + " is in use by another atroz process (lock not acquired within 100ms)"
	for _, cmd := range []string{"check", "compact"} {
		if _, _, err := run(t, env, "db", cmd); err == nil || err.Error() != want {
			t.Errorf("db %s: err = %v, want %q", cmd, err, want)
		}
	}
	// db stats asks the server holding the file, which needs credentials.
	env["ATROZ_URL"] = "http://127.0.0.1:1"
	if _, _, err := run(t, env, "db", "stats"); err == nil || !strings.Contains(err.Error(), "in use by another atroz process, and asking it failed: set $ATROZ_TOKEN") {
		t.Errorf("db stats: err = %v, want the lock and the missing credentials", err)
	}
}

func TestPrintProblems(t *testing.T) {
	var b strings.Builder
	n := printProblems(&b, errors.Join(errors.New("series 3: bad labels"), errors.New("chunk 3/100: overlaps")))
	if n != 2 || b.String() != "series 3: bad labels\nchunk 3/100: overlaps\n" {
		t.Errorf("printProblems = %d, %q", n, b.String())
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, every: time.Hour}
	r := store.ImportResult{Samples: 2000, Duration: time.Second}
	p.report(r)
	p.report(r)
	if b.String() != "imported 2000 samples so far (2000 samples/s)\n" {
		t.Errorf("progress printed %q, want one line", b.String())
	}
}

func TestCtxReaderAt(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := ctxReaderAt{ctx, strings.NewReader("abc")}
	buf := make([]byte, 2)
	if n, err := r.ReadAt(buf, 1); n != 2 || err != nil || string(buf) != "bc" {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, buf)
	}
	cancel()
	if _, err := r.ReadAt(buf, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAt after cancel = %v, want context.Canceled", err)
	}
}

func TestFormatBytes(t *testing.T) {
	f := func(n int64, want string) {
		t.Helper()
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	f(0, "0 B")
	f(1023, "1023 B")
	f(1024, "1.0 KiB")
	f(1536, "1.5 KiB")
	f(32768, "32.0 KiB")
	f(5<<20, "5.0 MiB")
	f(3<<30, "3.0 GiB")
}
