package auth

import (
	"sync"
	"time"
)

// denylist holds the IDs of revoked sessions until the sessions expire.
type denylist struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// RevokeSession refuses the login session id until it expires at until;
// past that its token is refused anyway, and the ID is forgotten.
func (s *Service) RevokeSession(id string, until time.Time) {
	now := s.now()
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	for k, t := range s.sessions.m {
		if now.After(t) {
			delete(s.sessions.m, k)
		}
	}
	s.sessions.m[id] = until
}

// SessionRevoked reports whether the session id was revoked and has not expired yet.
func (s *Service) SessionRevoked(id string) bool {
	s.sessions.mu.Lock()
	defer s.sessions.mu.Unlock()
	t, ok := s.sessions.m[id]
	return ok && !s.now().After(t)
}
