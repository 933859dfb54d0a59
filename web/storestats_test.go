package web

import (
	"encoding/json"
	"net/http"
	"testing"

	"atroz/auth"
)

// TestStoreStats answers an admin the store file's figures, as atroz db
// stats prints them, and refuses a viewer.
func TestStoreStats(t *testing.T) {
	s, _ := newTestServer(t)
	admin := login(t, s, "root", auth.RoleAdmin)
	viewer := login(t, s, "watcher", auth.RoleViewer)
	w := asLogin(s, admin, "GET", "/api/v1/admin/store/stats", "")
	var out struct {
		Data storeStats `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); w.Code != http.StatusOK || err != nil {
		t.Fatalf("admin: %d %s", w.Code, w.Body)
	}
	if out.Data.Path != s.db.Path() || out.Data.FileBytes <= 0 || len(out.Data.Tiers) == 0 {
		t.Errorf("stats = %+v, want the file's path, size and tiers", out.Data)
	}
	if w := asLogin(s, viewer, "GET", "/api/v1/admin/store/stats", ""); w.Code != http.StatusForbidden {
		t.Errorf("viewer: %d, want 403", w.Code)
	}
}
