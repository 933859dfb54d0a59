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
	userRecordV2  = 2
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
//	version 2 (1 byte) | role (1 byte: 0 viewer, 1 admin) | created (varint unix ms)
//	| session (uvarint) | revoked sessions (uvarint count, then each: ID length
//	(uvarint), ID, expiry (varint unix s)) | bcrypt hash
//
// Version 1 has neither session nor revocations: its session reads as 0.
func encodeUser(e *userEntry) []byte {
	r := byte(0)
	if e.role == RoleAdmin {
		r = 1
	}
	b := []byte{userRecordV2, r}
	b = binary.AppendVarint(b, e.created.UnixMilli())
	b = binary.AppendUvarint(b, e.session)
	b = binary.AppendUvarint(b, uint64(len(e.revoked)))
	for id, exp := range e.revoked {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendVarint(b, exp)
	}
	return append(b, e.hash...)
}

// minBcryptHash is the length of every bcrypt hash.
const minBcryptHash = 59

// decodeUser decodes a user record; nil is ErrUserNotFound, a malformed one wraps store.ErrCorrupt.
func decodeUser(v []byte) (*userEntry, error) {
	if v == nil {
		return nil, ErrUserNotFound
	}
	d := decoder{b: v}
	ver, r := d.byte(), d.byte()
	e := &userEntry{role: RoleViewer, created: time.UnixMilli(d.varint()).UTC(), revoked: map[string]int64{}}
	if ver == userRecordV2 {
		e.session = d.uvarint()
		n := d.uvarint()
		for i := uint64(0); i < n && d.ok(); i++ {
			id := string(d.bytes(int(min(d.uvarint(), uint64(len(d.b)+1))))) // #nosec G115 -- bounded by the record's length
			e.revoked[id] = d.varint()
		}
	}
	if !d.ok() || (ver != userRecordV1 && ver != userRecordV2) || r > 1 || len(d.b) < minBcryptHash {
		return nil, fmt.Errorf("%w: user record", store.ErrCorrupt)
	}
	if r == 1 {
		e.role = RoleAdmin
	}
	e.hash = d.b
	return e, nil
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

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
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
