package auth

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"atroz/store"
)

// MaxRevokedSessions bounds the logouts kept per user until their tokens
// expire. The logout past it ends all of the user's sessions instead (a new
// session generation), so a user's record and memory stay bounded whatever
// the number of logins: at most this many IDs of 32 bytes per user.
const MaxRevokedSessions = 64

// Errors of Session.
var (
	// ErrSessionEnded is returned by Session for a token of a user who was
	// removed, or whose role or password changed since the login.
	ErrSessionEnded = errors.New("session ended")
	// ErrSessionRevoked is returned by Session for a token a logout revoked.
	ErrSessionRevoked = errors.New("session revoked by logout")
)

// Session returns the stored user of a login session: its token names the
// user, the user's session generation at login and the session ID. It
// takes no transaction.
func (s *Service) Session(name string, session uint64, id string) (User, error) {
	e, err := s.currentUser(name)
	switch {
	case err != nil:
		return User{}, err
	case e == nil:
		return User{}, fmt.Errorf("%w: user %q no longer exists", ErrSessionEnded, name)
	case e.session != session:
		return User{}, fmt.Errorf("%w: the role or password of %q changed since the login; log in again", ErrSessionEnded, name)
	}
	if exp, ok := e.revoked[id]; ok && s.now().Unix() <= exp {
		return User{}, ErrSessionRevoked
	}
	return e.user(name), nil
}

// RevokeSession refuses the login session id of the user name, whose token
// carries session and expires at until, from now on and after restarts:
// the ID is kept in the user's record until until, and dropped then. A
// session that has ended already is left alone.
func (s *Service) RevokeSession(name string, session uint64, id string, until time.Time) error {
	s.userMu.Lock()
	defer s.userMu.Unlock()
	ended := false
	err := store.RetryConflicts(func() error {
		e, err := s.currentUser(name)
		if err != nil || e == nil || e.session != session {
			return err
		}
		now := s.now().Unix()
		maps.DeleteFunc(e.revoked, func(_ string, exp int64) bool { return exp < now })
		if len(e.revoked) >= MaxRevokedSessions {
			e.session, e.revoked = newSession(), map[string]int64{}
		} else {
			e.revoked[id] = until.Unix()
		}
		ended = true
		return s.putUser(name, e)
	})
	if err != nil {
		return fmt.Errorf("revoke session of %q: %w", name, err)
	}
	if ended {
		s.sessionsEnded()
	}
	return nil
}

// OnSessionsEnded registers fn to be called after every change that may end
// login sessions: a user removed, a role or password changed, a logout. It
// runs on the changing goroutine; fn must not call back into user writes.
func (s *Service) OnSessionsEnded(fn func()) {
	s.listenMu.Lock()
	defer s.listenMu.Unlock()
	s.listeners = append(s.listeners, fn)
}

// sessionsEnded calls the OnSessionsEnded functions.
func (s *Service) sessionsEnded() {
	s.listenMu.Lock()
	fns := s.listeners
	s.listenMu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
