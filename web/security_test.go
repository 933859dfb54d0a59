package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atroz/auth"
)

func TestLoginBruteForceIsLimitedPerIP(t *testing.T) {
	is := newIngestServer(t, Config{Development: true, MetricsOnMain: true})
	login := func(ip, xff string) int {
		req := httptestRequest("POST", "/api/v1/auth/login")
		req.Body = http.NoBody
		req.RemoteAddr = ip + ":4242"
		req.Header.Set("X-Forwarded-For", xff)
		return serveRec(is.s, req).Code
	}
	for i := range 20 {
		if code := login("198.51.100.7", fmt.Sprintf("10.0.0.%d", i)); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	// A rotating forged X-Forwarded-For does not make a new client: no proxy is trusted.
	req := httptestRequest("POST", "/api/v1/auth/login")
	req.RemoteAddr = "198.51.100.7:4242"
	req.Header.Set("X-Forwarded-For", "203.0.113.99")
	w := serveRec(is.s, req)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || w.Header().Get("RateLimit-Limit") != "20" {
		t.Fatalf("21st attempt: %d, headers %v", w.Code, w.Header())
	}
	if code := login("198.51.100.8", ""); code != http.StatusUnauthorized {
		t.Fatalf("another client is limited too: %d", code)
	}
	if m := is.metrics(t); !strings.Contains(m, `security_events_total{kind="rate_limited"} 1`) || !strings.Contains(m, `security_events_total{kind="auth_failure"}`) {
		t.Fatalf("security events not counted:\n%s", grepLines(m, "security_events"))
	}
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestBrowserProtections(t *testing.T) {
	is := newIngestServer(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true})
	// Every response carries the header set, exactly; no HSTS over plain HTTP.
	w := is.do("GET", "/api/v1/labels", "")
	for k, v := range SecurityHeaderSet() {
		if got := w.Header().Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if w.Header().Get("Strict-Transport-Security") != "" || w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Server") != "" {
		t.Errorf("HSTS %q, Cache-Control %q, Server %q", w.Header().Get("Strict-Transport-Security"), w.Header().Get("Cache-Control"), w.Header().Get("Server"))
	}
	// A preflight from an unlisted origin is refused; a listed one is answered for that origin only.
	w = is.do("OPTIONS", "/api/v1/query", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from an unlisted origin: %d, ACAO %q", w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	}
	w = is.do("GET", "/api/v1/labels", "", "Origin", "https://shop.example")
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("API request from a beacon origin: %d %v, want 403 without CORS", w.Code, w.Header())
	}
	// A cross-site state change is refused even with a valid session, and changes nothing.
	w = is.do("POST", "/api/v1/silences", `{"matchers":[{"name":"a","value":"b"}],"endsAt":"2099-01-01T00:00:00Z"}`, "Sec-Fetch-Site", "cross-site")
	if w.Code != http.StatusForbidden || !strings.Contains(is.metrics(t), `security_events_total{kind="csrf_blocked"} 1`) {
		t.Errorf("cross-site POST: %d %s", w.Code, w.Body)
	}
	w = is.do("POST", "/api/v1/silences", `{}`, "Origin", "https://evil.example")
	if w.Code != http.StatusForbidden || !strings.Contains(is.metrics(t), `security_events_total{kind="origin_blocked"} 3` /* the preflight and the beacon origin's call above, and this */) {
		t.Errorf("POST from a foreign origin: %d %s", w.Code, w.Body)
	}
	// Beacons from an unlisted origin.
	w = is.do("POST", "/api/v1/beacons", `{"service":"shop","page":"/","fps":[60]}`, "Origin", "https://evil.example")
	if w.Code != http.StatusForbidden || strings.Contains(is.metrics(t), "frontend_beacons_total{") {
		t.Errorf("beacon from an unlisted origin: %d", w.Code)
	}
}

// TestBeaconOriginsGetNoCredentials: a page on a beacon origin
// (ALLOWED_ORIGINS) carrying an admin's session cookie cannot create an
// ingest token, nor get a preflight that grants credentials, while its
// beacons are still taken; listed in CredentialedOrigins, it can.
func TestBeaconOriginsGetNoCredentials(t *testing.T) {
	const shop, partner = "https://shop.example", "https://ops.example"
	is := newIngestServer(t, Config{AllowedOrigins: []string{shop}, CredentialedOrigins: []string{partner}})
	createToken := func(origin, name string) *httptest.ResponseRecorder {
		return is.do("POST", "/api/v1/admin/tokens", `{"name":"`+name+`","scopes":["ingest"]}`,
			"Authorization", "", "Cookie", CookieName+"="+is.session, "Origin", origin, "Sec-Fetch-Site", "cross-site", "Content-Type", "application/json")
	}
	if w := createToken(shop, "stolen"); w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("token from a beacon origin with an admin's cookie: %d %s %v, want 403 without CORS", w.Code, w.Body, w.Header())
	}
	if _, ok := is.s.access.Token("stolen"); ok {
		t.Fatal("the beacon origin's page created a token")
	}
	w := is.do("OPTIONS", "/api/v1/admin/tokens", "", "Authorization", "", "Origin", shop, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if w.Code != http.StatusForbidden || w.Header().Get("Access-Control-Allow-Origin") != "" || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("preflight from a beacon origin: %d %v, want 403 without CORS", w.Code, w.Header())
	}
	w = is.do("POST", "/api/v1/beacons", `{"service":"shop","page":"/","fps":[60]}`, "Authorization", "", "Origin", shop, "Content-Type", "text/plain")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != shop || w.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("beacon from a beacon origin: %d %s %v, want 204 with CORS, no credentials", w.Code, w.Body, w.Header())
	}
	if w := createToken(partner, "partner"); w.Code != http.StatusCreated || w.Header().Get("Access-Control-Allow-Origin") != partner || w.Header().Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("token from a credentialed origin: %d %s %v, want 201 with credentialed CORS", w.Code, w.Body, w.Header())
	}
	if w := is.do("POST", "/api/v1/beacons", `{"service":"shop","page":"/","fps":[60]}`, "Authorization", "", "Origin", partner); w.Code != http.StatusForbidden {
		t.Errorf("beacon from a credentialed origin not in ALLOWED_ORIGINS: %d, want 403", w.Code)
	}
	ws := func(origin string) int {
		return is.do("GET", "/ws", "", "Authorization", "", "Cookie", CookieName+"="+is.session, "Origin", origin, "Connection", "Upgrade", "Upgrade", "websocket",
			"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==").Code
	}
	if code := ws(shop); code != http.StatusForbidden {
		t.Errorf("WebSocket from a beacon origin with an admin's cookie: %d, want 403", code)
	}
}

func TestSecurityStatusAndWebSocketGate(t *testing.T) {
	is := newIngestServer(t, Config{AllowedOrigins: []string{"https://shop.example"}})
	if err := is.s.access.AddUser("vic", auth.RoleViewer, "viewer password"); err != nil {
		t.Fatal(err)
	}
	w := is.do("POST", "/api/v1/auth/login", `{"username":"vic","password":"viewer password"}`, "Authorization", "", "Content-Type", "application/json")
	viewer := tokenOf(t, w.Body.String())
	if w := is.do("GET", "/security/status", "", "Authorization", "Bearer "+viewer); w.Code != http.StatusForbidden {
		t.Fatalf("status as viewer: %d", w.Code)
	}
	w = is.do("GET", "/security/status", "")
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `"algorithm":"HS256"`) || !strings.Contains(body, `"cors_origins":["https://shop.example"]`) || !strings.Contains(body, `"api_per_minute":100`) || !strings.Contains(body, `"user_per_minute":6000`) || !strings.Contains(body, `"ingest_token_per_minute":1200000`) {
		t.Fatalf("status as admin: %d %s", w.Code, body)
	}
	for _, secret := range []string{string(testAuth.Secret), is.session, is.token} {
		if strings.Contains(body, secret) {
			t.Fatalf("/security/status leaks a secret")
		}
	}
	// The WebSocket refuses an upgrade without a session, and a foreign origin.
	if w := is.do("GET", "/ws", "", "Authorization", "", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="); w.Code != http.StatusUnauthorized {
		t.Fatalf("ws without a session: %d", w.Code)
	}
	if w := is.do("GET", "/ws", "", "Origin", "https://evil.example", "Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="); w.Code != http.StatusForbidden {
		t.Fatalf("ws from a foreign origin: %d", w.Code)
	}
}

func TestHTTPSBehindProxy(t *testing.T) {
	is := newIngestServer(t, Config{TrustedProxies: []string{"192.0.2.1"}})
	req := httptestRequest("POST", "/api/v1/beacons?x=1")
	req.RemoteAddr = "192.0.2.1:5000"
	req.Header.Set("X-Forwarded-For", "198.51.100.4")
	req.Header.Set("X-Forwarded-Proto", "http")
	w := serveRec(is.s, req)
	if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://example.com/api/v1/beacons?x=1" {
		t.Fatalf("plain HTTP through the proxy: %d %q", w.Code, w.Header().Get("Location"))
	}
	req = httptestRequest("GET", "/health")
	req.RemoteAddr = "192.0.2.1:5000"
	req.Header.Set("X-Forwarded-For", "198.51.100.4")
	req.Header.Set("X-Forwarded-Proto", "https")
	w = serveRec(is.s, req)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Strict-Transport-Security"), "max-age=") {
		t.Fatalf("HTTPS through the proxy: %d, HSTS %q", w.Code, w.Header().Get("Strict-Transport-Security"))
	}
}
