package store

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"path/filepath"
	"slices"
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

// appendWALEntryV1 appends an entry in the layout records had before XOR
// chunks, which Open must still replay.
func appendWALEntryV1(b []byte, id uint64, samples []Sample) []byte {
	b = binary.AppendUvarint(b, id)
	b = binary.AppendUvarint(b, uint64(len(samples)))
	b = binary.AppendVarint(b, samples[0].T)
	b = appendFloat(b, samples[0].V)
	for i, s := range samples[1:] {
		b = binary.AppendUvarint(b, uint64(s.T-samples[i].T))
		b = appendFloat(b, s.V)
	}
	return b
}

// TestWALRecordBeforeXORReplays: a record in the earlier layout, left by an
// older build's crash, is replayed by Open and accepted by Check.
func TestWALRecordBeforeXORReplays(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "wal.db")
	db := openTest(t, path, clk, nil)
	t0 := baseTime.UnixMilli() - hourMs
	mustAppend(t, db, lbl("old"), t0, 1)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	id := db.idx.appendAll(nil)[0].id
	old := []Sample{{t0 + 1000, 2.5}, {t0 + 2000, math.Inf(-1)}, {t0 + 4000, staleNaN}}
	body := appendWALEntryV1(binary.AppendUvarint(nil, 1), id, old)
	rec := binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli))
	if rec[0] == walFormatXOR {
		t.Fatal("an earlier record begins like an XOR one")
	}
	err := db.update(func(tx *bolt.Tx) error { return putWALRecord(tx.Bucket(bWAL), walRecord{seq: db.walSeq, data: rec}) })
	if err != nil {
		t.Fatal(err)
	}
	abandon(t, db)
	db2 := openTest(t, path, clk, nil)
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
	got := selectRaw(t, db2, eq(MetricName, "old"))
	want := append([]Sample{{t0, 1}}, old...)
	if len(got) != 1 || !slices.EqualFunc(got[0].Samples, want, sameSample) {
		t.Fatalf("replayed %+v, want %v", got, want)
	}
}

// TestWALRecordBytes: a record holds each series' samples as an XOR chunk,
// so a second-by-second counter takes under 3 bytes a sample where the
// earlier layout took over 9.
func TestWALRecordBytes(t *testing.T) {
	var w walWriter
	t0 := baseTime.UnixMilli()
	const series, per = 1000, 20
	samples := make([]Sample, per)
	for s := range series {
		for i := range samples {
			samples[i] = Sample{t0 + int64(i)*1000 + int64(s%7), float64(s*1000 + i)}
		}
		w.add(uint64(s+1), samples)
	}
	rec := w.record()
	if perSample := float64(len(rec)) / (series * per); perSample >= 3 {
		t.Fatalf("record of %d bytes: %.2f bytes a sample, want under 3", len(rec), perSample)
	}
	n := 0
	err := decodeWALRecord(rec, func(e walEntry) error {
		n++
		if e.id != uint64(n) || len(e.samples) != per || e.samples[per-1].V != float64((n-1)*1000+per-1) {
			t.Fatalf("entry %d: series %d, %d samples, last %v", n, e.id, len(e.samples), e.samples[len(e.samples)-1])
		}
		return nil
	})
	if err != nil || n != series {
		t.Fatalf("decoded %d of %d entries: %v", n, series, err)
	}
}
