package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/store"
)

func TestTokenWorkflow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // create makes it
	env := map[string]string{"DATA_DIR": dir}
	step := func(args ...string) (stdout, stderr string) {
		t.Helper()
		stdout, stderr, err := run(t, env, args...)
		if err != nil {
			t.Fatalf("atroz %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr)
		}
		return stdout, stderr
	}

	secret, note := step("token", "create", "api")
	if !strings.Contains(note, "(ingest, no expiry)") {
		t.Errorf("create note %q does not name the default scope", note)
	}
	if !regexp.MustCompile(`^atz_[A-Za-z0-9_-]{43}\n$`).MatchString(secret) {
		t.Fatalf("create printed %q, want the secret alone on one line", secret)
	}
	secret = strings.TrimSpace(secret)
	if !strings.Contains(note, "will not be shown again") || strings.Contains(note, secret) {
		t.Errorf("create note on stderr = %q", note)
	}
	_, note = step("token", "create", "-scope", "read", "-scope", "admin,read", "-expires", "90d", "batch.eu-1")
	if !regexp.MustCompile(`\(read,admin, expires \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)`).MatchString(note) {
		t.Errorf("create note %q does not name the scopes and expiry", note)
	}
	step("token", "create", "-scope", "read", "-expires", "2160h", "grafana")

	verify(t, dir, secret, true)
	const stamp = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`
	out, _ := step("token", "list")
	want := regexp.MustCompile(`^NAME +SCOPES +CREATED +LAST USED +EXPIRES\n` +
		`api +ingest +` + stamp + ` +` + stamp + ` +never\n` +
		`batch\.eu-1 +read,admin +` + stamp + ` +never +` + stamp + `\n` +
		`grafana +read +` + stamp + ` +never +` + stamp + `\n$`)
	if !want.MatchString(out) {
		t.Errorf("list printed:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	stamps := regexp.MustCompile(stamp).FindAllStringIndex(lines[2], -1)
	if strings.Index(out, "CREATED") != stamps[0][0] || strings.Index(out, "EXPIRES") != stamps[1][0] {
		t.Errorf("list columns not aligned:\n%s", out)
	}
	expires := regexp.MustCompile(stamp).FindAllString(lines[3], -1)
	if created, until := parseStamp(t, expires[0]), parseStamp(t, expires[1]); until.Sub(created) != 90*24*time.Hour {
		t.Errorf("grafana expires %s after creation, want 90 days", until.Sub(created))
	}

	if out, _ := step("token", "revoke", "api"); out != "revoked api\n" {
		t.Errorf("revoke printed %q", out)
	}
	if out, _ := step("token", "list"); strings.Contains(out, "api ") || !strings.Contains(out, "batch.eu-1 ") {
		t.Errorf("list after revoke printed:\n%s", out)
	}
	verify(t, dir, secret, false)
}

// verify reports whether the store in dir accepts secret, as a server
// would, and notes its use, which the close writes.
func verify(t *testing.T, dir, secret string, want bool) {
	t.Helper()
	withTestAuth(t, dir, func(a *auth.Service) {
		if tok, err := a.VerifyToken(secret); (err == nil) != want || (err == nil && tok.Name != "api") {
			t.Errorf("VerifyToken = %q, %v; want api, accepted %t", tok.Name, err, want)
		}
	})
}

func parseStamp(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestTokenErrors(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	if _, _, err := run(t, env, "token", "create", "api"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"no subcommand", []string{"token"}, 2, "missing subcommand"},
		{"unknown subcommand", []string{"token", "show"}, 2, `unknown subcommand "show"`},
		{"create without name", []string{"token", "create"}, 2, "want 1 argument(s), got 0"},
		{"create with two names", []string{"token", "create", "a", "b"}, 2, "want 1 argument(s), got 2"},
		{"revoke without name", []string{"token", "revoke"}, 2, "want 1 argument(s), got 0"},
		{"list with an argument", []string{"token", "list", "api"}, 2, "want 0 argument(s), got 1"},
		{"duplicate", []string{"token", "create", "api"}, 1, `create token "api": token exists`},
		{"bad name", []string{"token", "create", "a/b"}, 1, `create token "a/b": invalid token name: want 1 to 64`},
		{"unknown scope", []string{"token", "create", "-scope", "write", "x"}, 2, `invalid value "write" for flag -scope: invalid scope: "write" is not read, ingest or admin`},
		{"bad expiry", []string{"token", "create", "-expires", "soon", "x"}, 1, `-expires: "soon" is not a positive duration like 90d or 2160h`},
		{"negative expiry", []string{"token", "create", "-expires", "-1h", "x"}, 1, "-expires"},
		{"zero days", []string{"token", "create", "-expires", "0d", "x"}, 1, "-expires"},
		{"revoke unknown", []string{"token", "revoke", "web"}, 1, `revoke token "web": token not found`},
		{"help", []string{"help", "token"}, 0, "create NAME"},
		{"create help", []string{"token", "create", "-h"}, 0, "$DATA_DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, stdout, stderr := testMain(env)
			code := m.exitCode(m.Run(context.Background(), tt.args))
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			out := stderr.String()
			if tt.wantCode == 0 {
				out = stdout.String() // help goes to stdout
			}
			if !strings.Contains(out, tt.wantStderr) {
				t.Errorf("output lacks %q:\n%s", tt.wantStderr, out)
			}
			if tt.wantCode != 0 && stdout.String() != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestTokenCommandsNeedAStore(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
	for _, args := range [][]string{{"token", "list"}, {"token", "revoke", "api"}} {
		_, _, err := run(t, env, args...)
		if err == nil || !strings.Contains(err.Error(), "no store at ") {
			t.Errorf("%s: err = %v, want no store", strings.Join(args, " "), err)
		}
	}
}

func TestTokenCommandsLocked(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	env := map[string]string{"DATA_DIR": dir, "LOCK_TIMEOUT": "100ms"}
	want := "data directory " + dir + " is in use by another atroz process"
	for _, args := range [][]string{{"token", "create", "api"}, {"token", "list"}, {"token", "revoke", "api"}} {
		if _, _, err := run(t, env, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", strings.Join(args, " "), err, want)
		}
	}
}
