package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestIsDiskFull(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if got := isDiskFull(err); got != want {
			t.Errorf("isDiskFull(%v) = %v, want %v", err, got, want)
		}
	}
	f(&os.PathError{Op: "write", Path: "/data/atroz.db", Err: syscall.ENOSPC}, true)
	f(fmt.Errorf("flush: %w", &os.PathError{Op: "write", Path: "/data/atroz.db", Err: syscall.EDQUOT}), true)
	f(errors.New("file resize error: no space left on device"), true) // bbolt's grow, formatted with %s
	f(&os.PathError{Op: "write", Path: "/data/atroz.db", Err: syscall.EIO}, false)
	f(errors.New("put series 3: value too large"), false)
}

// TestDiskFullState drives the state the way a flush failing with ENOSPC
// does, and shows that appends are refused and counted, reads go on, and
// the next flush that commits ends it, even with nothing new to write.
func TestDiskFullState(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "full.db")
	db := openTest(t, path, clk, nil)
	var logs bytes.Buffer
	db.SetLogger(slog.New(slog.NewJSONHandler(&logs, nil)))
	now := baseTime.UnixMilli()
	mustAppend(t, db, lbl("kept"), now, 1)
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	enospc := &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
	err := db.flushFailed(enospc)
	want := "data volume full: flush to " + path + " failed: no space left on device; ingestion resumes once space is freed"
	if !errors.Is(err, ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) || err.Error() != want {
		t.Fatalf("flushFailed = %v\nwant %s, wrapping ErrDiskFull and ENOSPC", err, want)
	}
	if again := db.flushFailed(enospc); again != err || db.Writable() != err {
		t.Fatalf("a second failure or Writable gave %v, %v; want the first error", again, db.Writable())
	}
	refused := []error{
		db.Append(lbl("new"), now+1, 1),
		db.AppendStrict(lbl("kept"), now+1, 2),
	}
	_, textErr := db.AppendText([]byte("a 1\nb 2\n"), ImportOptions{})
	for i, err := range append(refused, textErr) {
		if !errors.Is(err, ErrDiskFull) {
			t.Errorf("append %d while full: %v, want ErrDiskFull", i, err)
		}
	}
	st := db.Stats()
	if !st.DiskFull || !st.DiskFullSince.Equal(baseTime) || st.Refused["disk_full"] != 4 || st.FlushErrors != 2 || st.Appended != 1 {
		t.Errorf("stats while full: full %v since %v, refused %d, flush errors %d, appended %d; want true, %v, 4, 2, 1",
			st.DiskFull, st.DiskFullSince, st.Refused["disk_full"], st.FlushErrors, st.Appended, baseTime)
	}
	if db.checkpointDue(true) {
		t.Error("a checkpoint is due while the volume is full")
	}
	if got := selectRaw(t, db, eq(MetricName, "kept")); len(got) != 1 || len(got[0].Samples) != 1 {
		t.Fatalf("read while full: %+v", got)
	}
	clk.t = baseTime.Add(90 * time.Second)
	if err := db.Flush(); err != nil {
		t.Fatalf("flush once space is back: %v", err)
	}
	st = db.Stats()
	if st.DiskFull || !st.DiskFullRecovered.Equal(clk.t) || st.DiskFullDuration != 90*time.Second || st.Flushes != 2 {
		t.Errorf("stats after recovery: full %v, recovered %v after %v, flushes %d; want false, %v after 1m30s, 2 (the empty flush committed)",
			st.DiskFull, st.DiskFullRecovered, st.DiskFullDuration, st.Flushes, clk.t)
	}
	if err := db.Writable(); err != nil {
		t.Fatalf("Writable after recovery: %v", err)
	}
	mustAppend(t, db, lbl("new"), now+1, 1)
	if n := strings.Count(logs.String(), `"level":"WARN"`); n != 1 || !strings.Contains(logs.String(), `"level":"INFO","msg":"data volume has space again`) {
		t.Errorf("want one WARN and one INFO, got:\n%s", logs.String())
	}
}

func TestWritableAfterClose(t *testing.T) {
	db := openTest(t, filepath.Join(t.TempDir(), "c.db"), &testClock{baseTime}, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Writable(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Writable after Close = %v, want ErrClosed", err)
	}
	if _, err := db.AppendText([]byte("a 1\n"), ImportOptions{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("AppendText after Close = %v, want ErrClosed", err)
	}
}
