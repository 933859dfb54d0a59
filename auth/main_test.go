package auth

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"atroz/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// baseTime is the tests' fixed "now".
var baseTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable clock safe for concurrent reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// openStore opens the store at path; the test closes it.
func openStore(t testing.TB, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path, &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openTest opens a Service over a fresh store with clk, writing last use
// only on Close; the test closes both.
func openTest(t testing.TB, clk *clock) (*Service, *store.DB) {
	t.Helper()
	db := openStore(t, filepath.Join(t.TempDir(), "a.db"))
	return openService(t, db, clk), db
}

func openService(t testing.TB, db *store.DB, clk *clock) *Service {
	t.Helper()
	s, err := Open(db, &Options{Now: clk.now, LastUsedInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
