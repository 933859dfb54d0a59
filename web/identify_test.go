package web

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"
)

// authClock is a settable clock for the auth service.
type authClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *authClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *authClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newCredentialServer returns a Server whose auth service runs on clk.
func newCredentialServer(t *testing.T, clk *authClock) *Server {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	col := collector.New(db, &collector.Options{DataDir: t.TempDir()})
	s, err := New(Config{Development: true, MetricsOnMain: true, Auth: testAuth}, testDeps(t, db, col, &auth.Options{Now: clk.now}), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func mustToken(t *testing.T, s *Server, name string, scopes auth.Scope, expires time.Time) string {
	t.Helper()
	secret, err := s.access.CreateToken(name, scopes, expires)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// routeClasses are one route of each kind a credential may open.
var routeClasses = []struct {
	name, method, path, body string
}{
	{"read", "GET", "/api/v1/query?query=1", ""},
	{"admin", "GET", "/api/v1/admin/tokens", ""},
	{"ingest", "POST", "/api/v1/ingest/requests", `[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":1}]`},
}

// TestCredentialsByRouteClass sends every form of credential to a read, an
// admin and an ingest route: each is admitted where its role or scopes say,
// refused with 403 naming what it lacks elsewhere, and with 401 and the
// challenges when missing, unknown, revoked or expired.
func TestCredentialsByRouteClass(t *testing.T) {
	clk := &authClock{t: time.Now()}
	s := newCredentialServer(t, clk)
	read := mustToken(t, s, "grafana", auth.ScopeRead, time.Time{})
	admin := mustToken(t, s, "ops", auth.ScopeAdmin, time.Time{})
	ingest := mustToken(t, s, "billing", auth.ScopeIngest, time.Time{})
	both := mustToken(t, s, "pipeline", auth.ScopeRead|auth.ScopeIngest, time.Time{})
	revoked := mustToken(t, s, "gone", auth.ScopeRead, time.Time{})
	expiring := mustToken(t, s, "shortlived", auth.ScopeRead, clk.now().Add(time.Hour))
	if err := s.access.RevokeToken("gone"); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Hour)
	viewerJWT := login(t, s, "vera", auth.RoleViewer)
	adminJWT := login(t, s, "ana", auth.RoleAdmin)

	tests := []struct {
		name   string
		header []string
		codes  [3]int // read, admin, ingest
		want   string // in every refusal
	}{
		{"bearer read token", []string{"Authorization", "Bearer " + read}, [3]int{200, 403, 403}, `API token \"grafana\" has the scopes read; this needs the`},
		{"basic read token", []string{"Authorization", basic("grafana", read)}, [3]int{200, 403, 403}, `API token \"grafana\" has the scopes read`},
		{"basic read token, any user", []string{"Authorization", basic("", read)}, [3]int{200, 403, 403}, "has the scopes read"},
		{"bearer admin token", []string{"Authorization", "Bearer " + admin}, [3]int{200, 200, 403}, "this needs the ingest scope"},
		{"basic admin token", []string{"Authorization", basic("promtool", admin)}, [3]int{200, 200, 403}, "this needs the ingest scope"},
		{"bearer ingest token", []string{"Authorization", "Bearer " + ingest}, [3]int{403, 403, 200}, `API token \"billing\" has the scopes ingest`},
		{"basic ingest token", []string{"Authorization", basic("x", ingest)}, [3]int{403, 403, 200}, "has the scopes ingest"},
		{"read and ingest token", []string{"Authorization", "Bearer " + both}, [3]int{200, 403, 200}, "this needs the admin scope"},
		{"viewer JWT", []string{"Authorization", "Bearer " + viewerJWT}, [3]int{200, 403, 403}, "this needs"},
		{"admin JWT", []string{"Authorization", "Bearer " + adminJWT}, [3]int{200, 200, 403}, "this needs an API token with the ingest scope"},
		{"viewer cookie", []string{"Cookie", CookieName + "=" + viewerJWT}, [3]int{200, 403, 403}, "this needs"},
		{"admin cookie", []string{"Cookie", CookieName + "=" + adminJWT}, [3]int{200, 200, 403}, "ingest scope"},
		{"nothing", nil, [3]int{401, 401, 401}, "is required"},
		{"revoked token", []string{"Authorization", "Bearer " + revoked}, [3]int{401, 401, 401}, "API token unknown or revoked"},
		{"revoked token by basic", []string{"Authorization", basic("grafana", revoked)}, [3]int{401, 401, 401}, "API token unknown or revoked"},
		{"expired token", []string{"Authorization", "Bearer " + expiring}, [3]int{401, 401, 401}, `API token \"shortlived\" expired at `},
		{"basic with a password", []string{"Authorization", basic("ana", "a test password")}, [3]int{401, 401, 401}, "the basic-auth password must be an API token"},
		{"basic not base64", []string{"Authorization", "Basic %%%"}, [3]int{401, 401, 401}, "basic credentials are not base64"},
		{"unknown scheme", []string{"Authorization", "Digest x"}, [3]int{401, 401, 401}, `other schemes are not supported`},
		{"bare token", []string{"Authorization", read}, [3]int{401, 401, 401}, `it holds a bare token: put \"Bearer \" before it`},
		{"bare session token", []string{"Authorization", viewerJWT}, [3]int{401, 401, 401}, `it holds a bare token`},
		{"lower-case bearer token", []string{"Authorization", "bearer " + read}, [3]int{200, 403, 403}, "has the scopes read"},
		{"lower-case bearer JWT", []string{"Authorization", "bearer " + viewerJWT}, [3]int{200, 403, 403}, "this needs"},
		{"lower-case bearer, forged, with a cookie", []string{"Authorization", "bearer a.b.c", "Cookie", CookieName + "=" + adminJWT}, [3]int{401, 401, 401}, `"errorType":"unauthorized"`},
		{"forged JWT", []string{"Authorization", "Bearer a.b.c"}, [3]int{401, 401, 401}, `"errorType":"unauthorized"`},
	}
	for _, tt := range tests {
		for i, rc := range routeClasses {
			req := httptest.NewRequest(rc.method, rc.path, strings.NewReader(rc.body))
			for j := 0; j+1 < len(tt.header); j += 2 {
				req.Header.Set(tt.header[j], tt.header[j+1])
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			if w.Code != tt.codes[i] {
				t.Errorf("%s on the %s route: %d %s, want %d", tt.name, rc.name, w.Code, w.Body, tt.codes[i])
				continue
			}
			if w.Code < 400 {
				continue
			}
			for _, secret := range []string{read, admin, ingest, both, revoked, expiring, viewerJWT, adminJWT} {
				if strings.Contains(w.Body.String(), secret) {
					t.Errorf("%s on the %s route: the refusal quotes a secret: %s", tt.name, rc.name, w.Body)
				}
			}
			if !strings.Contains(w.Body.String(), tt.want) {
				t.Errorf("%s on the %s route: %s, want it to mention %q", tt.name, rc.name, w.Body, tt.want)
			}
			challenges := strings.Join(w.Header().Values("WWW-Authenticate"), "; ")
			if w.Code == 401 && (!strings.Contains(challenges, `Basic realm="atroz"`) || !strings.Contains(challenges, `Bearer realm="atroz"`)) {
				t.Errorf("%s on the %s route: challenges %q, want Basic and Bearer", tt.name, rc.name, challenges)
			}
		}
	}
}

// TestRevocationTakesEffectAtOnce uses a token, revokes it through the
// admin API and finds the very next request refused; the listing shows
// when it was last used.
func TestRevocationTakesEffectAtOnce(t *testing.T) {
	s, _ := newTestServer(t)
	adminJWT := login(t, s, "ana", auth.RoleAdmin)
	read := mustToken(t, s, "grafana", auth.ScopeRead, time.Time{})
	do := func(method, path, credential string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", credential)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w
	}
	if w := do("GET", "/api/v1/labels", basic("grafana", read)); w.Code != http.StatusOK {
		t.Fatalf("read token: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/admin/tokens", "Bearer "+adminJWT); !strings.Contains(w.Body.String(), `"name":"grafana","scopes":["read"]`) || strings.Contains(w.Body.String(), `"last_used":null`) {
		t.Errorf("list after a use: %s", w.Body)
	}
	if w := do("DELETE", "/api/v1/admin/tokens/grafana", "Bearer "+adminJWT); w.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if w := do("GET", "/api/v1/labels", basic("grafana", read)); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "revoked") {
		t.Errorf("after revoke: %d %s", w.Code, w.Body)
	}
}

// TestMeNamesThePrincipal asks /api/v1/auth/me as a user and as a token.
func TestMeNamesThePrincipal(t *testing.T) {
	s, _ := newTestServer(t)
	f := func(credential, want string) {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/auth/me", nil)
		req.Header.Set("Authorization", credential)
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
			t.Errorf("me = %d %s, want %s", w.Code, w.Body, want)
		}
	}
	f("Bearer "+login(t, s, "ana", auth.RoleAdmin), `"data":{"role":"admin","user":"ana"}`)
	f("Bearer "+mustToken(t, s, "grafana", auth.ScopeRead|auth.ScopeAdmin, time.Time{}), `"data":{"scopes":["read","admin"],"token":"grafana"}`)
}

// TestStaleCookieStillLogsIn sends a login over a cookie the server no
// longer accepts: credentials are checked where a route needs them, so
// the login itself succeeds. The dashboard's own scripts get no Basic
// challenge, which would make the browser ask for a password.
func TestStaleCookieStillLogsIn(t *testing.T) {
	s, _ := newTestServer(t)
	if err := s.access.AddUser("ana", auth.RoleViewer, "a test password"); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"ana","password":"a test password"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", CookieName+"=expired.or.forged")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("login over a stale cookie: %d %s", w.Code, w.Body)
	}
	req = httptest.NewRequest("GET", "/api/v1/labels", nil)
	req.Header.Set("Cookie", CookieName+"=expired.or.forged")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if got := w.Header().Values("WWW-Authenticate"); w.Code != http.StatusUnauthorized || len(got) != 1 || !strings.HasPrefix(got[0], "Bearer") {
		t.Errorf("a script's refused read: %d, challenges %q; want 401 with Bearer alone", w.Code, got)
	}
}
