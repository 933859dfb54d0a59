package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"
)

// newLimitedServer returns a Server with the rate limits o, whose
// credentials are set by its own identify middleware.
func newLimitedServer(t *testing.T, o RateLimitOptions) *Server {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	col := collector.New(db, &collector.Options{DataDir: t.TempDir()})
	s, err := New(Config{Development: true, Auth: testAuth, RateLimits: o}, testDeps(t, db, col, nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestRateLimitRealCredentials charges requests carrying each form of real
// credential, as identify reads them, to the budget of its principal.
func TestRateLimitRealCredentials(t *testing.T) {
	s := newLimitedServer(t, RateLimitOptions{APIPerMinute: 3, AuthPerMinute: 1000, IngestPerMinute: 4, UserPerMinute: 5, IngestTokenPerMinute: 7})
	h := s.Handler()
	read := mustToken(t, s, "grafana", auth.ScopeRead, time.Time{})
	ingest := mustToken(t, s, "pipeline", auth.ScopeIngest, time.Time{})
	jwt := login(t, s, "ana", auth.RoleViewer)
	const query = "/api/v1/query?query=1"
	send := func(method, path, peer string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		body := ""
		if path == beaconPath {
			body = `{"service":"s","page":"/","fps":[60],"ts":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `}`
			header = append(header, "Origin", "http://example.com", "Content-Type", "text/plain")
		}
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr = peer
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	f := func(name string, n, limit int, method, path string, header ...string) {
		t.Helper()
		for i := range n {
			peer := []string{ipA, ipB}[i%2] // the budget follows the principal, not the address
			if w := send(method, path, peer, header...); w.Code == http.StatusTooManyRequests || w.Header().Get("RateLimit-Limit") != strconv.Itoa(limit) {
				t.Fatalf("%s: request %d: %d, RateLimit-Limit %q, want %d", name, i+1, w.Code, w.Header().Get("RateLimit-Limit"), limit)
			}
		}
		checkLimited(t, send(method, path, ipA, header...), limit)
	}
	f("a user's session token", 5, 5, "GET", query, "Authorization", "Bearer "+jwt)
	f("a read token, by bearer and by basic auth alike", 5, 5, "GET", query, "Authorization", basic("grafana", read))
	checkLimited(t, send("GET", query, ipB, "Authorization", "Bearer "+read), 5)
	f("an ingest token's beacons", 7, 7, "POST", beaconPath, "Authorization", "Bearer "+ingest)

	// Guessed tokens come out of the address's anonymous API budget, on
	// any route: 3 guesses, then 429 before the token is even looked at.
	for i := range 3 {
		if w := send("POST", "/api/v1/ingest/requests", ipA, "Authorization", "Bearer atz_guess"+strconv.Itoa(i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s, want 401", i+1, w.Code, w.Body)
		}
	}
	checkLimited(t, send("POST", beaconPath, ipA, "Authorization", "Bearer atz_guess"), 3)
	checkLimited(t, send("GET", query, ipA), 3)
	// The address's browsers still send beacons on their own budget.
	for i := range 4 {
		if w := send("POST", beaconPath, ipA); w.Code != http.StatusNoContent {
			t.Fatalf("beacon %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	checkLimited(t, send("POST", beaconPath, ipA), 4)
}
