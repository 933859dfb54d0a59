package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/auth"
	"atroz/internal/extserver"
)

// newTestLimiter returns a RateLimiter over o, closed when the test ends.
func newTestLimiter(t testing.TB, o RateLimitOptions) *RateLimiter {
	t.Helper()
	rl, err := NewRateLimiter(o)
	if err != nil {
		t.Fatalf("NewRateLimiter: %v", err)
	}
	t.Cleanup(func() {
		if err := rl.Close(); err != nil {
			t.Errorf("close rate limiter: %v", err)
		}
	})
	return rl
}

// limitedEngine serves POST /api/v1/auth/login in the auth class, GET
// /api/v1/x in the api class and POST /api/v1/beacons in the ingest class,
// trusting proxies (nil: none). asPrincipal stands in for authentication.
func limitedEngine(t testing.TB, rl *RateLimiter, proxies []string) *gin.Engine {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(proxies); err != nil {
		t.Fatalf("SetTrustedProxies: %v", err)
	}
	e.Use(asPrincipal)
	ok := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	e.POST("/api/v1/auth/login", rl.Middleware(RateClassAuth), ok)
	e.GET("/api/v1/x", rl.Middleware(RateClassAPI), ok)
	e.POST("/api/v1/beacons", rl.Middleware(RateClassIngest), ok)
	return e
}

// asPrincipal stands in for identify: it sets the principal its
// X-Test-Principal header names, as user:NAME, token:NAME (read and ingest
// scopes) or token:NAME:read (read only). Without it, a request with an
// Authorization header has its credentials refused; one without is
// anonymous.
func asPrincipal(c *gin.Context) {
	kind, name, _ := strings.Cut(c.GetHeader("X-Test-Principal"), ":")
	switch kind {
	case "user":
		setPrincipal(c, principal{kind: principalUser, name: name, role: auth.RoleViewer})
	case "token":
		scopes := auth.ScopeRead | auth.ScopeIngest
		if n, only, ok := strings.Cut(name, ":"); ok && only == "read" {
			name, scopes = n, auth.ScopeRead
		}
		setPrincipal(c, principal{kind: principalToken, name: name, scopes: scopes})
	default:
		if c.GetHeader("Authorization") != "" {
			setPrincipal(c, principal{refused: errors.New("API token unknown or revoked")})
		}
	}
}

// hit sends method path from peer (ip:port) with the header's name, value
// pairs.
func hit(e http.Handler, method, path, peer string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = peer
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// checkLimited asserts a 429 with the rate limit headers and error body.
func checkLimited(t *testing.T, w *httptest.ResponseRecorder, limit int) {
	t.Helper()
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429", w.Code)
	}
	h := w.Header()
	if got := h.Get("RateLimit-Limit"); got != strconv.Itoa(limit) {
		t.Errorf("RateLimit-Limit = %q, want %d", got, limit)
	}
	if got := h.Get("RateLimit-Remaining"); got != "0" {
		t.Errorf("RateLimit-Remaining = %q, want 0", got)
	}
	for _, k := range []string{"RateLimit-Reset", "Retry-After"} {
		if n, err := strconv.Atoi(h.Get(k)); err != nil || n < 1 || n > 60 {
			t.Errorf("%s = %q, want 1..60 seconds", k, h.Get(k))
		}
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.ErrorType != ErrorRateLimited || body.Status != "error" {
		t.Errorf("body = %s, want a rate_limited error", w.Body)
	}
}

// spend sends n requests that must all pass.
func spend(t *testing.T, e http.Handler, n int, method, path, peer string, header ...string) {
	t.Helper()
	for i := range n {
		if w := hit(e, method, path, peer, header...); w.Code != http.StatusNoContent {
			t.Fatalf("%s %s from %s %v: request %d: status = %d, %s", method, path, peer, header, i+1, w.Code, w.Body)
		}
	}
}

func TestRateLimitAuth(t *testing.T) {
	var limited []string
	rl := newTestLimiter(t, RateLimitOptions{OnLimited: func(c *gin.Context, class string) {
		limited = append(limited, class+" "+c.ClientIP())
	}})
	e := limitedEngine(t, rl, nil)
	for i := range DefaultRateLimitAuth {
		w := hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000")
		if w.Code != http.StatusNoContent {
			t.Fatalf("request %d: status = %d", i+1, w.Code)
		}
		if got, want := w.Header().Get("RateLimit-Remaining"), strconv.Itoa(DefaultRateLimitAuth-i-1); got != want {
			t.Errorf("request %d: RateLimit-Remaining = %q, want %s", i+1, got, want)
		}
		if w.Header().Get("RateLimit-Limit") != "20" || w.Header().Get("RateLimit-Reset") == "" {
			t.Errorf("request %d: headers %v", i+1, w.Header())
		}
	}
	checkLimited(t, hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1001"), DefaultRateLimitAuth)
	if want := []string{"auth 192.0.2.1"}; fmt.Sprint(limited) != fmt.Sprint(want) {
		t.Errorf("OnLimited calls = %v, want %v", limited, want)
	}
	// Another client, and another class for the same client, are unaffected.
	if w := hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.2:1000"); w.Code != http.StatusNoContent {
		t.Errorf("other IP: status = %d, want 204", w.Code)
	}
	if w := hit(e, http.MethodGet, "/api/v1/x", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get("RateLimit-Limit") != "100" {
		t.Errorf("api class: status = %d, RateLimit-Limit = %q", w.Code, w.Header().Get("RateLimit-Limit"))
	}
	if w := hit(e, http.MethodPost, "/api/v1/beacons", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get("RateLimit-Limit") != "6000" {
		t.Errorf("ingest class: status = %d, RateLimit-Limit = %q", w.Code, w.Header().Get("RateLimit-Limit"))
	}
}

func TestRateLimitForgedForwardedFor(t *testing.T) {
	rl := newTestLimiter(t, RateLimitOptions{AuthPerMinute: 3})
	e := limitedEngine(t, rl, nil)
	for i := range 3 {
		if w := hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000", "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)); w.Code != http.StatusNoContent {
			t.Fatalf("request %d: status = %d", i+1, w.Code)
		}
	}
	checkLimited(t, hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000", "X-Forwarded-For", "203.0.113.99"), 3)
}

func TestRateLimitTrustedProxy(t *testing.T) {
	rl := newTestLimiter(t, RateLimitOptions{AuthPerMinute: 2})
	e := limitedEngine(t, rl, []string{"10.0.0.1"})
	for _, client := range []string{"203.0.113.1", "203.0.113.2"} {
		for i := range 2 {
			if w := hit(e, http.MethodPost, "/api/v1/auth/login", "10.0.0.1:443", "X-Forwarded-For", client); w.Code != http.StatusNoContent {
				t.Fatalf("%s request %d: status = %d", client, i+1, w.Code)
			}
		}
	}
	checkLimited(t, hit(e, http.MethodPost, "/api/v1/auth/login", "10.0.0.1:443", "X-Forwarded-For", "203.0.113.1"), 2)
}

func TestRateLimitIPv6Prefix(t *testing.T) {
	rl := newTestLimiter(t, RateLimitOptions{AuthPerMinute: 1})
	e := limitedEngine(t, rl, nil)
	if w := hit(e, http.MethodPost, "/api/v1/auth/login", "[2001:db8:1:2::1]:1000"); w.Code != http.StatusNoContent {
		t.Fatalf("first: status = %d", w.Code)
	}
	checkLimited(t, hit(e, http.MethodPost, "/api/v1/auth/login", "[2001:db8:1:2:ffff::9]:1000"), 1)
	if w := hit(e, http.MethodPost, "/api/v1/auth/login", "[2001:db8:1:3::1]:1000"); w.Code != http.StatusNoContent {
		t.Errorf("other /64: status = %d, want 204", w.Code)
	}
}

func TestRateLimitUnknownClass(t *testing.T) {
	rl := newTestLimiter(t, RateLimitOptions{})
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/x", rl.Middleware("nope"), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	if w := hit(e, http.MethodGet, "/x", "192.0.2.1:1"); w.Code != http.StatusInternalServerError || !strings.Contains(w.Body.String(), `rate limit class \"nope\" is not configured`) {
		t.Errorf("status = %d, body = %s", w.Code, w.Body)
	}
}

func TestRateLimitOptions(t *testing.T) {
	f := func(o RateLimitOptions, wantErr string) {
		t.Helper()
		rl, err := NewRateLimiter(o)
		if err == nil {
			_ = rl.Close()
			err = fmt.Errorf("<nil>")
		}
		if !strings.Contains(err.Error(), wantErr) {
			t.Errorf("error = %v, want it to contain %q", err, wantErr)
		}
	}
	f(RateLimitOptions{AuthPerMinute: -1}, "AuthPerMinute must not be negative")
	f(RateLimitOptions{UserPerMinute: -1}, "UserPerMinute must not be negative")
	f(RateLimitOptions{IngestTokenPerMinute: -5}, "IngestTokenPerMinute must not be negative")
	f(RateLimitOptions{MaxCounters: -1}, "MaxCounters must not be negative")
	f(RateLimitOptions{Window: time.Millisecond}, "Window must be between 1s and 1m, got 1ms")
	f(RateLimitOptions{Window: time.Hour}, "Window must be between 1s and 1m, got 1h0m0s")
	f(RateLimitOptions{RedisURL: "http://user:secret@redis:6379"}, "invalid URL scheme")
	f(RateLimitOptions{RedisURL: "redis://user:sec ret@redis:6379\x7f"}, "RedisURL")
	f(RateLimitOptions{RedisURL: "redis://" + notRedis(t)}, "redis store at 127.0.0.1:")
	rl := newTestLimiter(t, RateLimitOptions{})
	if err := rl.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRateLimitRedisURLHidesPassword(t *testing.T) {
	_, err := NewRateLimiter(RateLimitOptions{RedisURL: "redis://user:hunter2@redis:6379\x7f"})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want one without the password", err)
	}
}

// notRedis returns the address of a listener that hangs up on every
// connection, until the test ends.
func notRedis(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// startRedis runs redis-server on a free loopback port until the test ends
// and returns its URL. It skips the test when redis-server is not installed,
// unless CI is set.
func startRedis(t *testing.T) string {
	t.Helper()
	url, _ := runRedis(t)
	return url
}

// runRedis is startRedis that also returns what stops the server sooner.
func runRedis(t *testing.T) (url string, stop func()) {
	t.Helper()
	url, p := extserver.Redis(t)
	return url, p.Kill
}

func TestRateLimitRedisShared(t *testing.T) {
	url := startRedis(t)
	rl := newTestLimiter(t, RateLimitOptions{RedisURL: url, AuthPerMinute: 4})
	a := limitedEngine(t, rl, nil)
	b := limitedEngine(t, newTestLimiter(t, RateLimitOptions{RedisURL: url, AuthPerMinute: 4}), nil)
	var wg sync.WaitGroup
	for _, e := range []*gin.Engine{a, b} {
		wg.Go(func() {
			for range 2 {
				if w := hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code != http.StatusNoContent {
					t.Errorf("status = %d, want 204", w.Code)
				}
			}
		})
	}
	wg.Wait()
	checkLimited(t, hit(a, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"), 4)
	checkLimited(t, hit(b, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"), 4)
	if w := hit(b, http.MethodPost, "/api/v1/auth/login", "192.0.2.2:1000"); w.Code != http.StatusNoContent {
		t.Errorf("other IP: status = %d, want 204", w.Code)
	}
	if n := rl.Fallbacks(); n != 0 {
		t.Errorf("Fallbacks = %d with Redis up, want 0", n)
	}
}

// TestRateLimitStoreDownFallsBack stops Redis under a running limiter: 40
// logins from one address meet the 20-a-minute budget in memory, the API
// stays up, every fallback is counted in the metric and the failure is
// logged once, not per request.
func TestRateLimitStoreDownFallsBack(t *testing.T) {
	url, stop := runRedis(t)
	logs := &syncBuffer{}
	rl := newTestLimiter(t, RateLimitOptions{RedisURL: url, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	e := limitedEngine(t, rl, nil)
	spend(t, e, 1, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000") // counted in Redis
	stop()
	passed, limited := 0, 0
	for range 40 {
		switch w := hit(e, http.MethodPost, "/api/v1/auth/login", "192.0.2.1:1000"); w.Code {
		case http.StatusNoContent:
			passed++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("status = %d, want 204 or 429: %s", w.Code, w.Body)
		}
	}
	if passed != DefaultRateLimitAuth || limited != 40-DefaultRateLimitAuth {
		t.Errorf("%d logins passed and %d were refused, want %d and %d", passed, limited, DefaultRateLimitAuth, 40-DefaultRateLimitAuth)
	}
	if w := hit(e, http.MethodGet, "/api/v1/x", "192.0.2.1:1000"); w.Code != http.StatusNoContent || w.Header().Get("RateLimit-Limit") != "100" {
		t.Errorf("API while Redis is down: status = %d, RateLimit-Limit = %q; want 204 and 100", w.Code, w.Header().Get("RateLimit-Limit"))
	}
	if n := rl.Fallbacks(); n != 41 {
		t.Errorf("Fallbacks = %d, want 41", n)
	}
	var b strings.Builder
	rl.WriteMetrics(&b)
	if want := "rate_limit_store_fallbacks_total 41\n"; b.String() != want {
		t.Errorf("metrics = %q, want %q", b.String(), want)
	}
	if n := strings.Count(logs.String(), "rate limit store failed; counting in memory"); n != 1 {
		t.Errorf("%d store failure lines, want 1: %s", n, logs)
	}
}

// TestRateLimitStoreClosed: a limiter whose Redis client is closed counts in
// memory too.
func TestRateLimitStoreClosed(t *testing.T) {
	rl := newTestLimiter(t, RateLimitOptions{RedisURL: startRedis(t), APIPerMinute: 2})
	e := limitedEngine(t, rl, nil)
	if err := rl.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	spend(t, e, 2, http.MethodGet, "/api/v1/x", "192.0.2.1:1000")
	checkLimited(t, hit(e, http.MethodGet, "/api/v1/x", "192.0.2.1:1000"), 2)
}

func TestRateLimitRedisSharesPrincipals(t *testing.T) {
	url := startRedis(t)
	o := RateLimitOptions{RedisURL: url, UserPerMinute: 4, IngestTokenPerMinute: 3}
	a := limitedEngine(t, newTestLimiter(t, o), nil)
	b := limitedEngine(t, newTestLimiter(t, o), nil)
	// Two replicas, two addresses, one user: one budget.
	spend(t, a, 2, http.MethodGet, "/api/v1/x", "192.0.2.1:1000", as("user:ana")...)
	spend(t, b, 2, http.MethodGet, "/api/v1/x", "198.51.100.7:1000", as("user:ana")...)
	checkLimited(t, hit(a, http.MethodGet, "/api/v1/x", "198.51.100.7:1000", as("user:ana")...), 4)
	spend(t, b, 4, http.MethodGet, "/api/v1/x", "192.0.2.1:1000", as("user:bo")...)
	spend(t, a, 2, http.MethodPost, "/api/v1/beacons", "192.0.2.1:1000", as("token:pipeline")...)
	spend(t, b, 1, http.MethodPost, "/api/v1/beacons", "192.0.2.2:1000", as("token:pipeline")...)
	checkLimited(t, hit(b, http.MethodPost, "/api/v1/beacons", "192.0.2.3:1000", as("token:pipeline")...), 3)
}
