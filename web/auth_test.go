package web

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/auth"

	"github.com/gin-gonic/gin"
	gjwt "github.com/golang-jwt/jwt/v4"
)

// forge signs claims with key, as an attacker who holds key could.
func forge(t *testing.T, method gjwt.SigningMethod, key any, claims gjwt.MapClaims) string {
	t.Helper()
	s, err := gjwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validClaims are the claims of a login of the user tester on s, which
// newIngestServer makes.
func validClaims(t *testing.T, s *Server, now time.Time) gjwt.MapClaims {
	t.Helper()
	return userClaims(t, s, "tester", now)
}

// userClaims are the claims of a login of the stored user name on s.
func userClaims(t *testing.T, s *Server, name string, now time.Time) gjwt.MapClaims {
	t.Helper()
	users, _ := s.access.Users()
	for _, u := range users {
		if u.Name == name {
			return gjwt.MapClaims{"sub": name, "role": u.Role, "sgen": strconv.FormatUint(u.Session, 10), "iss": "atroz", "aud": "atroz", "jti": "x1",
				"auth_time": now.Unix(), "orig_iat": now.Unix(), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		}
	}
	t.Fatalf("no user %q", name)
	return nil
}

func without(c gjwt.MapClaims, k string) gjwt.MapClaims {
	out := with(c, k, nil)
	delete(out, k)
	return out
}

func with(c gjwt.MapClaims, k string, v any) gjwt.MapClaims {
	out := gjwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// TestTokenAttacks presents forged, expired, revoked and oversized tokens
// to a protected route and the refresh route: each gets 401, and nothing
// the admin route would change does.
func TestTokenAttacks(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	now := time.Now()
	secret := testAuth.Secret
	good := forge(t, gjwt.SigningMethodHS256, secret, validClaims(t, is.s, now))
	if w := is.do("GET", "/api/v1/labels", "", "Authorization", "Bearer "+good); w.Code != http.StatusOK {
		t.Fatalf("a well-formed token is refused: %d %s", w.Code, w.Body)
	}
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + strings.TrimRight(encodeSeg(`{"sub":"tester","role":"admin","iss":"atroz","aud":"atroz","exp":9999999999,"auth_time":`+itoa64(now.Unix())+`}`), "=") + "." + parts[2]
	none := encodeSeg(`{"alg":"none","typ":"JWT"}`) + "." + strings.Split(good, ".")[1] + "."
	cases := map[string]string{
		"alg none":         none,
		"expired":          forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "exp", now.Add(-time.Minute).Unix())),
		"not yet valid":    forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "nbf", now.Add(time.Hour).Unix())),
		"wrong issuer":     forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "iss", "evil")),
		"wrong audience":   forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "aud", "grafana")),
		"other key":        forge(t, gjwt.SigningMethodHS256, []byte("another-secret-of-at-least-32-bytes"), validClaims(t, is.s, now)),
		"tampered payload": tampered,
		"login too old":    forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "auth_time", now.Add(-25*time.Hour).Unix())),
		"no session":       forge(t, gjwt.SigningMethodHS256, secret, without(validClaims(t, is.s, now), "sgen")),
		"other session":    forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "sgen", "12345")),
		"numeric session":  forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "sgen", 0)),
		"unknown user":     forge(t, gjwt.SigningMethodHS256, secret, with(validClaims(t, is.s, now), "sub", "nobody")),
		"megabyte of dots": strings.Repeat(".", 1<<20),
	}
	for name, tok := range cases {
		for _, path := range []string{"/api/v1/labels", "/api/v1/auth/refresh"} {
			method := map[string]string{"/api/v1/labels": "GET", "/api/v1/auth/refresh": "POST"}[path]
			start := time.Now()
			w := is.do(method, path, "", "Authorization", "Bearer "+tok)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"errorType":"unauthorized"`) {
				t.Errorf("%s on %s: %d %s", name, path, w.Code, w.Body)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("%s on %s took %s", name, path, took)
			}
		}
		w := is.do("POST", "/api/v1/silences", `{"matchers":[{"name":"a","value":"b"}],"endsAt":"2099-01-01T00:00:00Z"}`, "Authorization", "Bearer "+tok, "Content-Type", "application/json")
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s could post a silence: %d", name, w.Code)
		}
	}
}

func encodeSeg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func itoa64(i int64) string { return strconv.FormatInt(i, 10) }

func httptestRequest(method, path string) *http.Request {
	return httptest.NewRequest(method, path, nil)
}

func serveRec(s *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func TestLoginLogoutRefresh(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	if err := is.s.access.AddUser("vera", auth.RoleViewer, "viewer password"); err != nil {
		t.Fatal(err)
	}
	w := is.do("POST", "/api/v1/auth/login", `{"username":"vera","password":"viewer password"}`, "Authorization", "", "Content-Type", "application/json")
	ck := w.Header().Get("Set-Cookie")
	if w.Code != 200 || !strings.Contains(ck, CookieName+"=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Strict") || strings.Contains(ck, "Secure") {
		t.Fatalf("login: %d, cookie %q", w.Code, ck)
	}
	viewer := tokenOf(t, w.Body.String())
	for _, c := range []struct{ user, pw string }{{"vera", "wrong password"}, {"nobody", "viewer password"}, {"", ""}} {
		if w := is.do("POST", "/api/v1/auth/login", `{"username":"`+c.user+`","password":"`+c.pw+`"}`, "Authorization", "", "Content-Type", "application/json"); w.Code != 401 {
			t.Fatalf("login %q: %d", c.user, w.Code)
		}
	}
	// A viewer reads but may not change or see the security status.
	if w := is.do("GET", "/api/v1/labels", "", "Authorization", "Bearer "+viewer); w.Code != 200 {
		t.Fatalf("viewer read: %d", w.Code)
	}
	if w := is.do("POST", "/api/v1/silences", `{}`, "Authorization", "Bearer "+viewer); w.Code != 403 {
		t.Fatalf("viewer silence: %d", w.Code)
	}
	// The cookie alone logs a browser in.
	req := httptestRequest("GET", "/api/v1/labels")
	req.Header.Set("Cookie", strings.Split(ck, ";")[0])
	if w := serveRec(is.s, req); w.Code != 200 {
		t.Fatalf("cookie session: %d", w.Code)
	}
	// Refresh keeps working; logout revokes the token and its refreshes.
	w = is.do("POST", "/api/v1/auth/refresh", "", "Authorization", "Bearer "+viewer)
	if w.Code != 200 {
		t.Fatalf("refresh: %d %s", w.Code, w.Body)
	}
	refreshed := tokenOf(t, w.Body.String())
	if w := is.do("POST", "/api/v1/auth/logout", "", "Authorization", "Bearer "+viewer); w.Code != 200 {
		t.Fatalf("logout: %d", w.Code)
	}
	for _, tok := range []string{viewer, refreshed} {
		if w := is.do("GET", "/api/v1/labels", "", "Authorization", "Bearer "+tok); w.Code != 401 || !strings.Contains(w.Body.String(), "revoked") {
			t.Fatalf("token after logout: %d %s", w.Code, w.Body)
		}
	}
}

func tokenOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, `"token":"`)
	if i < 0 {
		t.Fatalf("no token in %s", body)
	}
	rest := body[i+9:]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestRS256RefusesHS256WithPublicKey signs an HS256 token with the server's
// RS256 public key as the HMAC secret, the classic algorithm confusion.
func TestRS256RefusesHS256WithPublicKey(t *testing.T) {
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	_ = os.WriteFile(filepath.Join(dir, "k"), priv, 0o600)
	_ = os.WriteFile(filepath.Join(dir, "k.pub"), pub, 0o600)
	is := newIngestServer(t, Config{Development: true})
	a, err := newAuth(AuthConfig{Algorithm: "RS256", PrivKeyFile: filepath.Join(dir, "k"), PubKeyFile: filepath.Join(dir, "k.pub")}, is.s.access, time.Now, func(*gin.Context, string) {})
	if err != nil {
		t.Fatal(err)
	}
	is.s.auth = a
	is.s.engine = is.s.routes()
	now := time.Now()
	good := forge(t, gjwt.SigningMethodRS256, key, validClaims(t, is.s, now))
	if w := is.do("GET", "/api/v1/labels", "", "Authorization", "Bearer "+good); w.Code != 200 {
		t.Fatalf("RS256 token refused: %d %s", w.Code, w.Body)
	}
	evil := forge(t, gjwt.SigningMethodHS256, pub, validClaims(t, is.s, now))
	if w := is.do("GET", "/api/v1/labels", "", "Authorization", "Bearer "+evil); w.Code != 401 {
		t.Fatalf("HS256 signed with the public key: %d", w.Code)
	}
}
