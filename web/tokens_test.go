package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atroz/store"
)

// TestTokenAPI creates, uses, lists and revokes an ingest token while the
// server runs, and checks each refusal: its status, the field it names,
// and that it changed nothing.
func TestTokenAPI(t *testing.T) {
	s, logs := newTestServer(t)
	h := s.Handler()
	admin := login(t, h, s.db, "root", store.RoleAdmin)
	viewer := login(t, h, s.db, "watcher", store.RoleViewer)
	do := func(method, path, body, token string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, w.Body.String()
	}

	code, body := do("POST", "/api/v1/admin/tokens", `{"name":"billing"}`, admin)
	var created struct {
		Data tokenInfo `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &created); code != http.StatusCreated || err != nil || !strings.HasPrefix(created.Data.Token, "atz_") {
		t.Fatalf("create = %d %s", code, body)
	}
	if name, ok := s.db.VerifyToken(created.Data.Token); !ok || name != "billing" {
		t.Errorf("the new secret verifies as %q, %v", name, ok)
	}
	if code, body := do("POST", "/api/v1/ingest/requests", `[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":1}]`, created.Data.Token); code != http.StatusOK {
		t.Errorf("ingest with the new token = %d %s", code, body)
	}
	if !strings.Contains(logs.String(), `"kind":"token_created","token":"billing","user":"root"`) {
		t.Errorf("no audit line for the creation:\n%s", logs.String())
	}

	refusals := []struct {
		name, method, path, body, token string
		code                            int
		want                            string
	}{
		{"viewer", "POST", "/api/v1/admin/tokens", `{"name":"x"}`, viewer, http.StatusForbidden, ""},
		{"no login", "POST", "/api/v1/admin/tokens", `{"name":"x"}`, "", http.StatusUnauthorized, ""},
		{"taken name", "POST", "/api/v1/admin/tokens", `{"name":"billing"}`, admin, http.StatusConflict, `name: a token named \"billing\" exists`},
		{"bad name", "POST", "/api/v1/admin/tokens", `{"name":"no spaces"}`, admin, http.StatusBadRequest, "name: create token"},
		{"empty name", "POST", "/api/v1/admin/tokens", `{}`, admin, http.StatusBadRequest, "name: create token"},
		{"unknown field", "POST", "/api/v1/admin/tokens", `{"name":"x","role":"admin"}`, admin, http.StatusBadRequest, `body: json: unknown field \"role\"`},
		{"not JSON", "POST", "/api/v1/admin/tokens", `name=x`, admin, http.StatusBadRequest, "body:"},
		{"too large", "POST", "/api/v1/admin/tokens", `{"name":"` + strings.Repeat("a", 5000) + `"}`, admin, http.StatusRequestEntityTooLarge, ""},
		{"revoke unknown", "DELETE", "/api/v1/admin/tokens/nobody", "", admin, http.StatusNotFound, `name: no token named \"nobody\"`},
		{"viewer revokes", "DELETE", "/api/v1/admin/tokens/billing", "", viewer, http.StatusForbidden, ""},
	}
	for _, tt := range refusals {
		if code, body := do(tt.method, tt.path, tt.body, tt.token); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	if tokens, _ := s.db.ListTokens(); len(tokens) != 1 {
		t.Errorf("the refusals changed the tokens: %v", tokens)
	}

	code, body = do("GET", "/api/v1/admin/tokens", "", admin)
	if code != http.StatusOK || !strings.Contains(body, `"name":"billing","created":`) || strings.Contains(body, "atz_") {
		t.Errorf("list = %d %s, want the name and time, never a secret", code, body)
	}
	if code, body := do("DELETE", "/api/v1/admin/tokens/billing", "", admin); code != http.StatusOK {
		t.Fatalf("revoke = %d %s", code, body)
	}
	if _, ok := s.db.VerifyToken(created.Data.Token); ok {
		t.Error("a revoked secret still verifies")
	}
	if code, _ := do("POST", "/api/v1/ingest/requests", `[]`, created.Data.Token); code != http.StatusUnauthorized {
		t.Errorf("ingest with the revoked token = %d, want 401", code)
	}
}
