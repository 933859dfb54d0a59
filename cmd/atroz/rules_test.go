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

	"atroz/alert"
)

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	_ = os.WriteFile(good, []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 1m\n"), 0o600)
	_ = os.WriteFile(bad, []byte("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up ==\n"), 0o600)
	m, stdout, _ := testMain(nil)
	if err := m.Run(context.Background(), []string{"rules", "check", good}); err != nil || !strings.Contains(stdout.String(), "good.yml: 1 rules OK") {
		t.Fatalf("good file: %v, %s", err, stdout)
	}
	m, _, stderr := testMain(nil)
	err := m.Run(context.Background(), []string{"rules", "check", good, bad})
	if err == nil || m.exitCode(err) != 1 || !strings.Contains(stderr.String(), "bad.yml") || !strings.Contains(stderr.String(), "5:") {
		t.Fatalf("bad file: %v, stderr %s", err, stderr)
	}
	m, _, _ = testMain(nil)
	if err := m.Run(context.Background(), []string{"rules"}); m.exitCode(err) != 2 {
		t.Fatalf("no subcommand: exit %d", m.exitCode(err))
	}
}

func TestAlertConfigValidate(t *testing.T) {
	c := DefaultConfig()
	c.Alert.WebhookURL = "https://hooks.example/a, ftp://nope"
	c.Alert.SMTPHost = "mail.example"
	c.Alert.EvalInterval = 0
	err := c.Validate()
	for _, want := range []string{`ALERT_WEBHOOK_URL: "ftp://nope" is not an http(s) URL`, "ALERT_SMTP_HOST: needs ALERT_SMTP_FROM and ALERT_SMTP_TO", "ALERT_EVAL_INTERVAL: must be at least 1s"} {
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
	if err := rs[0].Send(t.Context(), []*alert.Notification{{Status: alert.StatusFiring, Labels: map[string]string{"alertname": "X"}, StartsAt: sent}}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].EndsAt.Before(sent.Add(a.RepeatInterval)) {
		t.Errorf("endsAt %v, want past the next repeat at %s", got, sent.Add(a.RepeatInterval))
	}
}
