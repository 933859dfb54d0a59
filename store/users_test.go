package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsers(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "u.db"), &testClock{baseTime}, nil)
	if err := db.AddUser("ana", RoleAdmin, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	f := func(name, role, pw string, want error, mention string) {
		t.Helper()
		err := db.AddUser(name, role, pw)
		if !errors.Is(err, want) || !strings.Contains(fmt.Sprint(err), mention) {
			t.Fatalf("AddUser(%q, %q): %v, want %v mentioning %q", name, role, err, want, mention)
		}
	}
	f("ana", RoleViewer, "another long one", ErrUserExists, "ana")
	f("-x", RoleViewer, "another long one", ErrInvalidUser, "name")
	f("bo", "root", "another long one", ErrInvalidUser, "role")
	f("bo", RoleViewer, "short", ErrInvalidUser, "at least 10")
	f("bo", RoleViewer, strings.Repeat("p", 73), ErrInvalidUser, "at most 72")
	if u, ok := db.VerifyUser("ana", "correct horse battery"); !ok || u.Role != RoleAdmin {
		t.Fatalf("verify: %+v %v", u, ok)
	}
	for _, c := range [][2]string{{"ana", "wrong password!"}, {"nobody", "correct horse battery"}, {"ana", strings.Repeat("x", 100)}} {
		if _, ok := db.VerifyUser(c[0], c[1]); ok {
			t.Fatalf("verify %q accepted", c)
		}
	}
	if err := db.SetPassword("ana", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, ok := db.VerifyUser("ana", "a new long password"); !ok {
		t.Fatal("new password refused")
	}
	users, _ := db.Users()
	if len(users) != 1 || users[0].Name != "ana" {
		t.Fatalf("users %+v", users)
	}
	if err := db.RemoveUser("ana"); err != nil || !errors.Is(db.RemoveUser("ana"), ErrUserNotFound) {
		t.Fatalf("remove: %v", err)
	}
}
