package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
)

// TestHelpOnStdout asks every command for help, each way it can be asked:
// the usage goes to stdout, nothing to stderr, and atroz exits 0.
func TestHelpOnStdout(t *testing.T) {
	for _, args := range [][]string{
		{"-h"}, {"--help"}, {"help"},
		{"serve", "-h"}, {"help", "serve"},
		{"db", "-h"}, {"help", "db"},
		{"db", "import", "-h"}, {"db", "stats", "-h"}, {"help", "db", "stats"}, {"db", "check", "-h"}, {"db", "compact", "-h"}, {"db", "purge", "-h"},
		{"token", "-h"}, {"token", "create", "-h"}, {"token", "list", "-h"}, {"token", "revoke", "-h"},
		{"rules", "-h"}, {"rules", "check", "-h"},
		{"user", "-h"}, {"help", "user"}, {"user", "add", "-h"}, {"user", "list", "-h"}, {"user", "passwd", "-help"}, {"user", "role", "-h"}, {"user", "remove", "-h"},
		{"demo", "-h"}, {"load", "-h"}, {"version", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			m, stdout, stderr := testMain(nil)
			if code := m.exitCode(m.Run(context.Background(), args)); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stdout.String(), "Usage") || stderr.String() != "" {
				t.Errorf("stdout:\n%s\nstderr:\n%s\nwant the usage on stdout alone", stdout, stderr)
			}
		})
	}
}

// TestHelpListsOnlyItsSettings checks that a command's help lists the
// settings it reads, not the server's 120 lines of alerting and TLS.
func TestHelpListsOnlyItsSettings(t *testing.T) {
	f := func(args []string, want, notWant []string) {
		t.Helper()
		stdout, _, _ := run(t, nil, args...)
		for _, w := range want {
			if !strings.Contains(stdout, w) {
				t.Errorf("atroz %s -h lacks %s:\n%s", strings.Join(args, " "), w, stdout)
			}
		}
		for _, n := range notWant {
			if strings.Contains(strings.ToLower(stdout), n) {
				t.Errorf("atroz %s -h lists %s:\n%s", strings.Join(args, " "), n, stdout)
			}
		}
	}
	alerting := []string{"smtp", "slack", "pagerduty", "tls-cert-file", "rate-limit"}
	f([]string{"user", "-h"}, []string{"-data-dir", "$DATA_DIR", "-lock-timeout"}, alerting)
	f([]string{"token", "create", "-h"}, []string{"-data-dir", "-scope"}, alerting)
	f([]string{"db", "stats", "-h"}, []string{"-data-dir", "-server", "-listen-addr"}, alerting)
	f([]string{"db", "import", "-h"}, []string{"-data-dir", "-max-series"}, alerting)
	f([]string{"serve", "-h"}, []string{"-alert-smtp-host", "-listen-addr"}, nil)
}

// TestUnknownFlagSuggests checks that a mistyped flag names the nearest
// one on stderr, with exit status 2, and that a flag far from every other
// gets no guess.
func TestUnknownFlagSuggests(t *testing.T) {
	f := func(args []string, want string) {
		t.Helper()
		m, stdout, stderr := testMain(nil)
		if code := m.exitCode(m.Run(context.Background(), args)); code != 2 {
			t.Errorf("atroz %v: exit code %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), want) || stdout.String() != "" {
			t.Errorf("atroz %v: stderr lacks %q (or stdout is not empty):\n%s", args, want, stderr)
		}
	}
	f([]string{"load", "-sevice", "x"}, "flag provided but not defined: -sevice; did you mean -service?")
	f([]string{"demo", "-traget", "x"}, "did you mean -target?")
	f([]string{"user", "add", "-rloe", "admin", "x"}, "did you mean -role?")
	f([]string{"serve", "-listen-adr", ":1"}, "did you mean -listen-addr?")
	f([]string{"db", "stats", "--data-dri", "x"}, "did you mean -data-dir?")
	m, _, stderr := testMain(nil)
	_ = m.Run(context.Background(), []string{"version", "-zzzzzz"})
	if strings.Contains(stderr.String(), "did you mean") {
		t.Errorf("a flag like no other got a guess:\n%s", stderr)
	}
}

func TestEditDistance(t *testing.T) {
	f := func(a, b string, want int) {
		t.Helper()
		if got := editDistance(a, b); got != want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", a, b, got, want)
		}
	}
	f("", "", 0)
	f("", "abc", 3)
	f("service", "service", 0)
	f("sevice", "service", 1)   // deletion
	f("serrvice", "service", 1) // insertion
	f("servoce", "service", 1)  // substitution
	f("serivce", "service", 1)  // adjacent swap
	f("ca", "abc", 3)           // optimal string alignment edits no substring twice
	f("kitten", "sitting", 3)
}

// TestClientsReadPasswords checks that demo and load take the password
// from $ATROZ_PASSWORD or -password-file, where ps does not show it, and
// refuse a file that is empty or given beside -password.
func TestClientsReadPasswords(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte("from the file 123\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	parse := func(cmd string, env map[string]string, args ...string) (string, error) {
		m, _, _ := testMain(env)
		args = append([]string{"-target", "http://127.0.0.1:1", "-token", "t", "-user", "ana"}, args...)
		if cmd == "demo" {
			o, err := (&DemoCommand{m.Env}).parse(args)
			if err != nil {
				return "", err
			}
			return o.password, nil
		}
		o, err := (&LoadCommand{Env: m.Env}).parse(args)
		if err != nil {
			return "", err
		}
		return o.password, nil
	}
	for _, cmd := range []string{"demo", "load"} {
		f := func(env map[string]string, want, wantErr string, args ...string) {
			t.Helper()
			got, err := parse(cmd, env, args...)
			switch {
			case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
				t.Errorf("%s %v: err %v, want %q", cmd, args, err, wantErr)
			case wantErr == "" && (err != nil || got != want):
				t.Errorf("%s %v: password %q, %v; want %q", cmd, args, got, err, want)
			}
		}
		f(map[string]string{"ATROZ_PASSWORD": "from the environment"}, "from the environment", "")
		f(nil, "from the file 123", "", "-password-file", file)
		f(map[string]string{"ATROZ_PASSWORD": "from the environment"}, "from the file 123", "", "-password-file", file)
		f(nil, "on the command line", "", "-password", "on the command line")
		f(nil, "", "-password-file: give it or -password, not both", "-password", "x", "-password-file", file)
		f(nil, "", "-password-file: "+empty+": empty", "-password-file", empty)
		f(nil, "", "-password-file: open", "-password-file", filepath.Join(dir, "missing"))
	}
}

// TestDBStatsAsksRunningServer runs db stats while a server holds the
// store: it asks the server, with an admin token or an admin's login
// from the environment, says so on stderr, and prints the server's figures.
func TestDBStatsAsksRunningServer(t *testing.T) {
	dir := t.TempDir()
	var admin, ingest string
	withTestAuth(t, dir, func(a *auth.Service) {
		var err error
		if admin, err = a.CreateToken("ops", auth.ScopeAdmin, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if ingest, err = a.CreateToken("pipe", auth.ScopeIngest, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := a.AddUser("boss", auth.RoleAdmin, "boss password 1"); err != nil {
			t.Fatal(err)
		}
	})
	addr := demoTestServer(t, dir)
	base := map[string]string{"DATA_DIR": dir, "ATROZ_URL": "http://" + addr}
	with := func(kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for name, env := range map[string]map[string]string{
		"admin token": with("ATROZ_TOKEN", admin),
		"admin login": with("ATROZ_USER", "boss", "ATROZ_PASSWORD", "boss password 1"),
	} {
		stdout, stderr, err := run(t, env, "db", "stats")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		if !strings.Contains(stderr, "is in use by a running server: asking it at http://"+addr) {
			t.Errorf("%s: stderr does not say it asked the server:\n%s", name, stderr)
		}
		if !strings.Contains(stdout, "file    "+filepath.Join(dir, "atroz.db")) || !strings.Contains(stdout, "series  ") || !strings.Contains(stdout, "raw") {
			t.Errorf("%s: stdout:\n%s", name, stdout)
		}
	}
	if _, _, err := run(t, with("ATROZ_TOKEN", ingest), "db", "stats"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("an ingest token: err %v, want the server's 403", err)
	}
}
