package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"atroz/auth"
)

// TestHealth answers anyone with the status alone, and a logged-in user or
// a read token with the version, uptime and store figures too; an ingest
// token, which may not read, or a refused token gets the status alone.
func TestHealth(t *testing.T) {
	s, _ := newTestServer(t)
	viewer := login(t, s, "viewer", auth.RoleViewer)
	read, err := s.access.CreateToken("grafana", auth.ScopeRead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ingest, err := s.access.CreateToken("beacons", auth.ScopeIngest, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(bearer string) map[string]any {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/health", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Fatalf("decode %s: %v", w.Body, err)
		}
		return body
	}
	for _, bearer := range []string{"", ingest, "atz_not-a-token"} {
		if body := get(bearer); len(body) != 1 || body["status"] != "ok" {
			t.Errorf("credentials %q: /health = %v, want only the status", bearer, body)
		}
	}
	for _, bearer := range []string{viewer, read} {
		body := get(bearer)
		if body["status"] != "ok" || body["version"] != "v1.2.3" {
			t.Errorf("status, version = %v, %v; want ok, v1.2.3", body["status"], body["version"])
		}
		if up, ok := body["uptime_seconds"].(float64); !ok || up < 0 {
			t.Errorf("uptime_seconds = %v", body["uptime_seconds"])
		}
		st, ok := body["store"].(map[string]any)
		if !ok {
			t.Fatalf("store = %v, want an object", body["store"])
		}
		for _, k := range []string{"series", "head_samples", "file_bytes", "wal_bytes", "flushes", "appended", "refused"} {
			if _, ok := st[k]; !ok {
				t.Errorf("store.%s missing in %v", k, body)
			}
		}
	}
}
