package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
