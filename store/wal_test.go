package store

import (
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestWALRecordsInPieces: a flush's record larger than a page is put in
// pieces no larger than walPieceBytes, so it takes no overflow pages, and a
// crash after it replays every sample from the pieces joined.
func TestWALRecordsInPieces(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "wal.db")
	db := openTest(t, path, clk, nil)
	t0 := baseTime.UnixMilli() - hourMs
	const series, per = 500, 20 // 10,000 samples: about 90 KB of record
	for s := range series {
		for i := range per {
			mustAppend(t, db, lbl("w", "s", strconv.Itoa(s)), t0+int64(i)*1000, float64(s)+math.Pi*float64(i))
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	keys, largest := 0, 0
	err := db.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bWAL).ForEach(func(k, v []byte) error {
			keys++
			largest = max(largest, len(v))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if keys < 10 || largest > walPieceBytes {
		t.Fatalf("WAL holds %d keys, the largest value %d bytes: want a record in pieces of at most %d", keys, largest, walPieceBytes)
	}
	ds, err := db.DiskStats()
	if err != nil || ds.WALRecords != 1 {
		t.Fatalf("disk stats count %d WAL records (%v), want 1", ds.WALRecords, err)
	}
	abandon(t, db)
	db2 := openTest(t, path, clk, nil)
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
	got := selectRaw(t, db2, eq(MetricName, "w"))
	if len(got) != series {
		t.Fatalf("%d series replayed, want %d", len(got), series)
	}
	for _, sr := range got {
		s, _ := strconv.Atoi(sr.Labels.Get("s"))
		if len(sr.Samples) != per || sr.Samples[per-1].V != float64(s)+math.Pi*float64(per-1) {
			t.Fatalf("%s: %d samples replayed, last %v", sr.Labels, len(sr.Samples), sr.Samples[len(sr.Samples)-1])
		}
	}
}

// TestWALPieceOutOfPlace: a piece without its record, or out of order, is
// corruption Open and Check report.
func TestWALPieceOutOfPlace(t *testing.T) {
	f := func(name string, keys ...[]byte) {
		t.Helper()
		db := openTest(t, filepath.Join(t.TempDir(), "wal.db"), &testClock{baseTime}, nil)
		err := db.update(func(tx *bolt.Tx) error {
			for _, k := range keys {
				if err := tx.Bucket(bWAL).Put(k, []byte{0}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.view(func(tx *bolt.Tx) error {
			return eachWALRecord(tx.Bucket(bWAL), func(uint64, []byte) error { return nil })
		})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
	f("piece alone", []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 1})
	f("piece 2 after 0", []byte{0, 0, 0, 0, 0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 2})
	f("key of 9 bytes", []byte{0, 0, 0, 0, 0, 0, 0, 1, 0})
}
