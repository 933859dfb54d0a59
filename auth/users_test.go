package auth

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

func TestUsers(t *testing.T) {
	s, db := openTest(t, &clock{t: baseTime})
	if err := s.AddUser("ana", RoleAdmin, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	f := func(name, role, pw string, want error, mention string) {
		t.Helper()
		err := s.AddUser(name, role, pw)
		if !errors.Is(err, want) || !strings.Contains(fmt.Sprint(err), mention) {
			t.Fatalf("AddUser(%q, %q): %v, want %v mentioning %q", name, role, err, want, mention)
		}
	}
	f("ana", RoleViewer, "another long one", ErrUserExists, "ana")
	f("-x", RoleViewer, "another long one", ErrInvalidUser, "name")
	f("bo", "root", "another long one", ErrInvalidUser, "role")
	f("bo", RoleViewer, "short", ErrInvalidUser, "it must be at least 12")
	f("bo", RoleViewer, "11 bytes pw", ErrInvalidUser, "password is 11 bytes; it must be at least 12")
	if err := s.AddUser("cy", RoleViewer, "twelve bytes"); err != nil {
		t.Fatalf("a 12-byte password: %v", err)
	}
	if err := s.RemoveUser("cy"); err != nil {
		t.Fatal(err)
	}
	f("bo", RoleViewer, strings.Repeat("p", 73), ErrInvalidUser, "at most 72")
	if u, ok := s.VerifyUser("ana", "correct horse battery"); !ok || u.Role != RoleAdmin || !u.Created.Equal(baseTime) {
		t.Fatalf("verify: %+v %v", u, ok)
	}
	for _, c := range [][2]string{{"ana", "wrong password!"}, {"nobody", "correct horse battery"}, {"ana", strings.Repeat("x", 100)}} {
		if _, ok := s.VerifyUser(c[0], c[1]); ok {
			t.Fatalf("verify %q accepted", c)
		}
	}
	if err := s.SetPassword("ana", "a new long password"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.VerifyUser("ana", "a new long password"); !ok {
		t.Fatal("new password refused")
	}
	if err := s.SetPassword("nobody", "a new long password"); !errors.Is(err, ErrUserNotFound) {
		t.Fatalf("set password of nobody: %v", err)
	}
	users, err := s.Users()
	if err != nil || len(users) != 1 || users[0].Name != "ana" || users[0].Role != RoleAdmin {
		t.Fatalf("users %+v, %v", users, err)
	}
	if err := s.RemoveUser("ana"); err != nil || !errors.Is(s.RemoveUser("ana"), ErrUserNotFound) {
		t.Fatalf("remove: %v", err)
	}
	if err := db.PutRecord(store.RecordUser, "broken", []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users(); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `user "broken"`) {
		t.Errorf("users over a corrupt record = %v", err)
	}
	if _, ok := s.VerifyUser("broken", "any password"); ok {
		t.Error("a corrupt record logs in")
	}
}

func TestSessionRevocation(t *testing.T) {
	clk := &clock{t: baseTime}
	s, _ := openTest(t, clk)
	s.RevokeSession("a", baseTime.Add(time.Minute))
	s.RevokeSession("b", baseTime.Add(time.Hour))
	if !s.SessionRevoked("a") || !s.SessionRevoked("b") || s.SessionRevoked("c") {
		t.Fatal("revoked sessions not reported")
	}
	clk.set(baseTime.Add(2 * time.Minute))
	if s.SessionRevoked("a") || !s.SessionRevoked("b") {
		t.Error("an expired session is still listed, or a live one no longer")
	}
	s.RevokeSession("c", baseTime.Add(time.Hour))
	if len(s.sessions.m) != 2 {
		t.Errorf("the denylist keeps %d IDs, want the expired one dropped", len(s.sessions.m))
	}
}

func TestCheck(t *testing.T) {
	s, db := openTest(t, &clock{t: baseTime})
	mustCreateToken(t, s, "good", ScopeRead, time.Time{})
	if err := s.AddUser("ana", RoleViewer, "a long password"); err != nil {
		t.Fatal(err)
	}
	if err := Check(db); err != nil {
		t.Fatalf("check of sound records = %v", err)
	}
	_ = db.PutRecord(store.RecordToken, "bad", []byte{tokenRecordV2})
	_ = db.PutRecord(store.RecordUser, "worse", []byte{9})
	err := Check(db)
	if !errors.Is(err, store.ErrCorrupt) || !strings.Contains(fmt.Sprint(err), `token "bad"`) || !strings.Contains(fmt.Sprint(err), `user "worse"`) {
		t.Errorf("check = %v, want both bad records named", err)
	}
}
