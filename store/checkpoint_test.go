package store

import (
	"path/filepath"
	"testing"
)

// abandon closes the file the way a crash would: no final flush.
func abandon(t *testing.T, db *DB) {
	t.Helper()
	db.closeOnce.Do(func() {
		db.closed.Store(true)
		close(db.done)
		db.wg.Wait()
		db.closeErr = db.bolt.Close()
	})
}

func TestCheckpointBoundsWALAndSurvivesCrash(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "cp.db")
	db := openTest(t, path, clk, func(o *Options) { o.CheckpointBytes = 4096 })
	t0 := baseTime.UnixMilli() - 3600_000
	const n = 2000 // over four chunks per series
	maxWAL := int64(0)
	for i := range n {
		for s := range 5 {
			mustAppend(t, db, lbl("cp", "s", string(rune('a'+s))), t0+int64(i)*1000, float64(i*s))
		}
		if i%10 == 9 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
			maxWAL = max(maxWAL, db.Stats().WALBytes)
		}
	}
	// One flush past the threshold checkpoints, so the WAL never holds much more than it.
	if maxWAL > 4096+2048 {
		t.Fatalf("WAL reached %d bytes with a 4096-byte checkpoint threshold", maxWAL)
	}
	abandon(t, db)
	db2 := openTest(t, path, clk, nil)
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
	got := selectRaw(t, db2, eq(MetricName, "cp"))
	if len(got) != 5 {
		t.Fatalf("%d series after crash, want 5", len(got))
	}
	for si, sr := range got {
		if len(sr.Samples) != n {
			t.Fatalf("%s: %d samples after crash, want %d", sr.Labels, len(sr.Samples), n)
		}
		for i, smp := range sr.Samples {
			if smp.T != t0+int64(i)*1000 || smp.V != float64(i*si) {
				t.Fatalf("%s sample %d = %+v", sr.Labels, i, smp)
			}
		}
	}
	// Appending goes on from the restored chunk.
	mustAppend(t, db2, lbl("cp", "s", "a"), t0+n*1000, 1)
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	db3 := openTest(t, path, clk, nil)
	ds, err := db3.DiskStats()
	if err != nil {
		t.Fatal(err)
	}
	if ds.WALRecords != 0 {
		t.Fatalf("%d WAL records after a clean close, want 0", ds.WALRecords)
	}
	got = selectRaw(t, db3, eq("s", "a"))
	if len(got[0].Samples) != n+1 || got[0].Samples[n] != (Sample{t0 + n*1000, 1}) {
		t.Fatalf("after reopen: %d samples, last %+v; want %d, last t=%d v=1", len(got[0].Samples), got[0].Samples[len(got[0].Samples)-1], n+1, t0+n*1000)
	}
}
