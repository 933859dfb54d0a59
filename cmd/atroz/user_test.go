package main

import (
	"context"
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
	if _, err := run("short\n", "add", "bo"); err == nil || !strings.Contains(err.Error(), "at least 10") {
		t.Fatalf("short password: %v", err)
	}
	if out, err := run("", "list"); err != nil || !strings.Contains(out, "ana   admin") {
		t.Fatalf("list: %v %s", err, out)
	}
	if _, err := run("another long one\n", "passwd", "ana"); err != nil {
		t.Fatal(err)
	}
	withTestAuth(t, dir, func(a *auth.Service) {
		if _, ok := a.VerifyUser("ana", "another long one"); !ok {
			t.Fatal("new password refused")
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
		if err := ensureAdmin(a, &console); err != nil {
			t.Fatal(err)
		}
		pw := strings.Fields(console.String()[strings.Index(console.String(), "password ")+9:])[0]
		if _, ok := a.VerifyUser("admin", pw); !ok {
			t.Fatalf("the printed password does not log in: %q", console.String())
		}
		console.Reset()
		if err := ensureAdmin(a, &console); err != nil || console.Len() != 0 {
			t.Fatalf("second start printed %q, %v", console.String(), err)
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
