package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealth(t *testing.T) {
	s, _ := newTestServer(t)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/health", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
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
			t.Errorf("store.%s missing in %s", k, w.Body)
		}
	}
}
