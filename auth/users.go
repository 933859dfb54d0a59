package auth

import (
	"fmt"
	"regexp"
	"sync"
	"time"

	"atroz/store"

	"golang.org/x/crypto/bcrypt"
)

// Roles a user may have.
const (
	// RoleViewer reads dashboards, queries and alerts.
	RoleViewer = "viewer"
	// RoleAdmin also manages silences, users, tokens and sees /security/status.
	RoleAdmin = "admin"
)

// BcryptCost is the work factor of stored password hashes.
const BcryptCost = 11

// User is a dashboard user as listed; the hash never leaves the package.
type User struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

var userNameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// dummyHash is compared against when a user does not exist, so a login
// takes as long for an unknown name as for a wrong password. It is made at
// the first such login, not when the package loads: every program that
// imports the package would pay a bcrypt hash at start-up.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("atroz-no-such-user"), BcryptCost)
	return h
})

func checkUser(name, role, password string) error {
	switch {
	case !userNameRule.MatchString(name):
		return fmt.Errorf("%w: name %q must be 1–64 of letters, digits, _ . @ - starting with a letter or digit", ErrInvalidUser, name)
	case role != RoleViewer && role != RoleAdmin:
		return fmt.Errorf("%w: role %q must be viewer or admin", ErrInvalidUser, role)
	}
	return checkPassword(password)
}

// MinPasswordBytes is the shortest password accepted (ASVS 2.1.1: at least 12 characters).
const MinPasswordBytes = 12

// checkPassword refuses what bcrypt would silently truncate or what is too short to resist guessing.
func checkPassword(password string) error {
	switch {
	case len(password) < MinPasswordBytes:
		return fmt.Errorf("%w: password is %d bytes; it must be at least %d", ErrInvalidUser, len(password), MinPasswordBytes)
	case len(password) > 72:
		return fmt.Errorf("%w: password is %d bytes; bcrypt uses only the first 72, so at most 72 are accepted", ErrInvalidUser, len(password))
	}
	return nil
}

// AddUser stores a user with a bcrypt hash of password.
func (s *Service) AddUser(name, role, password string) error {
	if err := checkUser(name, role, password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	s.userMu.Lock()
	defer s.userMu.Unlock()
	v, err := s.db.Record(store.RecordUser, name)
	switch {
	case err != nil:
		return fmt.Errorf("add user %q: %w", name, err)
	case v != nil:
		return fmt.Errorf("add user %q: %w", name, ErrUserExists)
	}
	if err := s.db.PutRecord(store.RecordUser, name, encodeUser(role, hash, s.now())); err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return nil
}

// SetPassword replaces a user's password.
func (s *Service) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	s.userMu.Lock()
	defer s.userMu.Unlock()
	v, err := s.db.Record(store.RecordUser, name)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	role, _, created, err := decodeUser(v)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	if err := s.db.PutRecord(store.RecordUser, name, encodeUser(role, hash, created)); err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return nil
}

// RemoveUser deletes a user.
func (s *Service) RemoveUser(name string) error {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	v, err := s.db.Record(store.RecordUser, name)
	switch {
	case err != nil:
		return fmt.Errorf("remove user %q: %w", name, err)
	case v == nil:
		return fmt.Errorf("remove user %q: %w", name, ErrUserNotFound)
	}
	if err := s.db.DeleteRecord(store.RecordUser, name); err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	return nil
}

// Users lists the users by name.
func (s *Service) Users() ([]User, error) {
	var (
		out []User
		bad error
	)
	err := s.db.Records(store.RecordUser, func(name string, v []byte) bool {
		role, _, created, err := decodeUser(v)
		if err != nil {
			bad = fmt.Errorf("user %q: %w", name, err)
			return false
		}
		out = append(out, User{Name: name, Role: role, Created: created})
		return true
	})
	if err == nil {
		err = bad
	}
	return out, err // records come in key order, which is the order of Go strings
}

// VerifyUser checks a password and returns the user. An unknown name costs
// the same bcrypt comparison as a wrong password.
func (s *Service) VerifyUser(name, password string) (User, bool) {
	v, _ := s.db.Record(store.RecordUser, name) // a failed read refuses, as an unknown name does
	role, hash, created, err := decodeUser(v)
	if err != nil || len(password) > 72 {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password[:min(len(password), 72)]))
		return User{}, false
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return User{}, false
	}
	return User{Name: name, Role: role, Created: created}, true
}
