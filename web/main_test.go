package web

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"atroz/auth"
	"atroz/collector"
	"atroz/query"
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
	s, err := New(Config{Version: "v1.2.3", Development: true, MetricsOnMain: true, Auth: testAuth}, testDeps(t, db, col, nil), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, &logs
}

// testAuth signs test tokens.
var testAuth = AuthConfig{Secret: []byte("test-secret-of-at-least-32-bytes!!")}

// testDeps builds what a Server serves over db and col, as main does:
// the auth service (with o), closed when the test ends, and the query
// engine, whose cache reports to col.
func testDeps(t testing.TB, db *store.DB, col *collector.Collector, o *auth.Options) Deps {
	t.Helper()
	users, err := auth.Open(db, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := users.Close(); err != nil {
			t.Errorf("close auth: %v", err)
		}
	})
	q := query.New(db, &query.Options{CacheResult: func(hit bool) { col.CacheResult("query", hit) }})
	return Deps{Store: db, Collector: col, Auth: users, Query: q}
}

// login creates a user of role on s and returns a token from the login route.
func login(t testing.TB, s *Server, name, role string) string {
	t.Helper()
	if err := s.access.AddUser(name, role, "a test password"); err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"`+name+`","password":"a test password"}`))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var body struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Data.Token == "" {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return body.Data.Token
}
