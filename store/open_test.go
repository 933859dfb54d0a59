package store

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/migrations"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var updateFixtures = flag.Bool("update", false, "rewrite the files in testdata/")

// v1Sample is the one series the schema-1 fixture holds.
var v1Samples = []Sample{{1_700_000_000_000, 1}, {1_700_000_001_000, 2}, {1_700_000_002_000, 3}}

// writeV1Fixture writes a file as schema 1 left it: the time-series buckets
// and no alert, user or token buckets.
func writeV1Fixture(t *testing.T, path string) {
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	if err := migrations.UpgradeTo(bdb, 1); err != nil {
		t.Fatal(err)
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bSeries).Put(seriesKey(1), appendLabels(nil, lbl("up", "job", "old"))); err != nil {
			return err
		}
		first, last := v1Samples[0].T, v1Samples[len(v1Samples)-1].T
		return tx.Bucket(bChunks).Put(chunkKey(1, first), appendBlockValue(nil, first, last, encodeChunk(v1Samples)))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func writeTooNewFixture(t *testing.T, path string) {
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bdb.Close()
	err = bdb.Update(func(tx *bolt.Tx) error {
		m, err := tx.CreateBucket(migrations.BucketMeta)
		if err != nil {
			return err
		}
		return m.Put(migrations.KeyVersion, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriteFixtures(t *testing.T) {
	if !*updateFixtures {
		t.Skip("run with -update to rewrite testdata/")
	}
	for name, fn := range map[string]func(*testing.T, string){"schema1.db": writeV1Fixture, "schema99.db": writeTooNewFixture} {
		p := filepath.Join("testdata", name)
		_ = os.Remove(p)
		fn(t, p)
	}
}

// copyFixture copies testdata/name into a temp dir and returns its path.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	src, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(t.TempDir(), name)
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, src); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestOpenUpgradesOldSchema(t *testing.T) {
	path := copyFixture(t, "schema1.db")
	clk := &testClock{time.UnixMilli(v1Samples[0].T)}
	db := openTest(t, path, clk, nil)
	if v, err := migrations.Version(db.bolt); err != nil || v != migrations.Current {
		t.Fatalf("version after open = %d, %v; want %d", v, err, migrations.Current)
	}
	sameV1Samples(t, db)
	// The old file's chunks re-encode into blocks, as the background
	// encoder or db compact does it, and read the same.
	if res, err := db.EncodeBlocks(true); err != nil || res.Blocks == 0 {
		t.Fatalf("encoding the old file's chunks: %+v, %v", res, err)
	}
	sameV1Samples(t, db)
	_ = db.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{migrations.BucketAlerts, migrations.BucketUsers, migrations.BucketTokens} {
			if tx.Bucket(b) == nil {
				t.Errorf("bucket %s missing after upgrade", b)
			}
		}
		return nil
	})
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func sameV1Samples(t *testing.T, db *DB) {
	t.Helper()
	got := selectRaw(t, db, eq("job", "old"))
	if len(got) != 1 || len(got[0].Samples) != len(v1Samples) {
		t.Fatalf("data of the old file: %+v", got)
	}
	for i, s := range got[0].Samples {
		if s != v1Samples[i] {
			t.Fatalf("sample %d = %+v, want %+v", i, s, v1Samples[i])
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 3000)), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.db")
	if err := os.WriteFile(short, []byte("tiny"), 0o600); err != nil {
		t.Fatal(err)
	}
	foreign := filepath.Join(dir, "foreign.db")
	bdb, err := bolt.Open(foreign, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = bdb.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
	_ = bdb.Close()

	f := func(path string, want error, mention ...string) {
		t.Helper()
		db, err := Open(path, &Options{FlushInterval: -1, PruneInterval: -1, LockTimeout: 100 * time.Millisecond})
		if err == nil {
			_ = db.Close()
			t.Fatalf("open %s: no error", path)
		}
		if !errors.Is(err, want) {
			t.Fatalf("open %s: %v, want %v", path, err, want)
		}
		for _, m := range mention {
			if !strings.Contains(err.Error(), m) {
				t.Fatalf("open %s: error %q does not mention %q", path, err, m)
			}
		}
	}
	f(garbage, ErrNotStore)
	f(short, ErrNotStore)
	f(foreign, ErrNotStore)
	f(copyFixture(t, "schema99.db"), migrations.ErrTooNew, "99", strconv.Itoa(migrations.Current))
	f(truncatedStore(t, dir), ErrNotStore, "truncated")
}

// truncatedStore writes a store with some data and cuts its file in half.
func truncatedStore(t *testing.T, dir string) string {
	path := filepath.Join(dir, "cut.db")
	clk := &testClock{baseTime}
	db := openTest(t, path, clk, nil)
	for i := range 5000 {
		mustAppend(t, db, lbl("m", "i", string(rune('a'+i%26))), baseTime.UnixMilli()-int64(5000-i)*1000, float64(i))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "l.db")
	db := openTest(t, path, &testClock{baseTime}, nil)
	_ = db
	start := time.Now()
	_, err := Open(path, &Options{LockTimeout: 200 * time.Millisecond, FlushInterval: -1, PruneInterval: -1})
	if !errors.Is(err, berrors.ErrTimeout) || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("second open took %s", waited)
	}
}
