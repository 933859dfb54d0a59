package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// RecordKind names a bucket of small records other packages keep in the
// data file, so everything AtroZ knows lives in one file.
type RecordKind int

// The record buckets.
const (
	// RecordAlertState holds each alert's last known state, keyed by its fingerprint.
	RecordAlertState RecordKind = iota
	// RecordSilence holds silences, keyed by ID.
	RecordSilence
	// RecordUser holds dashboard users, keyed by name, in the users bucket
	// that data files have always had.
	RecordUser
	// RecordToken holds API tokens, keyed by name, in the tokens bucket
	// that data files have always had.
	RecordToken
	// RecordSLO holds the SLOs created in the dashboard, keyed by name:
	// each a versioned JSON record (package slo).
	RecordSLO
)

// String names the kind as its bucket is named: users, tokens, ...
func (k RecordKind) String() string { return string(k.bucket()) }

func (k RecordKind) bucket() []byte {
	switch k {
	case RecordSilence:
		return bSilences
	case RecordUser:
		return bUsers
	case RecordToken:
		return bTokens
	case RecordSLO:
		return bSLOs
	}
	return bAlertState
}

// RecordStore keeps the records of users and tokens: the data file (*DB),
// or a store several AtroZ instances share (package state). Its
// revisions let a holder of an in-memory copy see, with one read, that
// another instance changed a kind, and let a writer refuse to overwrite
// a change it has not seen.
type RecordStore interface {
	// Revision returns the kind's revision, which every write of the
	// kind by anyone changes. The data file has a single writer, its
	// own process, and answers 0.
	Revision(kind RecordKind) (uint64, error)
	// Records calls fn with every record of kind, in key order, until fn
	// returns false.
	Records(kind RecordKind, fn func(key string, value []byte) bool) error
	// WriteRecordsAt stores put and removes del at once if the kind's
	// revision is still rev, and returns the revision the write made; it
	// returns ErrRecordConflict, writing nothing, if another writer has
	// changed the kind since.
	WriteRecordsAt(kind RecordKind, rev uint64, put map[string][]byte, del []string) (uint64, error)
	// UpdateRecords replaces those records of put that exist, leaving the
	// rest absent and the revision as it is: for bookkeeping such as a
	// token's last use, which must never bring back a deleted record.
	UpdateRecords(kind RecordKind, put map[string][]byte) error
}

// ErrRecordConflict is returned by WriteRecordsAt when another writer
// changed the records since the revision given.
var ErrRecordConflict = errors.New("records changed by another writer")

// conflictRetries bounds how often RetryConflicts decides a change again.
const conflictRetries = 5

// RetryConflicts runs try until it ends with anything but
// ErrRecordConflict, at most five times. try decides a change from an
// in-memory copy of records and writes it at the copy's revision; when
// that fails with ErrRecordConflict, try has brought the copy up to what
// the other writer left, so the next turn decides again from there.
func RetryConflicts(try func() error) error {
	var err error
	for range conflictRetries {
		if err = try(); !errors.Is(err, ErrRecordConflict) {
			return err
		}
	}
	return err
}

// Revision is 0: the data file's records have one writer, this process.
func (db *DB) Revision(RecordKind) (uint64, error) { return 0, nil }

// WriteRecordsAt is WriteRecords: with one writer there is no conflict,
// and the revision stays 0.
func (db *DB) WriteRecordsAt(kind RecordKind, _ uint64, put map[string][]byte, del []string) (uint64, error) {
	return 0, db.WriteRecords(kind, put, del)
}

// UpdateRecords replaces the records of put that exist, in one transaction.
func (db *DB) UpdateRecords(kind RecordKind, put map[string][]byte) error {
	if len(put) == 0 {
		return nil
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(kind.bucket())
		for k, v := range put {
			if b.Get([]byte(k)) == nil {
				continue
			}
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutRecord stores value under key, replacing what was there, durably.
func (db *DB) PutRecord(kind RecordKind, key string, value []byte) error {
	return db.WriteRecords(kind, map[string][]byte{key: value}, nil)
}

// WriteRecords stores put and removes del in one transaction.
func (db *DB) WriteRecords(kind RecordKind, put map[string][]byte, del []string) error {
	if len(put) == 0 && len(del) == 0 {
		return nil
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(kind.bucket())
		for k, v := range put {
			if err := b.Put([]byte(k), v); err != nil {
				return err
			}
		}
		for _, k := range del {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRecord removes key; a missing key is no error.
func (db *DB) DeleteRecord(kind RecordKind, key string) error {
	return db.WriteRecords(kind, nil, []string{key})
}

// Record returns a copy of the record of kind under key, or nil when there is none.
func (db *DB) Record(kind RecordKind, key string) ([]byte, error) {
	var out []byte
	err := db.view(func(tx *bolt.Tx) error {
		if v := tx.Bucket(kind.bucket()).Get([]byte(key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

// Records calls fn with every record of kind, in key order, until fn returns false.
func (db *DB) Records(kind RecordKind, fn func(key string, value []byte) bool) error {
	return db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(kind.bucket()).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if !fn(string(k), v) {
				return nil
			}
		}
		return nil
	})
}

// Alert history lives in the alerts bucket, keyed by time (unix ms, 8 bytes
// big-endian) and a sequence number (4 bytes), so a time range is a
// cursor walk and events of one millisecond keep their order.

// alertEventKeyLen is an alert event's key: timeKey of its time, then a
// sequence number for events of the same millisecond.
const alertEventKeyLen = 12

// AppendAlertEvents stores alert history events of time t, in order, in one transaction.
func (db *DB) AppendAlertEvents(t time.Time, events [][]byte) error {
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAlerts)
		b.FillPercent = 1 // keys only grow
		for _, e := range events {
			seq, _ := b.NextSequence() // cannot fail in a writable transaction
			key := binary.BigEndian.AppendUint64(make([]byte, 0, alertEventKeyLen), timeKey(t.UnixMilli()))
			key = binary.BigEndian.AppendUint32(key, uint32(seq)) // #nosec G115 -- wraps after 4e9 events, order within one ms only
			if err := b.Put(key, e); err != nil {
				return fmt.Errorf("put alert event: %w", err)
			}
		}
		return nil
	})
}

// AlertEvents calls fn with the events from from to to inclusive, oldest
// first, until fn returns false.
func (db *DB) AlertEvents(from, to time.Time, fn func(t time.Time, event []byte) bool) error {
	return db.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAlerts).Cursor()
		start := binary.BigEndian.AppendUint64(nil, timeKey(from.UnixMilli()))
		for k, v := c.Seek(start); len(k) == alertEventKeyLen; k, v = c.Next() {
			ms := keyTime(binary.BigEndian.Uint64(k))
			if ms > to.UnixMilli() || !fn(time.UnixMilli(ms), v) {
				return nil
			}
		}
		return nil
	})
}

// pruneAlertEvents deletes history older than cutoff (unix ms) in one transaction.
func (db *DB) pruneAlertEvents(cutoff int64) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bAlerts).Cursor()
		for k, _ := c.First(); k != nil && n < db.opts.PruneBatch; k, _ = c.First() {
			if len(k) == alertEventKeyLen && keyTime(binary.BigEndian.Uint64(k)) >= cutoff {
				return nil
			}
			if err := c.Delete(); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// DeleteRecords removes, in one transaction, the records of kind for which
// drop reports true, and returns how many it removed.
func (db *DB) DeleteRecords(kind RecordKind, drop func(key string, value []byte) bool) (int, error) {
	return db.deleteWhere(kind.bucket(), func(k, v []byte) bool { return drop(string(k), v) })
}

// DeleteAlertEvents removes, in one transaction, the alert history events
// for which drop reports true, and returns how many it removed.
func (db *DB) DeleteAlertEvents(drop func(event []byte) bool) (int, error) {
	return db.deleteWhere(bAlerts, func(k, v []byte) bool { return len(k) == alertEventKeyLen && drop(v) })
}

// deleteWhere removes the keys of bucket for which drop reports true. The
// keys are gathered first: deleting under a cursor skips the key after.
func (db *DB) deleteWhere(bucket []byte, drop func(k, v []byte) bool) (int, error) {
	n := 0
	err := db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		var victims [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if drop(k, v) {
				victims = append(victims, slices.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range victims {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(victims)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete records: %w", err)
	}
	return n, nil
}
