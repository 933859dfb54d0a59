package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
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

// User is a dashboard user as listed; the hash never leaves the store.
type User struct {
	Name    string    `json:"name"`
	Role    string    `json:"role"`
	Created time.Time `json:"created"`
}

// Errors of the user methods.
var (
	// ErrUserExists is returned by AddUser for a name already taken.
	ErrUserExists = errors.New("user exists")
	// ErrUserNotFound is returned for a name no user has.
	ErrUserNotFound = errors.New("user not found")
	// ErrInvalidUser is returned for a bad name, role or password.
	ErrInvalidUser = errors.New("invalid user")
)

var userNameRule = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$`)

// dummyHash is compared against when a user does not exist, so a login
// takes as long for an unknown name as for a wrong password. It is made at
// the first such login, not when the package loads: every program that
// imports the store would pay a bcrypt hash at start-up.
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

// checkPassword refuses what bcrypt would silently truncate or what is too short to resist guessing.
func checkPassword(password string) error {
	switch {
	case len(password) < 10:
		return fmt.Errorf("%w: password must be at least 10 bytes", ErrInvalidUser)
	case len(password) > 72:
		return fmt.Errorf("%w: password is %d bytes; bcrypt uses only the first 72, so at most 72 are accepted", ErrInvalidUser, len(password))
	}
	return nil
}

// AddUser stores a user with a bcrypt hash of password.
func (db *DB) AddUser(name, role, password string) error {
	if err := checkUser(name, role, password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return fmt.Errorf("add user %q: %w", name, err)
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		if b.Get([]byte(name)) != nil {
			return fmt.Errorf("add user %q: %w", name, ErrUserExists)
		}
		return b.Put([]byte(name), encodeUser(role, hash, db.opts.Now()))
	})
}

// SetPassword replaces a user's password.
func (db *DB) SetPassword(name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		role, _, created, err := decodeUser(b.Get([]byte(name)))
		if err != nil {
			return fmt.Errorf("set password of %q: %w", name, err)
		}
		return b.Put([]byte(name), encodeUser(role, hash, created))
	})
}

// RemoveUser deletes a user.
func (db *DB) RemoveUser(name string) error {
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bUsers)
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("remove user %q: %w", name, ErrUserNotFound)
		}
		return b.Delete([]byte(name))
	})
}

// Users lists the users by name.
func (db *DB) Users() ([]User, error) {
	var out []User
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bUsers).ForEach(func(k, v []byte) error {
			role, _, created, err := decodeUser(v)
			if err != nil {
				return fmt.Errorf("user %q: %w", k, err)
			}
			out = append(out, User{Name: string(k), Role: role, Created: created})
			return nil
		})
	})
	return out, err // bbolt iterates keys in byte order, which is the order of Go strings
}

// VerifyUser checks a password and returns the user. An unknown name costs
// the same bcrypt comparison as a wrong password.
func (db *DB) VerifyUser(name, password string) (User, bool) {
	var (
		u    User
		hash []byte
	)
	_ = db.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bUsers).Get([]byte(name))
		role, h, created, err := decodeUser(v)
		if err == nil {
			u, hash = User{Name: name, Role: role, Created: created}, h
		}
		return nil
	})
	if hash == nil || len(password) > 72 {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password[:min(len(password), 72)]))
		return User{}, false
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return User{}, false
	}
	return u, true
}

// Layout: version 1 (1 byte), role (1 byte: 0 viewer, 1 admin), varint created unix ms, bcrypt hash.
func encodeUser(role string, hash []byte, created time.Time) []byte {
	r := byte(0)
	if role == RoleAdmin {
		r = 1
	}
	b := []byte{1, r}
	b = binary.AppendVarint(b, created.UnixMilli())
	return append(b, hash...)
}

func decodeUser(v []byte) (role string, hash []byte, created time.Time, err error) {
	if v == nil {
		return "", nil, time.Time{}, ErrUserNotFound
	}
	d := decoder{b: v}
	ver, r := d.byte(), d.byte()
	ms := d.varint()
	if d.err != nil || ver != 1 || r > 1 || len(d.b) < 59 {
		return "", nil, time.Time{}, fmt.Errorf("%w: user record", ErrCorrupt)
	}
	role = RoleViewer
	if r == 1 {
		role = RoleAdmin
	}
	return role, d.b, time.UnixMilli(ms), nil
}
