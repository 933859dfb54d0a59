package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/auth"
)

// TestTokenAPI creates, uses, lists and revokes an ingest token while the
// server runs, and checks each refusal: its status, the field it names,
// and that it changed nothing.
func TestTokenAPI(t *testing.T) {
	s, logs := newTestServer(t)
	h := s.Handler()
	admin := login(t, s, "root", auth.RoleAdmin)
	viewer := login(t, s, "watcher", auth.RoleViewer)
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
	if tok, err := s.access.VerifyToken(created.Data.Token); err != nil || tok.Name != "billing" || tok.Scopes != auth.ScopeIngest {
		t.Errorf("the new secret verifies as %+v, %v; want billing, ingest", tok, err)
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
		{"unknown scope", "POST", "/api/v1/admin/tokens", `{"name":"x","scopes":["write"]}`, admin, http.StatusBadRequest, `scopes: invalid scope: \"write\" is not read, ingest or admin`},
		{"no scope", "POST", "/api/v1/admin/tokens", `{"name":"x","scopes":[]}`, admin, http.StatusBadRequest, "scopes: invalid scope: none given"},
		{"scopes not a list", "POST", "/api/v1/admin/tokens", `{"name":"x","scopes":"read"}`, admin, http.StatusBadRequest, "scopes"},
		{"expiry not RFC 3339", "POST", "/api/v1/admin/tokens", `{"name":"x","expires":"90d"}`, admin, http.StatusBadRequest, `expires: \"90d\" is not an RFC 3339 time`},
		{"expiry past", "POST", "/api/v1/admin/tokens", `{"name":"x","expires":"2020-01-01T00:00:00Z"}`, admin, http.StatusBadRequest, "expires: create token"},
		{"revoke unknown", "DELETE", "/api/v1/admin/tokens/nobody", "", admin, http.StatusNotFound, `name: no token named \"nobody\"`},
		{"viewer revokes", "DELETE", "/api/v1/admin/tokens/billing", "", viewer, http.StatusForbidden, ""},
	}
	for _, tt := range refusals {
		if code, body := do(tt.method, tt.path, tt.body, tt.token); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	if tokens := s.access.Tokens(); len(tokens) != 1 {
		t.Errorf("the refusals changed the tokens: %v", tokens)
	}

	code, body = do("GET", "/api/v1/admin/tokens", "", admin)
	if code != http.StatusOK || !strings.Contains(body, `"name":"billing","scopes":["ingest"],"created":`) || !strings.Contains(body, `"expires":null,"last_used":"`) || strings.Contains(body, "atz_") {
		t.Errorf("list = %d %s, want the name, scopes, times and the last use, never a secret", code, body)
	}
	if code, body := do("DELETE", "/api/v1/admin/tokens/billing", "", admin); code != http.StatusOK {
		t.Fatalf("revoke = %d %s", code, body)
	}
	if _, err := s.access.VerifyToken(created.Data.Token); err == nil {
		t.Error("a revoked secret still verifies")
	}
	if code, _ := do("POST", "/api/v1/ingest/requests", `[]`, created.Data.Token); code != http.StatusUnauthorized {
		t.Errorf("ingest with the revoked token = %d, want 401", code)
	}
}

// TestTokenAPIScopesAndExpiry creates a read and admin token expiring at a
// given time and reads it back in the list.
func TestTokenAPIScopesAndExpiry(t *testing.T) {
	s, logs := newTestServer(t)
	admin := login(t, s, "root", auth.RoleAdmin)
	expires := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	req := httptest.NewRequest("POST", "/api/v1/admin/tokens", strings.NewReader(`{"name":"grafana","scopes":["read","admin"],"expires":"`+expires.Format(time.RFC3339)+`"}`))
	req.Header.Set("Authorization", "Bearer "+admin)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var created struct {
		Data tokenInfo `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &created); w.Code != http.StatusCreated || err != nil {
		t.Fatalf("create = %d %s", w.Code, w.Body)
	}
	if d := created.Data; strings.Join(d.Scopes, ",") != "read,admin" || d.Expires == nil || !d.Expires.Equal(expires) || d.LastUsed != nil {
		t.Errorf("created %+v", d)
	}
	tok, err := s.access.VerifyToken(created.Data.Token)
	if err != nil || tok.Scopes != auth.ScopeRead|auth.ScopeAdmin || !tok.Expires.Equal(expires) {
		t.Errorf("stored as %+v, %v", tok, err)
	}
	if !strings.Contains(logs.String(), `"kind":"token_created","token":"grafana","user":"root"`) || !strings.Contains(logs.String(), `"scopes":"read,admin"`) {
		t.Errorf("no audit line naming the scopes:\n%s", logs.String())
	}
}
