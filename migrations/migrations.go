// Package migrations holds the on-disk schema versions of the AtroZ data file
// and the steps between them. The meta bucket records the version; Upgrade
// brings an older file to Current one step per transaction and refuses a file
// written by a newer AtroZ.
package migrations

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Current is the schema version this build writes.
const Current = 7

// Bucket names of the data file.
var (
	BucketMeta       = []byte("meta")
	BucketSeries     = []byte("series")
	BucketChunks     = []byte("chunks")
	BucketWAL        = []byte("wal")
	BucketRollup1m   = []byte("rollup_1m")
	BucketRollup1h   = []byte("rollup_1h")
	BucketRollupHead = []byte("rollup_head")
	BucketAlerts     = []byte("alerts")
	BucketUsers      = []byte("users")
	BucketTokens     = []byte("tokens")
	BucketHeads      = []byte("heads")
	BucketAlertState = []byte("alert_state")
	BucketSilences   = []byte("silences")
	BucketSLOs       = []byte("slos")
	BucketOutbox     = []byte("outbox")
)

// Keys of the meta bucket.
var (
	KeyVersion = []byte("schema_version")
	KeyCreated = []byte("created")
)

// ErrTooNew is returned when the file's schema version is newer than Current.
var ErrTooNew = errors.New("data file written by a newer version")

// ErrNoVersion is returned when a non-empty file has no schema version, so it is not an AtroZ data file.
var ErrNoVersion = errors.New("no schema version in meta bucket")

// A step upgrades a file from version N-1 to N inside one write transaction.
type step struct {
	version int
	about   string
	apply   func(tx *bolt.Tx) error
}

// steps[i] brings a file to version i+1.
var steps = []step{
	{1, "time-series buckets", createBuckets(BucketMeta, BucketSeries, BucketChunks, BucketWAL, BucketRollup1m, BucketRollup1h, BucketRollupHead)},
	{2, "alert history, users and ingest tokens", createBuckets(BucketAlerts, BucketUsers, BucketTokens)},
	{3, "checkpoints of open chunks", createBuckets(BucketHeads)},
	{4, "alert state and silences", createBuckets(BucketAlertState, BucketSilences)},
	// Version 5 changes no bucket: it marks a file whose chunks and rollup
	// buckets may hold blocks, which a build of version 4 cannot read.
	// The blocks come later, from the background encoder or db compact.
	{5, "blocks: closed chunks and rollup blocks re-encoded", func(*bolt.Tx) error { return nil }},
	{6, "SLOs created in the dashboard", createBuckets(BucketSLOs)},
	{7, "remote-write outbox", createBuckets(BucketOutbox)},
}

// Version reads the schema version of the open file: 0 for an empty file.
func Version(db *bolt.DB) (int, error) {
	v := 0
	err := db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = versionOf(tx)
		return err
	})
	return v, err
}

// Upgrade brings db to Current, one transaction per step, and returns the
// version the file had before. A file newer than Current is refused with ErrTooNew.
func Upgrade(db *bolt.DB) (from int, err error) {
	from, err = Version(db)
	if err != nil {
		return from, err
	}
	if from > Current {
		return from, fmt.Errorf("%w: file has schema version %d, this build reads up to %d", ErrTooNew, from, Current)
	}
	return from, UpgradeTo(db, Current)
}

// UpgradeTo applies the steps from the file's version up to target.
// It exists on its own so tests can write fixture files of older versions.
func UpgradeTo(db *bolt.DB, target int) error {
	for _, s := range steps[:target] {
		if err := db.Update(func(tx *bolt.Tx) error { return applyStep(tx, s) }); err != nil {
			return fmt.Errorf("migrate to schema %d (%s): %w", s.version, s.about, err)
		}
	}
	return nil
}

func applyStep(tx *bolt.Tx, s step) error {
	v, err := versionOf(tx)
	if err != nil || v >= s.version {
		return err
	}
	if err := s.apply(tx); err != nil {
		return err
	}
	return setVersion(tx, s.version)
}

func versionOf(tx *bolt.Tx) (int, error) {
	m := tx.Bucket(BucketMeta)
	if m == nil {
		if empty(tx) {
			return 0, nil
		}
		return 0, ErrNoVersion
	}
	raw := m.Get(KeyVersion)
	if raw == nil {
		return 0, ErrNoVersion
	}
	var v int
	if _, err := fmt.Sscanf(string(raw), "%d", &v); err != nil || v < 1 {
		return 0, fmt.Errorf("schema version %q: %w", raw, ErrNoVersion)
	}
	return v, nil
}

func empty(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k == nil
}

func setVersion(tx *bolt.Tx, v int) error {
	return tx.Bucket(BucketMeta).Put(KeyVersion, fmt.Appendf(nil, "%d", v))
}

func createBuckets(names ...[]byte) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return fmt.Errorf("create bucket %s: %w", n, err)
			}
		}
		return nil
	}
}
