package migrations

import (
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openBolt(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "m.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestUpgradeStepByStep(t *testing.T) {
	db := openBolt(t)
	if v, err := Version(db); v != 0 || err != nil {
		t.Fatalf("empty file: version %d, %v", v, err)
	}
	if err := UpgradeTo(db, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := Version(db); v != 1 {
		t.Fatalf("after step 1: version %d", v)
	}
	from, err := Upgrade(db)
	if err != nil || from != 1 {
		t.Fatalf("upgrade: from %d, %v", from, err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{BucketMeta, BucketSeries, BucketChunks, BucketWAL, BucketRollup1m, BucketRollup1h, BucketRollupHead, BucketAlerts, BucketUsers, BucketTokens, BucketHeads, BucketAlertState, BucketSilences, BucketSLOs, BucketOutbox} {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing", b)
			}
		}
		return nil
	})
	if from, err := Upgrade(db); err != nil || from != Current {
		t.Fatalf("second upgrade: from %d, %v", from, err)
	}
}

func TestUpgradeRefuses(t *testing.T) {
	f := func(name string, fill func(tx *bolt.Tx) error, want error) {
		t.Helper()
		db := openBolt(t)
		if err := db.Update(fill); err != nil {
			t.Fatal(err)
		}
		if _, err := Upgrade(db); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
	}
	meta := func(v string) func(tx *bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			m, err := tx.CreateBucket(BucketMeta)
			if err != nil {
				return err
			}
			return m.Put(KeyVersion, []byte(v))
		}
	}
	f("newer", meta(strconv.Itoa(Current+1)), ErrTooNew)
	f("garbled version", meta("two"), ErrNoVersion)
	f("other application's file", func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err }, ErrNoVersion)
}
