package auth

import (
	"errors"
	"fmt"
	"sync/atomic"

	"atroz/store"
)

// ErrUnavailable is returned when the records of users and tokens cannot
// be read, as when the store several instances share is down: credentials
// are refused until it is back, never checked against a copy that may
// miss a revocation.
var ErrUnavailable = errors.New("user and token records unavailable")

// revisions are the revisions of the records the in-memory copies hold.
type revisions struct {
	users, tokens atomic.Uint64
}

func (r *revisions) of(kind store.RecordKind) *atomic.Uint64 {
	if kind == store.RecordUser {
		return &r.users
	}
	return &r.tokens
}

// refresh reloads the in-memory copy of kind when another instance has
// changed its records since: one read of the revision per call, and none
// at all over the data file, whose revision never changes. A reload of the
// users tells the OnSessionsEnded subscribers, as a local change would.
func (s *Service) refresh(kind store.RecordKind) error {
	rev, err := s.db.Revision(kind)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if rev == s.revs.of(kind).Load() {
		return nil
	}
	s.reloadMu.Lock()
	reloaded, err := s.reload(kind, rev)
	s.reloadMu.Unlock()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if reloaded && kind == store.RecordUser {
		s.sessionsEnded()
	}
	return nil
}

// reload reads kind's records as of at least rev, unless another call has
// meanwhile. The caller holds reloadMu.
func (s *Service) reload(kind store.RecordKind, rev uint64) (bool, error) {
	if rev == s.revs.of(kind).Load() {
		return false, nil
	}
	if err := s.load(kind); err != nil {
		return false, err
	}
	s.revs.of(kind).Store(rev)
	return true, nil
}

// load reads kind's records into its in-memory copy.
func (s *Service) load(kind store.RecordKind) error {
	if kind == store.RecordUser {
		return s.loadUsers()
	}
	return s.loadTokens()
}

// write stores put and removes del of kind unless another instance has
// changed the kind since the in-memory copy was read: then it reloads the
// copy and returns store.ErrRecordConflict, for the caller to decide again
// (store.RetryConflicts). The caller updates the copy on success.
func (s *Service) write(kind store.RecordKind, put map[string][]byte, del []string) error {
	rev, err := s.db.WriteRecordsAt(kind, s.revs.of(kind).Load(), put, del)
	if errors.Is(err, store.ErrRecordConflict) {
		if rerr := s.refresh(kind); rerr != nil {
			return rerr
		}
		return err
	}
	if err == nil {
		s.revs.of(kind).Store(rev)
	}
	return err
}
