package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/alert/notify"
	"atroz/store"
)

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	_ = os.WriteFile(good, []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n"), 0o600)
	_ = os.WriteFile(bad, []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n"), 0o600)
	f := func(wantExit int, wantOut, wantErr string, args ...string) {
		t.Helper()
		m, stdout, stderr := testMain(nil)
		code := m.exitCode(m.Run(context.Background(), append([]string{"rules", "check", "-data-dir", dir}, args...)))
		if code != wantExit || stdout.String() != wantOut || stderr.String() != wantErr {
			t.Errorf("rules check %v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", args, code, stdout, stderr, wantExit, wantOut, wantErr)
		}
	}
	noUp := `: note: rule "A" selects metric "up", which no series has (AtroZ writes none such and no rule records it; no data file at ` + filepath.Join(dir, "atroz.db") + ")\n"
	f(0, good+": SUCCESS: 1 rules found\n", good+":4:12"+noUp, good)
	f(1, good+": SUCCESS: 1 rules found\n", good+":4:12"+noUp+
		bad+`:5:11: group "g", rule 1, "A": could not parse expression: 1:6: parse error: unexpected end of input`+"\n"+
		bad+": FAILED: 1 error(s)\natroz: rules check: 1 of 2 files have errors\n", good, bad)
	// Once the data file stores up, the note goes.
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Append(store.Labels{{Name: "__name__", Value: "up"}}, time.Now().UnixMilli(), 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	f(0, good+": SUCCESS: 1 rules found\n", "", good)
	override := filepath.Join(dir, "override.yml")
	_ = os.WriteFile(override, []byte("groups:\n- name: g\n  rules:\n  - alert: HighMemory\n    expr: system_memory_usage_ratio > 0.95\n"), 0o600)
	f(0, override+": SUCCESS: 1 rules found\n", override+`:4:12: note: alert "HighMemory" replaces the built-in rule of that name`+"\n", override)
	m, _, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"rules"}); m.exitCode(err) != 2 {
		t.Fatalf("no subcommand: exit %d", m.exitCode(err))
	}
	m, _, _ = testMain(nil)
	if err := m.Run(context.Background(), []string{"rules", "check"}); m.exitCode(err) != 2 {
		t.Fatalf("no file: exit %d", m.exitCode(err))
	}
}

func TestAlertConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Alert.WebhookURL = "https://hooks.example/a, ftp://nope/secret-key"
	c.Alert.SMTPHost = "mail.example"
	c.Alert.EvalInterval = 0
	err := c.Validate()
	if err != nil && strings.Contains(err.Error(), "secret-key") {
		t.Errorf("Validate() = %v: repeats a webhook URL, whose path may be its credential", err)
	}
	for _, want := range []string{`ALERT_WEBHOOK_URL: entry 2 is not an http(s) URL with a host`, "ALERT_SMTP_HOST: needs ALERT_SMTP_FROM and ALERT_SMTP_TO", "ALERT_EVAL_INTERVAL: must be at least 1s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
}

// TestAlertmanagerEndsAtOutlastsRepeats sends a firing alert through the
// configured Alertmanager receiver. Its endsAt must lie past the next
// repeat (ALERT_REPEAT_INTERVAL), or Alertmanager would resolve an alert
// that still fires between two repeats.
func TestAlertmanagerEndsAtOutlastsRepeats(t *testing.T) {
	var got []struct {
		EndsAt time.Time `json:"endsAt"`
	}
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
	}))
	defer am.Close()
	a := defaultAlertConfig()
	a.AlertmanagerURL = am.URL
	rs, err := a.receivers("http://atroz.example")
	if err != nil || len(rs) != 1 {
		t.Fatalf("receivers: %v, %d", err, len(rs))
	}
	sent := time.Now()
	if err := rs[0].Send(t.Context(), []*notify.Notification{{Status: notify.StatusFiring, Labels: map[string]string{"alertname": "X"}, StartsAt: sent}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EndsAt.Before(sent.Add(a.RepeatInterval)) {
		t.Errorf("endsAt %v, want past the next repeat at %s", got, sent.Add(a.RepeatInterval))
	}
}
