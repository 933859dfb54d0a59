package auth

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
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
	// Session is the user's session generation, which a login's token
	// carries; it changes when the role or password does.
	Session uint64 `json:"-"`
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

// userEntry is a user as stored, and as kept in memory by the Service.
type userEntry struct {
	role    string
	hash    []byte
	created time.Time
	// session is the user's session generation: a login's token carries
	// it, and a token whose generation differs is refused. It is drawn at
	// random when the user is made and again at every role or password
	// change, so a user removed and made again never matches an old token.
	session uint64
	// revoked are the IDs of sessions a logout ended, with their expiry (unix s).
	revoked map[string]int64
}

// user returns e as listed.
func (e *userEntry) user(name string) User {
	return User{Name: name, Role: e.role, Created: e.created, Session: e.session}
}

// newSession draws a session generation.
func newSession() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return binary.LittleEndian.Uint64(b[:])
}

// loadUsers reads every user into memory.
func (s *Service) loadUsers() error {
	users := map[string]*userEntry{}
	var bad error
	err := s.db.Records(store.RecordUser, func(name string, v []byte) bool {
		e, err := decodeUser(v)
		if err != nil {
			bad = fmt.Errorf("user %q: %w", name, err)
			return false
		}
		users[name] = e
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return err
	}
	s.usersMu.Lock()
	s.users = users
	s.usersMu.Unlock()
	return nil
}

// putUser stores e as name's record and in memory, unless another
// instance changed the users meanwhile (store.ErrRecordConflict). The
// caller holds userMu.
func (s *Service) putUser(name string, e *userEntry) error {
	if err := s.write(store.RecordUser, map[string][]byte{name: encodeUser(e)}, nil); err != nil {
		return err
	}
	s.usersMu.Lock()
	s.users[name] = e
	s.usersMu.Unlock()
	return nil
}

// existingUser is currentUser, with ErrUserNotFound for no such user.
func (s *Service) existingUser(name string) (*userEntry, error) {
	e, err := s.currentUser(name)
	if err == nil && e == nil {
		err = ErrUserNotFound
	}
	return e, err
}

// currentUser is storedUser after taking in other instances' changes.
func (s *Service) currentUser(name string) (*userEntry, error) {
	if err := s.refresh(store.RecordUser); err != nil {
		return nil, err
	}
	return s.storedUser(name), nil
}

// storedUser returns a copy of name's entry, nil when there is no such user.
func (s *Service) storedUser(name string) *userEntry {
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	e, ok := s.users[name]
	if !ok {
		return nil
	}
	c := *e
	c.revoked = maps.Clone(e.revoked)
	return &c
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
	err = store.RetryConflicts(func() error {
		switch old, err := s.currentUser(name); {
		case err != nil:
			return err
		case old != nil:
			return ErrUserExists
		}
		return s.putUser(name, &userEntry{role: role, hash: hash, created: s.now(), session: newSession(), revoked: map[string]int64{}})
	})
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return nil
}

// SetPassword replaces a user's password and ends the user's sessions.
func (s *Service) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", name, err)
	}
	return s.changeUser("set password of", name, func(e *userEntry) { e.hash = hash })
}

// SetRole changes a user's role and ends the user's sessions.
func (s *Service) SetRole(name, role string) error {
	if role != RoleViewer && role != RoleAdmin {
		return fmt.Errorf("%w: role %q must be viewer or admin", ErrInvalidUser, role)
	}
	return s.changeUser("set role of", name, func(e *userEntry) { e.role = role })
}

// changeUser applies change to name's stored user, draws a new session
// generation (ending every session of the user, revocations included) and
// tells the subscribers.
func (s *Service) changeUser(what, name string, change func(*userEntry)) error {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	err := store.RetryConflicts(func() error {
		e, err := s.existingUser(name)
		if err != nil {
			return err
		}
		change(e)
		e.session, e.revoked = newSession(), map[string]int64{}
		return s.putUser(name, e)
	})
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, name, err)
	}
	s.sessionsEnded()
	return nil
}

// RemoveUser deletes a user, ending the user's sessions.
func (s *Service) RemoveUser(name string) error {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	err := store.RetryConflicts(func() error {
		if _, err := s.existingUser(name); err != nil {
			return err
		}
		return s.write(store.RecordUser, nil, []string{name})
	})
	if err != nil {
		return fmt.Errorf("remove user %q: %w", name, err)
	}
	s.usersMu.Lock()
	delete(s.users, name)
	s.usersMu.Unlock()
	s.sessionsEnded()
	return nil
}

// Users lists the users by name.
func (s *Service) Users() ([]User, error) {
	if err := s.refresh(store.RecordUser); err != nil {
		return nil, err
	}
	s.usersMu.RLock()
	defer s.usersMu.RUnlock()
	out := make([]User, 0, len(s.users))
	for name, e := range s.users {
		out = append(out, e.user(name))
	}
	slices.SortFunc(out, func(a, b User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// VerifyUser checks a password and returns the user. An unknown name costs
// the same bcrypt comparison as a wrong password.
func (s *Service) VerifyUser(name, password string) (User, bool) {
	e, err := s.currentUser(name)
	if err != nil || e == nil || len(password) > 72 {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password[:min(len(password), 72)]))
		return User{}, false
	}
	if bcrypt.CompareHashAndPassword(e.hash, []byte(password)) != nil {
		return User{}, false
	}
	return e.user(name), true
}
