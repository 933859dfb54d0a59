package store

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"atroz/internal/tmpfs"
)

// volumeSize is the size of the tmpfs the disk-full tests fill.
const volumeSize = 4 << 20

// fillVolume writes a ballast file in dir until the volume of size bytes
// is full and returns its path.
func fillVolume(t *testing.T, dir string, size int) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	if err := os.WriteFile(path, make([]byte, size), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("fill %s: %v, want ENOSPC", dir, err)
	}
	return path
}

// TestDiskFullTmpfs fills the store's volume for real: the flush fails and
// rolls back, appends are refused, reads and the file stay sound, and once
// space returns the next flush writes everything accepted.
func TestDiskFullTmpfs(t *testing.T) {
	dir := tmpfs.Mount(t, volumeSize)
	path := filepath.Join(dir, "atroz.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	now := baseTime.UnixMilli()
	appendSeries(t, db, "before", 100, now)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	ballast := fillVolume(t, dir, volumeSize)
	appendSeries(t, db, "during", 2000, now) // accepted: memory only
	err := db.Flush()
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("flush on a full volume = %v, want ErrDiskFull wrapping ENOSPC", err)
	}
	if err := db.Append(lbl("refused"), now, 1); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("append while full = %v, want ErrDiskFull", err)
	}
	wantSeries(t, db, "before", 100)
	wantSeries(t, db, "during", 2000)
	if err := db.Check(); err != nil {
		t.Fatalf("check after the failed commit: %v", err)
	}
	if err := db.Flush(); !errors.Is(err, ErrDiskFull) || db.Stats().FlushErrors != 2 {
		t.Fatalf("retry while still full = %v after %d failed flushes, want ErrDiskFull after 2", err, db.Stats().FlushErrors)
	}
	clk.t = baseTime.Add(time.Minute)
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatalf("flush once space is back: %v", err)
	}
	if st := db.Stats(); st.DiskFull || st.DiskFullDuration != time.Minute {
		t.Fatalf("after recovery: full %v, lasted %v; want false, 1m", st.DiskFull, st.DiskFullDuration)
	}
	appendSeries(t, db, "after", 1, clk.t.UnixMilli())
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openTest(t, path, clk, nil)
	wantSeries(t, db, "before", 100)
	wantSeries(t, db, "during", 2000)
	wantSeries(t, db, "after", 1)
	wantSeries(t, db, "refused", 0)
	if err := db.Check(); err != nil {
		t.Fatalf("check after reopening: %v", err)
	}
}

// TestCloseOnFullVolume shows what a full volume costs at Close: the
// samples since the last flush, said in the error; the file stays sound.
func TestCloseOnFullVolume(t *testing.T) {
	dir := tmpfs.Mount(t, volumeSize)
	path := filepath.Join(dir, "atroz.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	appendSeries(t, db, "before", 100, baseTime.UnixMilli())
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	fillVolume(t, dir, volumeSize)
	appendSeries(t, db, "during", 2000, baseTime.UnixMilli())
	if err := db.Close(); !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "are lost") {
		t.Fatalf("close on a full volume = %v, want ErrDiskFull saying what is lost", err)
	}
	db = openTest(t, path, clk, nil)
	wantSeries(t, db, "before", 100)
	if err := db.Check(); err != nil {
		t.Fatalf("check after reopening: %v", err)
	}
}

// appendSeries appends one sample at ts to each of n series named name.
func appendSeries(t *testing.T, db *DB, name string, n int, ts int64) {
	t.Helper()
	for i := range n {
		mustAppend(t, db, lbl(name, "instance", "host-"+strconv.Itoa(i)+".example.com:9100", "job", "node"), ts, float64(i))
	}
}

// wantSeries checks that name has n series of one sample each.
func wantSeries(t *testing.T, db *DB, name string, n int) {
	t.Helper()
	got := selectRaw(t, db, eq(MetricName, name))
	samples := 0
	for _, s := range got {
		samples += len(s.Samples)
	}
	if len(got) != n || samples != n {
		t.Errorf("%s: %d series, %d samples; want %d of each", name, len(got), samples, n)
	}
}
