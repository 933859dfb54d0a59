package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Token is an ingest token as ListTokens reports it. Neither the secret nor
// its hash leaves the store.
type Token struct {
	Name    string
	Created time.Time
}

const (
	// tokenPrefix makes a secret recognisable in a config file or a leaked log.
	tokenPrefix = "atz_"
	// tokenEntropy is the secret's random bytes. 256 bits cannot be guessed,
	// so a plain SHA-256 of the secret is as good as a slow password hash.
	tokenEntropy = 32
	// tokenSecretLen is the length of every secret CreateToken returns.
	tokenSecretLen = len(tokenPrefix) + (tokenEntropy*8+5)/6

	tokenRecordVersion = 1
	// tokenNameRule is tokenName in words, for errors.
	tokenNameRule = "1 to 64 ASCII letters, digits, '_', '.' or '-', starting with a letter or digit" // #nosec G101 -- words for an error, not a credential
)

var tokenName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// tokenSet is the in-memory copy of the tokens bucket that VerifyToken reads,
// so the ingest path takes no transaction.
type tokenSet struct {
	// writeMu orders create and revoke, so the copy changes in the order the
	// transactions commit.
	writeMu sync.Mutex
	mu      sync.RWMutex // guards hashes
	hashes  []tokenHash
}

type tokenHash struct {
	name string
	hash [sha256.Size]byte
}

// CreateToken creates the ingest token name and returns its secret, which is
// not stored and cannot be shown again. The name must match
// ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ (ErrInvalidTokenName) and be new
// (ErrTokenExists).
func (db *DB) CreateToken(name string) (secret string, err error) {
	if !tokenName.MatchString(name) {
		return "", fmt.Errorf("create token %q: %w: want %s", name, ErrInvalidTokenName, tokenNameRule)
	}
	secret = newTokenSecret()
	hash := hashSecret(secret)
	db.tokens.writeMu.Lock()
	defer db.tokens.writeMu.Unlock()
	err = db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		if b.Get([]byte(name)) != nil {
			return ErrTokenExists
		}
		return b.Put([]byte(name), appendTokenRecord(nil, &hash, db.opts.Now()))
	})
	if err != nil {
		return "", fmt.Errorf("create token %q: %w", name, err)
	}
	db.tokens.add(tokenHash{name, hash})
	return secret, nil
}

// ListTokens returns every ingest token, sorted by name.
func (db *DB) ListTokens() ([]Token, error) {
	var out []Token
	// bbolt iterates keys in byte order, which is the order of Go strings.
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
			_, created, err := decodeTokenRecord(v)
			if err != nil {
				return fmt.Errorf("token %q: %w", k, err)
			}
			out = append(out, Token{Name: string(k), Created: created})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes the ingest token name; VerifyToken refuses its secret
// from the moment RevokeToken returns. An unknown name returns ErrTokenNotFound.
func (db *DB) RevokeToken(name string) error {
	db.tokens.writeMu.Lock()
	defer db.tokens.writeMu.Unlock()
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bTokens)
		if b.Get([]byte(name)) == nil {
			return ErrTokenNotFound
		}
		return b.Delete([]byte(name))
	})
	if err != nil {
		return fmt.Errorf("revoke token %q: %w", name, err)
	}
	db.tokens.remove(name)
	return nil
}

// VerifyToken reports whether secret is the secret of an ingest token, and
// which. It takes as long whichever token matches, if any, and allocates
// nothing for a secret of the length CreateToken returns.
func (db *DB) VerifyToken(secret string) (name string, ok bool) {
	hash := hashSecret(secret)
	return db.tokens.verify(&hash)
}

// loadTokens fills the in-memory copy from the bucket.
func (db *DB) loadTokens(tx *bolt.Tx) error {
	var hashes []tokenHash
	err := tx.Bucket(bTokens).ForEach(func(k, v []byte) error {
		hash, _, err := decodeTokenRecord(v)
		if err != nil {
			return fmt.Errorf("token %q: %w", k, err)
		}
		hashes = append(hashes, tokenHash{string(k), hash})
		return nil
	})
	if err != nil {
		return err
	}
	db.tokens.mu.Lock()
	defer db.tokens.mu.Unlock()
	db.tokens.hashes = hashes
	return nil
}

func (s *tokenSet) add(t tokenHash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hashes = append(s.hashes, t)
}

func (s *tokenSet) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hashes = slices.DeleteFunc(s.hashes, func(t tokenHash) bool { return t.name == name })
}

// verify compares hash with every stored hash in constant time and does not
// stop at a match, so the time taken tells neither which token matched nor
// how far a comparison got.
func (s *tokenSet) verify(hash *[sha256.Size]byte) (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	found, at := 0, 0
	for i := range s.hashes {
		eq := subtle.ConstantTimeCompare(hash[:], s.hashes[i].hash[:])
		at = subtle.ConstantTimeSelect(eq, i, at)
		found |= eq
	}
	if found == 0 {
		return "", false
	}
	return s.hashes[at].name, true
}

func newTokenSecret() string {
	var b [tokenEntropy]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program rather than return short
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// hashSecret copies secret into a stack buffer first: hashing []byte(secret)
// directly would allocate on every ingest request.
func hashSecret(secret string) [sha256.Size]byte {
	var buf [tokenSecretLen]byte
	return sha256.Sum256(append(buf[:0], secret...))
}

// A token record, the value under the token's name, is
//
//	version (1 byte) | SHA-256 of the secret (32 bytes) | created (varint unix ms)
func appendTokenRecord(b []byte, hash *[sha256.Size]byte, created time.Time) []byte {
	b = append(b, tokenRecordVersion)
	b = append(b, hash[:]...)
	return binary.AppendVarint(b, created.UnixMilli())
}

func decodeTokenRecord(v []byte) (hash [sha256.Size]byte, created time.Time, err error) {
	d := decoder{b: v}
	if ver := d.byte(); ver != tokenRecordVersion {
		return hash, created, fmt.Errorf("%w: token record version %d", ErrCorrupt, ver)
	}
	copy(hash[:], d.bytes(sha256.Size))
	ms := d.varint()
	if !d.done() {
		return hash, created, fmt.Errorf("%w: token record of %d bytes", ErrCorrupt, len(v))
	}
	return hash, time.UnixMilli(ms).UTC(), nil
}
