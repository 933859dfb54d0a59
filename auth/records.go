package auth

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"atroz/store"
)

// Record versions. A version-1 token record predates scopes: it was an
// ingest token without expiry, and decodes as one.
const (
	tokenRecordV1 = 1
	tokenRecordV2 = 2
	userRecordV1  = 1
)

// A token record, the value under the token's name, is
//
//	version 2 (1 byte) | SHA-256 of the secret (32 bytes) | created (varint unix ms)
//	| scopes (1 byte: 1 read, 2 ingest, 4 admin) | expires (varint unix ms, 0 never)
//	| last used (varint unix ms, 0 never)
//
// Version 1 ends after created.
func appendTokenRecord(b []byte, e *tokenEntry, lastUsed int64) []byte {
	b = append(b, tokenRecordV2)
	b = append(b, e.hash[:]...)
	b = binary.AppendVarint(b, e.created)
	b = append(b, byte(e.scopes))
	b = binary.AppendVarint(b, e.expires)
	return binary.AppendVarint(b, lastUsed)
}

// decodeTokenRecord decodes the record of the token name; errors wrap store.ErrCorrupt.
func decodeTokenRecord(name string, v []byte) (*tokenEntry, error) {
	d := decoder{b: v}
	e := &tokenEntry{name: name, scopes: ScopeIngest}
	ver := d.byte()
	copy(e.hash[:], d.bytes(sha256.Size))
	e.created = d.varint()
	switch ver {
	case tokenRecordV1:
	case tokenRecordV2:
		e.scopes = Scope(d.byte())
		e.expires = d.varint()
		last := d.varint()
		e.lastUsed.Store(last)
		e.persisted = last
		if d.ok() && !e.scopes.valid() {
			return nil, fmt.Errorf("%w: token record scopes %#x", store.ErrCorrupt, byte(e.scopes))
		}
	default:
		return nil, fmt.Errorf("%w: token record version %d", store.ErrCorrupt, ver)
	}
	if !d.ok() || len(d.b) != 0 {
		return nil, fmt.Errorf("%w: token record of %d bytes", store.ErrCorrupt, len(v))
	}
	return e, nil
}

// A user record, the value under the user's name, is
//
//	version 1 (1 byte) | role (1 byte: 0 viewer, 1 admin) | created (varint unix ms) | bcrypt hash
func encodeUser(role string, hash []byte, created time.Time) []byte {
	r := byte(0)
	if role == RoleAdmin {
		r = 1
	}
	b := []byte{userRecordV1, r}
	b = binary.AppendVarint(b, created.UnixMilli())
	return append(b, hash...)
}

// minBcryptHash is the length of every bcrypt hash.
const minBcryptHash = 59

func decodeUser(v []byte) (role string, hash []byte, created time.Time, err error) {
	if v == nil {
		return "", nil, time.Time{}, ErrUserNotFound
	}
	d := decoder{b: v}
	ver, r := d.byte(), d.byte()
	ms := d.varint()
	if !d.ok() || ver != userRecordV1 || r > 1 || len(d.b) < minBcryptHash {
		return "", nil, time.Time{}, fmt.Errorf("%w: user record", store.ErrCorrupt)
	}
	role = RoleViewer
	if r == 1 {
		role = RoleAdmin
	}
	return role, d.b, time.UnixMilli(ms).UTC(), nil
}

// decoder reads a record; the first short read sticks and later reads return zero.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) ok() bool { return !d.bad }

func (d *decoder) bytes(n int) []byte {
	if d.bad || len(d.b) < n {
		d.bad = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if b := d.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}
