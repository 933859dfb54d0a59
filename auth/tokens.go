package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"atroz/store"
)

// Token is an API token as listed. Neither its secret nor the secret's
// hash leaves the package.
type Token struct {
	Name   string
	Scopes Scope
	// Created is when the token was made.
	Created time.Time
	// Expires is when it stops being accepted; zero means never.
	Expires time.Time
	// LastUsed is when it was last accepted; zero means never.
	LastUsed time.Time
}

const (
	// TokenPrefix starts every secret, so one is recognisable in a config
	// file or a leaked log, and told apart from a session token.
	TokenPrefix = "atz_"
	// tokenEntropy is the secret's random bytes. 256 bits cannot be guessed,
	// so a plain SHA-256 of the secret is as good as a slow password hash.
	tokenEntropy = 32
	// tokenSecretLen is the length of every secret CreateToken returns.
	tokenSecretLen = len(TokenPrefix) + (tokenEntropy*8+5)/6
	// tokenNameRule is tokenName in words, for errors.
	tokenNameRule = "1 to 64 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit" // #nosec G101 -- words for an error, not a credential
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// tokenEntry is a token in memory: its hash, what it grants, and its last
// use, updated on every verification without a lock.
type tokenEntry struct {
	name     string
	hash     [sha256.Size]byte
	scopes   Scope
	created  int64 // unix ms
	expires  int64 // unix ms; 0 means never
	lastUsed atomic.Int64
	// persisted is the lastUsed the store holds; guarded by tokenSet.writeMu.
	persisted int64
}

// tokenSet is the in-memory copy of the tokens records that VerifyToken reads.
type tokenSet struct {
	// writeMu orders create, revoke and the last-use writes, so the copy
	// changes in the order the transactions commit and a last-use write
	// never brings back a token revoked meanwhile.
	writeMu sync.Mutex
	mu      sync.RWMutex // guards entries
	entries []*tokenEntry
}

// IsTokenSecret reports whether s has the shape of a token's secret, as
// opposed to a session token or a password.
func IsTokenSecret(s string) bool { return strings.HasPrefix(s, TokenPrefix) }

// CreateToken creates the token name with scopes, accepted until expires
// (zero: no expiry), and returns its secret, which is not stored and cannot
// be shown again. The name must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$
// (ErrInvalidTokenName) and be new (ErrTokenExists).
func (s *Service) CreateToken(name string, scopes Scope, expires time.Time) (secret string, err error) {
	now := s.now()
	switch {
	case !tokenName.MatchString(name):
		return "", fmt.Errorf("create token %q: %w: want %s", name, ErrInvalidTokenName, tokenNameRule)
	case !scopes.valid():
		return "", fmt.Errorf("create token %q: %w: want one or more of read, ingest, admin", name, ErrInvalidScope)
	case !expires.IsZero() && !expires.After(now):
		return "", fmt.Errorf("create token %q: %w: %s is not in the future", name, ErrInvalidExpiry, expires.UTC().Format(time.RFC3339))
	}
	secret = newTokenSecret()
	e := &tokenEntry{name: name, hash: hashSecret(secret), scopes: scopes, created: now.UnixMilli()}
	if !expires.IsZero() {
		e.expires = expires.UnixMilli()
	}
	s.tokens.writeMu.Lock()
	defer s.tokens.writeMu.Unlock()
	err = store.RetryConflicts(func() error {
		if err := s.refresh(store.RecordToken); err != nil {
			return err
		}
		if s.tokens.find(name) != nil {
			return ErrTokenExists
		}
		return s.write(store.RecordToken, map[string][]byte{name: appendTokenRecord(nil, e, 0)}, nil)
	})
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	s.tokens.mu.Lock()
	s.tokens.entries = append(s.tokens.entries, e)
	s.tokens.mu.Unlock()
	return secret, nil
}

// Token returns the token name, and whether there is one. With the
// records unreadable it answers from the last copy.
func (s *Service) Token(name string) (Token, bool) {
	_ = s.refresh(store.RecordToken)
	if e := s.tokens.find(name); e != nil {
		return e.token(), true
	}
	return Token{}, false
}

// Tokens returns every token, sorted by name, with its last use as known
// in memory.
func (s *Service) Tokens() []Token {
	_ = s.refresh(store.RecordToken) // unreadable: the last copy
	s.tokens.mu.RLock()
	out := make([]Token, len(s.tokens.entries))
	for i, e := range s.tokens.entries {
		out[i] = e.token()
	}
	s.tokens.mu.RUnlock()
	slices.SortFunc(out, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// RevokeToken deletes the token name; VerifyToken refuses its secret from
// the moment RevokeToken returns. An unknown name returns ErrTokenNotFound.
func (s *Service) RevokeToken(name string) error {
	s.tokens.writeMu.Lock()
	defer s.tokens.writeMu.Unlock()
	err := store.RetryConflicts(func() error {
		if err := s.refresh(store.RecordToken); err != nil {
			return err
		}
		if s.tokens.find(name) == nil {
			return ErrTokenNotFound
		}
		return s.write(store.RecordToken, nil, []string{name})
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	s.tokens.mu.Lock()
	s.tokens.entries = slices.DeleteFunc(s.tokens.entries, func(e *tokenEntry) bool { return e.name == name })
	s.tokens.mu.Unlock()
	return nil
}

// VerifyToken returns the token whose secret is secret and notes its use.
// It returns ErrTokenUnknown for a secret no token has and ErrTokenExpired,
// with the token, for one past its expiry. It takes as long whichever
// token matches, if any, and allocates nothing.
func (s *Service) VerifyToken(secret string) (Token, error) {
	if len(secret) != tokenSecretLen || !IsTokenSecret(secret) {
		return Token{}, ErrTokenUnknown // the shape of a secret is no secret
	}
	if err := s.refresh(store.RecordToken); err != nil {
		return Token{}, err
	}
	hash := hashSecret(secret)
	e := s.tokens.verify(&hash)
	if e == nil {
		return Token{}, ErrTokenUnknown
	}
	now := s.now().UnixMilli()
	if e.expires != 0 && now >= e.expires {
		return e.token(), ErrTokenExpired
	}
	if now > e.lastUsed.Load() {
		e.lastUsed.Store(now)
	}
	return e.token(), nil
}

// token is e as listed.
func (e *tokenEntry) token() Token {
	t := Token{Name: e.name, Scopes: e.scopes, Created: time.UnixMilli(e.created).UTC()}
	if e.expires != 0 {
		t.Expires = time.UnixMilli(e.expires).UTC()
	}
	if ms := e.lastUsed.Load(); ms != 0 {
		t.LastUsed = time.UnixMilli(ms).UTC()
	}
	return t
}

// find returns the entry of name, or nil.
func (t *tokenSet) find(name string) *tokenEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.findLocked(name)
}

// findLocked is find for a caller holding mu.
func (t *tokenSet) findLocked(name string) *tokenEntry {
	for _, e := range t.entries {
		if e.name == name {
			return e
		}
	}
	return nil
}

// verify compares hash with every stored hash in constant time and does not
// stop at a match, so the time taken tells neither which token matched nor
// how far a comparison got.
func (t *tokenSet) verify(hash *[sha256.Size]byte) *tokenEntry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	found, at := 0, 0
	for i, e := range t.entries {
		eq := subtle.ConstantTimeCompare(hash[:], e.hash[:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return nil
	}
	return t.entries[at]
}

// loadTokens fills the in-memory copy from the store.
func (s *Service) loadTokens() error {
	var (
		entries []*tokenEntry
		bad     error
	)
	err := s.db.Records(store.RecordToken, func(name string, v []byte) bool {
		e, err := decodeTokenRecord(name, v)
		if err != nil {
			bad = fmt.Errorf("token %q: %w", name, err)
			return false
		}
		entries = append(entries, e)
		return true
	})
	if err != nil {
		return fmt.Errorf("load tokens: %w", err)
	}
	if bad != nil {
		return bad
	}
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	for _, e := range entries { // a use this instance saw and has not written yet is kept
		if old := s.tokens.findLocked(e.name); old != nil && old.lastUsed.Load() > e.lastUsed.Load() {
			e.lastUsed.Store(old.lastUsed.Load())
		}
	}
	s.tokens.entries = entries
	return nil
}

// flushLastUsed writes, in one transaction, the tokens used since their
// last write.
func (s *Service) flushLastUsed() error {
	s.tokens.writeMu.Lock()
	defer s.tokens.writeMu.Unlock()
	s.tokens.mu.RLock()
	put := map[string][]byte{}
	written := map[*tokenEntry]int64{}
	for _, e := range s.tokens.entries {
		if ms := e.lastUsed.Load(); ms != e.persisted {
			put[e.name] = appendTokenRecord(nil, e, ms)
			written[e] = ms
		}
	}
	s.tokens.mu.RUnlock()
	// Only tokens that still exist: another instance may have revoked one.
	if err := s.db.UpdateRecords(store.RecordToken, put); err != nil {
		return fmt.Errorf("write tokens' last use: %w", err)
	}
	for e, ms := range written {
		e.persisted = ms
	}
	return nil
}

func newTokenSecret() string {
	var b [tokenEntropy]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program rather than return short
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret copies secret into a stack buffer first: hashing []byte(secret)
// directly would allocate on every request.
func hashSecret(secret string) [sha256.Size]byte {
	var buf [tokenSecretLen]byte
	return sha256.Sum256(append(buf[:0], secret...))
}
