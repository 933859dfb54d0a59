package web

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"atroz/collector"
	"atroz/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTestServer returns a Server over a fresh store in a temporary directory,
// and the buffer its JSON log goes to.
func newTestServer(t testing.TB) (*Server, *syncBuffer) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	col := collector.New(db, &collector.Options{DataDir: t.TempDir()})
	return New(Config{Version: "v1.2.3", Development: true, MetricsOnMain: true}, db, col, log), &logs
}
