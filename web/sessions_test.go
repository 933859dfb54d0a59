package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"

	gjwt "github.com/golang-jwt/jwt/v4"
	"github.com/gorilla/websocket"
)

// restart closes is's server, users and store, as a stopping process
// does, and serves the same file again with a new server.
func restart(t *testing.T, is *ingestServer, dir string) *Server {
	t.Helper()
	_ = is.s.Close()
	if err := is.s.access.Close(); err != nil {
		t.Fatal(err)
	}
	if err := is.db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	col := collector.New(db, &collector.Options{DataDir: t.TempDir()})
	s, err := New(Config{Development: true, Auth: testAuth}, testDeps(t, db, col, nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// asLogin sends a request with the login token tok to s.
func asLogin(s *Server, tok, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	return serveRec(s, req)
}

// TestSessionsEndAcrossRestart reproduces the tokens that outlived their
// user: a removed admin's login, and a logged-out one, still read,
// refreshed and minted an ingest token after a restart. Both are refused
// on every route, and the refused mint stores nothing; a login neither
// concerns keeps working.
func TestSessionsEndAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	is := newIngestServerIn(t, dir, Config{Development: true})
	removed := login(t, is.s, "root", auth.RoleAdmin)
	loggedOut := login(t, is.s, "ops", auth.RoleAdmin)
	if w := asLogin(is.s, removed, "POST", "/api/v1/admin/tokens", `{"name":"before","scopes":["ingest"]}`); w.Code != http.StatusCreated {
		t.Fatalf("the admin's token before removal: %d %s", w.Code, w.Body)
	}
	if err := is.s.access.RemoveUser("root"); err != nil {
		t.Fatal(err)
	}
	if w := asLogin(is.s, loggedOut, "POST", "/api/v1/auth/logout", ""); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	s := restart(t, is, dir)
	for _, c := range []struct{ name, tok, why string }{{"removed", removed, `user \"root\" no longer exists`}, {"logged out", loggedOut, "revoked by logout"}} {
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/api/v1/labels", ""},
			{"POST", "/api/v1/auth/refresh", ""},
			{"POST", "/api/v1/admin/tokens", `{"name":"after","scopes":["ingest"]}`},
		} {
			if w := asLogin(s, c.tok, r.method, r.path, r.body); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), c.why) {
				t.Errorf("%s token on %s %s after a restart: %d %s", c.name, r.method, r.path, w.Code, w.Body)
			}
		}
	}
	for _, tok := range s.access.Tokens() {
		if tok.Name == "after" {
			t.Error("a refused token minted an ingest token")
		}
	}
	if w := asLogin(s, is.session, "GET", "/api/v1/labels", ""); w.Code != http.StatusOK {
		t.Errorf("a live login after the restart: %d %s", w.Code, w.Body)
	}
}

// TestSessionsEndOnChange reproduces the demoted admin who kept admin
// rights and the password change that ended no session: both end the
// user's sessions at once, and a new login has the stored role, whatever
// role a token claims.
func TestSessionsEndOnChange(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	admin := login(t, is.s, "ana", auth.RoleAdmin)
	if w := asLogin(is.s, admin, "GET", "/api/v1/admin/tokens", ""); w.Code != http.StatusOK {
		t.Fatalf("admin route as admin: %d %s", w.Code, w.Body)
	}
	if err := is.s.access.SetRole("ana", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/admin/tokens", "/api/v1/labels"} {
		if w := asLogin(is.s, admin, "GET", path, ""); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "changed since the login") {
			t.Errorf("demoted admin's token on %s: %d %s", path, w.Code, w.Body)
		}
	}
	w := asLogin(is.s, "", "POST", "/api/v1/auth/login", `{"username":"ana","password":"a test password"}`)
	viewer := tokenOf(t, w.Body.String())
	if w := asLogin(is.s, viewer, "GET", "/api/v1/admin/tokens", ""); w.Code != http.StatusForbidden {
		t.Errorf("admin route after demotion and a new login: %d %s", w.Code, w.Body)
	}
	claimsAdmin := forge(t, gjwt.SigningMethodHS256, testAuth.Secret, with(userClaims(t, is.s, "ana", time.Now()), "role", auth.RoleAdmin))
	if w := asLogin(is.s, claimsAdmin, "GET", "/api/v1/admin/tokens", ""); w.Code != http.StatusForbidden {
		t.Errorf("a viewer's token claiming admin on an admin route: %d %s", w.Code, w.Body)
	}

	if err := is.s.access.SetPassword("ana", "a new test password"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/labels"}, {"POST", "/api/v1/auth/refresh"}} {
		if w := asLogin(is.s, viewer, r.method, r.path, ""); w.Code != http.StatusUnauthorized {
			t.Errorf("token after a password change on %s: %d %s", r.path, w.Code, w.Body)
		}
	}
	w = asLogin(is.s, "", "POST", "/api/v1/auth/login", `{"username":"ana","password":"a new test password"}`)
	if w := asLogin(is.s, tokenOf(t, w.Body.String()), "GET", "/api/v1/labels", ""); w.Code != http.StatusOK {
		t.Errorf("a login with the new password: %d %s", w.Code, w.Body)
	}
}

// TestWebSocketsOfEndedSessionsClose opens a WebSocket per login; removing
// one user and logging the other out closes each one's socket with 1008
// "session ended", and only that one.
func TestWebSocketsOfEndedSessionsClose(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	dial := func(tok string) *wsClient {
		t.Helper()
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ls.url, "http")+"/ws", http.Header{"Authorization": {"Bearer " + tok}})
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		c := startWSClient(t, conn)
		c.subscribe(t, `{"subscribe":["alerts"]}`, `{"subscribed":["alerts"]}`)
		return c
	}
	root, ops := login(t, ls.s, "root", auth.RoleAdmin), login(t, ls.s, "ops", auth.RoleViewer)
	rootWS, opsWS, viewerWS := dial(root), dial(ops), dial(ls.session)
	ended := func(c *wsClient, what string) {
		t.Helper()
		var ce *websocket.CloseError
		if err := c.ended(t); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "session ended" {
			t.Errorf("%s: socket read %v, want close 1008 session ended", what, err)
		}
	}
	if err := ls.s.access.RemoveUser("root"); err != nil {
		t.Fatal(err)
	}
	ended(rootWS, "removed user")
	if w := asLogin(ls.s, ops, "POST", "/api/v1/auth/logout", ""); w.Code != http.StatusOK {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	ended(opsWS, "logout")
	viewerWS.subscribe(t, `{"subscribe":["points"]}`, `{"subscribed":["alerts","points"]}`)
}
