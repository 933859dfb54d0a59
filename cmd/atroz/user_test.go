package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

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
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := db.VerifyUser("ana", "another long one"); !ok {
		t.Fatal("new password refused")
	}
	_ = db.Close()
	if out, err := run("", "remove", "ana"); err != nil || !strings.Contains(out, "removed ana") {
		t.Fatalf("remove: %v %s", err, out)
	}
}

func TestFirstStartCreatesAdmin(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var console strings.Builder
	if err := ensureAdmin(db, &console); err != nil {
		t.Fatal(err)
	}
	pw := strings.Fields(console.String()[strings.Index(console.String(), "password ")+9:])[0]
	if _, ok := db.VerifyUser("admin", pw); !ok {
		t.Fatalf("the printed password does not log in: %q", console.String())
	}
	console.Reset()
	if err := ensureAdmin(db, &console); err != nil || console.Len() != 0 {
		t.Fatalf("second start printed %q, %v", console.String(), err)
	}
}
