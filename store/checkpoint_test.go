package store

import (
	"path/filepath"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"
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

// TestCheckpointInParts: past the threshold, a flush checkpoints the open
// chunks of one part of the series, in ID order, and the WAL keeps only the
// records a series not yet reached needs; a checkpoint whose chunk has
// closed is deleted; a crash in the middle of a round loses nothing; Close
// checkpoints every part and leaves no WAL.
func TestCheckpointInParts(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "parts.db")
	db := openTest(t, path, clk, nil)
	const series = 3 * minPartSeries
	t0 := baseTime.UnixMilli() - hourMs
	name := func(s int) Labels { return lbl("parts", "s", strconv.Itoa(s)) }
	appendRound := func(i int) {
		t.Helper()
		for s := range series {
			mustAppend(t, db, name(s), t0+int64(i)*1000, float64(i+s))
		}
		if err := db.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// checkpointed counts the series whose open chunk is in the heads
	// bucket as it is now, and the bucket's keys.
	checkpointed := func(db *DB) (current, keys int) {
		t.Helper()
		for _, s := range db.idx.appendAll(nil) {
			if s.headSaved && s.walSeq == 0 && s.headN > 0 {
				current++
			}
		}
		if err := db.view(func(tx *bolt.Tx) error { keys = tx.Bucket(bHeads).Stats().KeyN; return nil }); err != nil {
			t.Fatal(err)
		}
		return current, keys
	}
	records := func() int {
		t.Helper()
		ds, err := db.DiskStats()
		if err != nil {
			t.Fatal(err)
		}
		return ds.WALRecords
	}
	appendRound(0)
	// A threshold of three and a half records: a round of three parts, of
	// minPartSeries series each.
	db.opts.CheckpointBytes = db.Stats().WALBytes * 7 / 2
	rounds := 1
	for cur, _ := checkpointed(db); cur == 0; cur, _ = checkpointed(db) {
		appendRound(rounds)
		rounds++
	}
	if cur, keys := checkpointed(db); cur != minPartSeries || keys != minPartSeries {
		t.Fatalf("after one part: %d series checkpointed as they are, %d checkpoints; want %d", cur, keys, minPartSeries)
	}
	if n := records(); n != rounds {
		t.Fatalf("WAL holds %d records after %d flushes and a part, want every one", n, rounds)
	}
	walAfterPart := db.Stats().WALBytes
	appendRound(rounds) // the second part: the third's series still need every record
	if n := records(); n != rounds+1 {
		t.Fatalf("WAL holds %d records after two parts, want %d", n, rounds+1)
	}
	appendRound(rounds + 1) // the third part ends the round
	if n := records(); n != 2 {
		t.Fatalf("WAL holds %d records after a round, want 2: from the first part's checkpoint on", n)
	}
	if db.Stats().WALBytes >= walAfterPart/2 {
		t.Fatalf("WAL of %d bytes after a round, %d after its first part: the round freed too little", db.Stats().WALBytes, walAfterPart)
	}
	rounds += 2
	// Close the chunks of the second part's series, while the round begins
	// again with the first part: their checkpoints go.
	for i := rounds; i < maxChunkSamples+1; i++ {
		for s := minPartSeries; s < 2*minPartSeries; s++ {
			mustAppend(t, db, name(s), t0+int64(i)*1000, float64(i+s))
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, keys := checkpointed(db); keys != 2*minPartSeries {
		t.Fatalf("%d checkpoints after %d series' chunks closed, want %d", keys, minPartSeries, 2*minPartSeries)
	}
	appendRound(maxChunkSamples + 1)
	abandon(t, db)

	check := func(db *DB) {
		t.Helper()
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
		got := selectRaw(t, db, eq(MetricName, "parts"))
		if len(got) != series {
			t.Fatalf("%d series, want %d", len(got), series)
		}
		for _, sr := range got {
			s, _ := strconv.Atoi(sr.Labels.Get("s"))
			want := rounds + 1
			if s >= minPartSeries && s < 2*minPartSeries {
				want = maxChunkSamples + 2
			}
			if len(sr.Samples) != want {
				t.Fatalf("%s: %d samples, want %d", sr.Labels, len(sr.Samples), want)
			}
			for j, smp := range sr.Samples {
				i := j
				if j == len(sr.Samples)-1 {
					i = maxChunkSamples + 1
				}
				if smp != (Sample{t0 + int64(i)*1000, float64(i + s)}) {
					t.Fatalf("%s sample %d = %+v", sr.Labels, j, smp)
				}
			}
		}
	}
	db2 := openTest(t, path, clk, nil)
	check(db2)
	if err := db2.Close(); err != nil {
		t.Fatal(err)
	}
	db3 := openTest(t, path, clk, nil)
	ds, err := db3.DiskStats()
	if err != nil || ds.WALRecords != 0 {
		t.Fatalf("%d WAL records after Close (%v), want 0", ds.WALRecords, err)
	}
	if _, keys := checkpointed(db3); keys != series {
		t.Fatalf("%d checkpoints after Close, want one a series: %d", keys, series)
	}
	check(db3)
}

// TestPartSize: a round has as many parts as records of the last flush's
// size fit in the threshold, one to eight, and a part no fewer than
// minPartSeries series.
func TestPartSize(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "parts.db"), &testClock{baseTime}, func(o *Options) { o.CheckpointBytes = 16 << 20 })
	db.stats.headSamples.Store(1 << 30) // the threshold is CheckpointBytes
	f := func(n int, record int64, want int) {
		t.Helper()
		db.lastRecord = record
		if got := db.partSize(n); got != want {
			t.Errorf("partSize(%d) after a record of %d bytes = %d, want %d", n, record, got, want)
		}
	}
	f(100_000, 1<<20, 12_500)   // sixteen records fit: eight parts
	f(100_000, 8<<20, 50_000)   // two records
	f(100_000, 5<<20, 33_334)   // three
	f(100_000, 32<<20, 100_000) // not one: every series at once
	f(100_000, 0, 12_500)
	f(3_000, 1<<20, minPartSeries)
	f(500, 1<<20, minPartSeries)
}
