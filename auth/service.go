// Package auth keeps who may use AtroZ: dashboard users and their roles,
// long-lived API tokens and their scopes, and the login sessions a logout
// revoked. Users and tokens live in the store's generic records, in the
// users and tokens buckets every data file has, and are also kept in
// memory, so verifying one takes no transaction. A user's record holds its
// session generation and the sessions a logout revoked, so both survive a
// restart.
package auth

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"atroz/store"
)

// DefaultLastUsedInterval is how often, at most, a token's last use is
// written to the store.
const DefaultLastUsedInterval = time.Minute

// Errors of the user and token methods.
var (
	// ErrUserExists is returned by AddUser for a name already taken.
	ErrUserExists = errors.New("user exists")
	// ErrUserNotFound is returned by SetPassword, SetRole and RemoveUser for a name no user has.
	ErrUserNotFound = errors.New("user not found")
	// ErrInvalidUser is returned by AddUser and SetPassword for a bad name, role or password.
	ErrInvalidUser = errors.New("invalid user")

	// ErrInvalidTokenName is returned by CreateToken when a name is not 1 to 64 ASCII letters, digits, '_', '.' or '-' starting with a letter or digit.
	ErrInvalidTokenName = errors.New("invalid token name")
	// ErrTokenExists is returned by CreateToken when a token of that name exists already.
	ErrTokenExists = errors.New("token exists")
	// ErrTokenNotFound is returned by RevokeToken when no token has that name.
	ErrTokenNotFound = errors.New("token not found")
	// ErrInvalidScope is returned by ParseScopes and CreateToken for an unknown or missing scope.
	ErrInvalidScope = errors.New("invalid scope")
	// ErrInvalidExpiry is returned by CreateToken for an expiry that is not in the future.
	ErrInvalidExpiry = errors.New("invalid expiry")

	// ErrTokenUnknown is returned by VerifyToken for a secret no token has: never issued, or revoked.
	ErrTokenUnknown = errors.New("token unknown or revoked")
	// ErrTokenExpired is returned by VerifyToken for the secret of a token past its expiry.
	ErrTokenExpired = errors.New("token expired")
)

// Options configures a Service. A nil *Options means the defaults.
type Options struct {
	// Now is the clock of creation, expiry, last use and session
	// revocation. Default time.Now.
	Now func() time.Time
	// LastUsedInterval is how often tokens' last-use times, kept in memory
	// on every verification, are written to the store; Close writes them
	// too. Default 1m: shorter costs a transaction more often, longer loses
	// more of them to a crash. Negative writes them only on Close.
	LastUsedInterval time.Duration
}

// Service answers who a credential belongs to, and manages users and tokens.
type Service struct {
	db   store.RecordStore
	revs revisions
	// reloadMu orders the reloads of the in-memory copies (refresh).
	reloadMu sync.Mutex
	now      func() time.Time
	userMu   sync.Mutex // orders user writes, so an existence check holds until the write
	usersMu  sync.RWMutex
	users    map[string]*userEntry // every user, as stored; written under userMu and usersMu
	tokens   tokenSet

	listenMu  sync.Mutex
	listeners []func()

	stop     chan struct{}
	done     chan struct{}
	close    sync.Once
	closeErr error
}

// Open loads the users and tokens of db (the data file, or a store
// several instances share, whose changes by others each read takes in)
// and, unless o.LastUsedInterval is negative, starts writing the tokens'
// last use once per interval until Close.
func Open(db store.RecordStore, o *Options) (*Service, error) {
	var opts Options
	if o != nil {
		opts = *o
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LastUsedInterval == 0 {
		opts.LastUsedInterval = DefaultLastUsedInterval
	}
	s := &Service{db: db, now: opts.Now, stop: make(chan struct{}), done: make(chan struct{})}
	for _, kind := range []store.RecordKind{store.RecordUser, store.RecordToken} {
		rev, err := db.Revision(kind) // before the records: a write meanwhile is read again
		if err == nil {
			err = s.load(kind)
		}
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		s.revs.of(kind).Store(rev)
	}
	if opts.LastUsedInterval < 0 {
		close(s.done)
		return s, nil
	}
	go s.persistLastUsed(opts.LastUsedInterval)
	return s, nil
}

// Close stops the background writes and writes the tokens' last use once
// more. It is idempotent; it does not close the store.
func (s *Service) Close() error {
	s.close.Do(func() {
		close(s.stop)
		<-s.done
		if err := s.flushLastUsed(); err != nil {
			s.closeErr = fmt.Errorf("auth: %w", err)
		}
	})
	return s.closeErr
}

// persistLastUsed writes the tokens' last use every interval until Close;
// a failed write is retried at the next tick, as the times stay in memory.
func (s *Service) persistLastUsed(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.flushLastUsed()
		}
	}
}
