package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"atroz/auth"
	"atroz/store"
)

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	run := func(stdin string, args ...string) (string, error) {
		m, stdout, stderr := testMain(env)
		err := (&UserCommand{Env: m.Env, Stdin: strings.NewReader(stdin)}).Run(context.Background(), args)
		return stdout.String() + stderr.String(), err
	}
	if out, err := run("a long password\n", "add", "ana", "--role", "admin"); err != nil || !strings.Contains(out, "added ana (admin)") {
		t.Fatalf("add: %v %s", err, out)
	}
	if _, err := run("short\n", "add", "bo"); err == nil || !strings.Contains(err.Error(), "it must be at least 12") {
		t.Fatalf("short password: %v", err)
	}
	if out, err := run("", "list"); err != nil || !strings.Contains(out, "ana   admin") {
		t.Fatalf("list: %v %s", err, out)
	}
	if _, err := run("another long one\n", "passwd", "ana"); err != nil {
		t.Fatal(err)
	}
	var before auth.User
	withTestAuth(t, dir, func(a *auth.Service) {
		var ok bool
		if before, ok = a.VerifyUser("ana", "another long one"); !ok {
			t.Fatal("new password refused")
		}
	})
	if out, err := run("", "role", "ana", "-role", "viewer"); err != nil || !strings.Contains(out, "role of ana is viewer") {
		t.Fatalf("role: %v %s", err, out)
	}
	if _, err := run("", "role", "ana", "-role", "root"); err == nil || !strings.Contains(err.Error(), "viewer or admin") {
		t.Fatalf("role root: %v", err)
	}
	withTestAuth(t, dir, func(a *auth.Service) {
		if _, err := a.Session("ana", before.Session, "any"); !errors.Is(err, auth.ErrSessionEnded) {
			t.Fatalf("a session from before the role change: %v", err)
		}
		if u, _ := a.VerifyUser("ana", "another long one"); u.Role != auth.RoleViewer {
			t.Fatalf("role %q after user role", u.Role)
		}
	})
	if out, err := run("", "remove", "ana"); err != nil || !strings.Contains(out, "removed ana") {
		t.Fatalf("remove: %v %s", err, out)
	}
}

func TestFirstStartCreatesAdmin(t *testing.T) {
	dir := t.TempDir()
	withTestAuth(t, dir, func(a *auth.Service) {
		var console strings.Builder
		if err := ensureAdmin(a, false, "", &console); err != nil {
			t.Fatal(err)
		}
		pw := strings.Fields(console.String()[strings.Index(console.String(), "password ")+9:])[0]
		if _, ok := a.VerifyUser("admin", pw); !ok {
			t.Fatalf("the printed password does not log in: %q", console.String())
		}
		console.Reset()
		if err := ensureAdmin(a, false, "", &console); err != nil || console.Len() != 0 {
			t.Fatalf("second start printed %q, %v", console.String(), err)
		}
	})
}

// TestProductionFirstStartNeedsPasswordFile refuses to invent a password in
// production, naming both ways out and creating nothing; takes the admin's
// password from ADMIN_PASSWORD_FILE, printing none; and starts on a store
// that already has a user, made with atroz user add.
func TestProductionFirstStartNeedsPasswordFile(t *testing.T) {
	withTestAuth(t, t.TempDir(), func(a *auth.Service) {
		var console strings.Builder
		err := ensureAdmin(a, true, "", &console)
		if !errors.Is(err, errNoAdmin) || !strings.Contains(err.Error(), "ADMIN_PASSWORD_FILE") || !strings.Contains(err.Error(), "atroz user add") {
			t.Fatalf("production without a password file: %v", err)
		}
		if users, _ := a.Users(); len(users) != 0 || console.Len() != 0 {
			t.Fatalf("refused start created %v, printed %q", users, console.String())
		}
		file := filepath.Join(t.TempDir(), "admin-password")
		for _, c := range []struct{ content, want string }{{"", "empty"}, {"short\n", "ADMIN_PASSWORD_FILE"}, {"11 bytes pw\n", "it must be at least 12"}} {
			if err := os.WriteFile(file, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := ensureAdmin(a, true, file, &console); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("password file %q: %v, want %q", c.content, err, c.want)
			}
		}
		if err := ensureAdmin(a, true, filepath.Join(t.TempDir(), "missing"), &console); err == nil || !strings.Contains(err.Error(), "ADMIN_PASSWORD_FILE") {
			t.Errorf("missing password file: %v", err)
		}
		if err := os.WriteFile(file, []byte("a long production password\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := ensureAdmin(a, true, file, &console); err != nil {
			t.Fatal(err)
		}
		if _, ok := a.VerifyUser("admin", "a long production password"); !ok || strings.Contains(console.String(), "a long production password") {
			t.Fatalf("admin from the password file: login %v, console %q", ok, console.String())
		}
	})
	withTestAuth(t, t.TempDir(), func(a *auth.Service) {
		if err := a.AddUser("ops", auth.RoleAdmin, "made with the CLI"); err != nil {
			t.Fatal(err)
		}
		if err := ensureAdmin(a, true, "", io.Discard); err != nil {
			t.Fatalf("production with a user: %v", err)
		}
	})
}

// withTestAuth runs fn on the users and tokens of the store in dir, as a
// server would see them, and closes them.
func withTestAuth(t *testing.T, dir string, fn func(a *auth.Service)) {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	a, err := auth.Open(db, &auth.Options{LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	fn(a)
}
