package store

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCompactKeepsDataAndShrinks(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "c.db")
	db := openTest(t, path, clk, nil)
	t0 := baseTime.UnixMilli() - 6*hourMs
	for i := range 6 * 3600 {
		for s := range 10 {
			mustAppend(t, db, lbl("m", "s", string(rune('a'+s))), t0+int64(i)*1000, float64(i%97))
		}
		if i%60 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := selectRaw(t, db, eq(MetricName, "m"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(path, &Options{LockTimeout: 1}); err != nil {
		t.Fatal(err)
	}
	before, after, err := Compact(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if after > before {
		t.Fatalf("compaction grew the file: %d -> %d", before, after)
	}
	db2 := openTest(t, path, clk, nil)
	if err := db2.Check(); err != nil {
		t.Fatal(err)
	}
	ds, err := db2.DiskStats()
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range ds.Tiers {
		if ts.Warm.Blocks != 0 {
			t.Errorf("tier %s after compaction: %d warm payloads, want every one encoded", ts.Name, ts.Warm.Blocks)
		}
	}
	got := selectRaw(t, db2, eq(MetricName, "m"))
	if len(got) != len(want) {
		t.Fatalf("%d series after compaction, want %d", len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i].Samples, want[i].Samples) {
			t.Fatalf("series %s changed by compaction", want[i].Labels)
		}
	}
}

func TestCompactOpenFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	openTest(t, path, &testClock{baseTime}, nil)
	if _, _, err := Compact(path, &Options{LockTimeout: 50 * time.Millisecond}); err == nil {
		t.Fatal("compacting a file open elsewhere: no error")
	}
}
