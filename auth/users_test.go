package auth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"golang.org/x/crypto/bcrypt"
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
	if _, err := Open(db, &Options{LastUsedInterval: -1}); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), `user "broken"`) {
		t.Errorf("open over a corrupt user record = %v", err)
	}
}

// TestSessionsEnd reproduces the tokens that outlived their user: a role
// change, a password change, a removal (a user made again under the same
// name included) and a logout each end the session they concern, at once
// and after a restart.
func TestSessionsEnd(t *testing.T) {
	clk := &clock{t: baseTime}
	s, db := openTest(t, clk)
	ended := 0
	s.OnSessionsEnded(func() { ended++ })
	if err := s.AddUser("ana", RoleAdmin, "a long password"); err != nil {
		t.Fatal(err)
	}
	login := func(pw string) User {
		t.Helper()
		u, ok := s.VerifyUser("ana", pw)
		if !ok {
			t.Fatal("login refused")
		}
		return u
	}
	want := func(s *Service, u User, id string, wantErr error, role string) {
		t.Helper()
		got, err := s.Session("ana", u.Session, id)
		if !errors.Is(err, wantErr) || err == nil && got.Role != role {
			t.Fatalf("session %s: %+v, %v; want %v, role %s", id, got, err, wantErr, role)
		}
	}
	admin := login("a long password")
	want(s, admin, "j1", nil, RoleAdmin)
	if err := s.SetRole("ana", RoleViewer); err != nil {
		t.Fatal(err)
	}
	want(s, admin, "j1", ErrSessionEnded, "")
	viewer := login("a long password")
	want(s, viewer, "j2", nil, RoleViewer)
	if err := s.SetPassword("ana", "another long one"); err != nil {
		t.Fatal(err)
	}
	want(s, viewer, "j2", ErrSessionEnded, "")
	u := login("another long one")
	if err := s.RevokeSession("ana", u.Session, "j3", baseTime.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want(s, u, "j3", ErrSessionRevoked, "")
	want(s, u, "j4", nil, RoleViewer)
	if ended != 3 {
		t.Errorf("listeners called %d times, want 3", ended)
	}

	restarted := openService(t, db, clk)
	want(restarted, u, "j3", ErrSessionRevoked, "")
	want(restarted, u, "j4", nil, RoleViewer)
	clk.set(baseTime.Add(2 * time.Hour))
	if err := restarted.RevokeSession("ana", u.Session, "j5", baseTime.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e := restarted.storedUser("ana"); len(e.revoked) != 1 {
		t.Errorf("revoked %v, want the expired ID dropped", e.revoked)
	}
	if err := restarted.RemoveUser("ana"); err != nil {
		t.Fatal(err)
	}
	want(restarted, u, "j4", ErrSessionEnded, "")
	if err := restarted.AddUser("ana", RoleAdmin, "another long one"); err != nil {
		t.Fatal(err)
	}
	want(restarted, u, "j4", ErrSessionEnded, "")
	want(openService(t, db, clk), u, "j4", ErrSessionEnded, "")
	if err := restarted.SetRole("nobody", RoleAdmin); !errors.Is(err, ErrUserNotFound) {
		t.Errorf("set role of nobody = %v", err)
	}
	if err := restarted.SetRole("ana", "root"); !errors.Is(err, ErrInvalidUser) {
		t.Errorf("set role root = %v", err)
	}
}

// TestRevokedSessionsBounded keeps at most MaxRevokedSessions logouts per
// user: the one past them ends every session of the user instead.
func TestRevokedSessionsBounded(t *testing.T) {
	s, _ := openTest(t, &clock{t: baseTime})
	if err := s.AddUser("ana", RoleViewer, "a long password"); err != nil {
		t.Fatal(err)
	}
	u, _ := s.VerifyUser("ana", "a long password")
	for i := range MaxRevokedSessions + 1 {
		if err := s.RevokeSession("ana", u.Session, fmt.Sprint("id", i), baseTime.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if e := s.storedUser("ana"); len(e.revoked) != 0 || e.session == u.Session {
		t.Fatalf("%d revocations kept, session changed %v", len(e.revoked), e.session != u.Session)
	}
	if _, err := s.Session("ana", u.Session, "other"); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("a session past the bound = %v, want ended", err)
	}
}

// TestUserRecordV1 reads a record written before session generations as
// generation 0.
func TestUserRecordV1(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("a long password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	v := binary.AppendVarint([]byte{userRecordV1, 1}, baseTime.UnixMilli())
	e, err := decodeUser(append(v, hash...))
	if err != nil || e.session != 0 || e.role != RoleAdmin || !e.created.Equal(baseTime) || string(e.hash) != string(hash) {
		t.Fatalf("v1 record: %+v, %v", e, err)
	}
	again, err := decodeUser(encodeUser(e))
	if err != nil || again.session != 0 || string(again.hash) != string(hash) {
		t.Fatalf("v2 of it: %+v, %v", again, err)
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
