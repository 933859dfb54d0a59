package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/auth"
)

// TestUserAPI adds, lists, resets, demotes and removes users while the
// server runs, and checks each refusal: its status, the field it names,
// and that it changed nothing.
func TestUserAPI(t *testing.T) {
	s, logs := newTestServer(t)
	root := login(t, s, "root", auth.RoleAdmin)
	viewer := login(t, s, "watcher", auth.RoleViewer)
	do := func(method, path, body, tok string) (int, string) {
		w := asLogin(s, tok, method, path, body)
		return w.Code, w.Body.String()
	}

	if code, body := do("POST", "/api/v1/admin/users", `{"name":"nina","role":"admin","password":"nina's long password"}`, root); code != http.StatusCreated || !strings.Contains(body, `"name":"nina","role":"admin","created":"`) {
		t.Fatalf("add = %d %s", code, body)
	}
	if _, ok := s.access.VerifyUser("nina", "nina's long password"); !ok {
		t.Error("the added user cannot log in with her password")
	}
	if !strings.Contains(logs.String(), `"kind":"user_added","target_user":"nina","user":"root"`) {
		t.Errorf("no audit line for the addition:\n%s", logs.String())
	}
	code, body := do("GET", "/api/v1/admin/users", "", root)
	if code != http.StatusOK || !strings.Contains(body, `{"name":"nina","role":"admin","created":"`) || strings.Contains(body, "$2a$") || strings.Contains(body, "hash") {
		t.Errorf("list = %d %s, want names, roles and creation, never a hash", code, body)
	}

	refusals := []struct {
		name, method, path, body, token string
		code                            int
		want                            string
	}{
		{"viewer lists", "GET", "/api/v1/admin/users", "", viewer, http.StatusForbidden, ""},
		{"viewer adds", "POST", "/api/v1/admin/users", `{"name":"x","password":"a long password"}`, viewer, http.StatusForbidden, ""},
		{"viewer removes", "DELETE", "/api/v1/admin/users/nina", "", viewer, http.StatusForbidden, ""},
		{"no login", "POST", "/api/v1/admin/users", `{"name":"x","password":"a long password"}`, "", http.StatusUnauthorized, ""},
		{"short password", "POST", "/api/v1/admin/users", `{"name":"x","password":"short"}`, root, http.StatusBadRequest, "password is 5 bytes; it must be at least 12"},
		{"bad name", "POST", "/api/v1/admin/users", `{"name":"no spaces","password":"a long password"}`, root, http.StatusBadRequest, `name \"no spaces\" must be`},
		{"bad role", "POST", "/api/v1/admin/users", `{"name":"x","role":"root","password":"a long password"}`, root, http.StatusBadRequest, `role \"root\" must be viewer or admin`},
		{"taken name", "POST", "/api/v1/admin/users", `{"name":"nina","password":"a long password"}`, root, http.StatusConflict, `name: a user named \"nina\" exists`},
		{"unknown field", "POST", "/api/v1/admin/users", `{"name":"x","password":"a long password","hash":"x"}`, root, http.StatusBadRequest, `body: json: unknown field \"hash\"`},
		{"too large", "POST", "/api/v1/admin/users", `{"name":"` + strings.Repeat("a", 5000) + `"}`, root, http.StatusRequestEntityTooLarge, ""},
		{"remove unknown", "DELETE", "/api/v1/admin/users/nobody", "", root, http.StatusNotFound, `name: no user named \"nobody\"`},
		{"reset unknown", "PUT", "/api/v1/admin/users/nobody/password", `{"password":"a long password"}`, root, http.StatusNotFound, `name: no user named \"nobody\"`},
		{"short reset", "PUT", "/api/v1/admin/users/watcher/password", `{"password":"short"}`, root, http.StatusBadRequest, "password is 5 bytes"},
		{"bad new role", "PUT", "/api/v1/admin/users/watcher/role", `{"role":"owner"}`, root, http.StatusBadRequest, `role \"owner\" must be viewer or admin`},
		{"remove self", "DELETE", "/api/v1/admin/users/root", "", root, http.StatusConflict, `name: \"root\" is your own user`},
		{"demote self", "PUT", "/api/v1/admin/users/root/role", `{"role":"viewer"}`, root, http.StatusConflict, `name: \"root\" is your own user`},
	}
	for _, tt := range refusals {
		if code, body := do(tt.method, tt.path, tt.body, tt.token); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	if users, _ := s.access.Users(); len(users) != 3 || users[0].Name != "nina" || users[0].Role != auth.RoleAdmin || users[2].Role != auth.RoleViewer {
		t.Errorf("the refusals changed the users: %+v", users)
	}

	if code, body := do("PUT", "/api/v1/admin/users/watcher/password", `{"password":"a new long password"}`, root); code != http.StatusNoContent {
		t.Errorf("reset = %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v1/auth/me", "", viewer); code != http.StatusUnauthorized {
		t.Errorf("the reset user's old session = %d, want 401 at once", code)
	}
	if _, ok := s.access.VerifyUser("watcher", "a new long password"); !ok {
		t.Error("the new password does not verify")
	}
	if code, body := do("PUT", "/api/v1/admin/users/nina/role", `{"role":"viewer"}`, root); code != http.StatusNoContent {
		t.Errorf("demote = %d %s", code, body)
	}
	if code, body := do("PUT", "/api/v1/admin/users/nina/role", `{"role":"admin"}`, root); code != http.StatusNoContent {
		t.Errorf("promote = %d %s", code, body)
	}
}

// TestUserAPILastAdmin refuses to leave the server without an admin, even
// when an admin token (not a user) asks, and ends a removed user's
// session at its next request.
func TestUserAPILastAdmin(t *testing.T) {
	s, _ := newTestServer(t)
	root := login(t, s, "root", auth.RoleAdmin)
	secret, err := s.access.CreateToken("ops", auth.ScopeAdmin, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ method, path, body string }{
		{"DELETE", "/api/v1/admin/users/root", ""},
		{"PUT", "/api/v1/admin/users/root/role", `{"role":"viewer"}`},
	} {
		if w := asLogin(s, secret, tt.method, tt.path, tt.body); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `name: \"root\" is the last admin`) {
			t.Errorf("%s %s = %d %s, want 409 naming the last admin", tt.method, tt.path, w.Code, w.Body)
		}
	}
	if w := asLogin(s, root, "GET", "/api/v1/auth/me", ""); w.Code != http.StatusOK {
		t.Fatalf("the refusals ended root's session: %d", w.Code)
	}
	if w := asLogin(s, secret, "POST", "/api/v1/admin/users", `{"name":"second","role":"admin","password":"another long password"}`); w.Code != http.StatusCreated {
		t.Fatalf("add second admin = %d %s", w.Code, w.Body)
	}
	if w := asLogin(s, secret, "DELETE", "/api/v1/admin/users/root", ""); w.Code != http.StatusNoContent {
		t.Fatalf("remove root beside a second admin = %d %s", w.Code, w.Body)
	}
	if w := asLogin(s, root, "GET", "/api/v1/auth/me", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("the removed user's session = %d, want 401 at once", w.Code)
	}
}

// TestUserAPICrossSite refuses a user change a foreign page sends with an
// admin's cookie, and changes nothing.
func TestUserAPICrossSite(t *testing.T) {
	s, _ := newTestServer(t)
	root := login(t, s, "root", auth.RoleAdmin)
	req := httptest.NewRequest("POST", "/api/v1/admin/users", strings.NewReader(`{"name":"mallory","role":"admin","password":"a long password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.AddCookie(&http.Cookie{Name: CookieName, Value: root})
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := serveRec(s, req); w.Code != http.StatusForbidden {
		t.Errorf("cross-site add = %d %s, want 403", w.Code, w.Body)
	}
	if users, _ := s.access.Users(); len(users) != 1 {
		t.Errorf("a refused cross-site request added a user: %+v", users)
	}
}
