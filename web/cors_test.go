package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// corsEngine serves GET, POST and OPTIONS on /api/v1/x and /api/v1/beacons
// behind mw.
func corsEngine(mw gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(mw)
	ok := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	for _, p := range []string{"/api/v1/x", "/api/v1/beacons"} {
		e.GET(p, ok)
		e.POST(p, ok)
		e.OPTIONS(p, ok)
	}
	return e
}

// corsRequest sends method to path from origin; a preflight asks for
// POST with the Authorization and Content-Type headers.
func corsRequest(e http.Handler, method, path, origin string, preflight bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Host = "atroz.example.com"
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if preflight {
		r.Header.Set("Access-Control-Request-Method", http.MethodPost)
		r.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	return w
}

// corsWant is what a CORS answer must carry.
type corsWant struct {
	code        int
	allowOrigin string // "" means absent
	credentials bool
}

func checkCORS(t *testing.T, name string, w *httptest.ResponseRecorder, want corsWant) {
	t.Helper()
	if w.Code != want.code {
		t.Errorf("%s: status = %d, want %d", name, w.Code, want.code)
	}
	h := w.Header()
	if got := h.Get("Access-Control-Allow-Origin"); got != want.allowOrigin {
		t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", name, got, want.allowOrigin)
	}
	if got := h.Get("Access-Control-Allow-Credentials"); (got == "true") != want.credentials || (got != "" && got != "true") {
		t.Errorf("%s: Access-Control-Allow-Credentials = %q, want set=%v", name, got, want.credentials)
	}
	for k, vs := range h {
		for _, v := range vs {
			if strings.HasPrefix(k, "Access-Control-") && strings.TrimSpace(v) == "*" {
				t.Errorf("%s: %s: * emitted", name, k)
			}
		}
	}
	if want.allowOrigin != "" && !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
		t.Errorf("%s: Vary = %q, want it to name Origin", name, h.Values("Vary"))
	}
}

func TestAPICORS(t *testing.T) {
	const shop = "https://shop.example.com"
	prod := corsEngine(APICORS([]string{shop, "*"}, false))
	dev := corsEngine(APICORS([]string{shop}, true))
	for _, tc := range []struct {
		name      string
		e         *gin.Engine
		method    string
		origin    string
		preflight bool
		want      corsWant
	}{
		{"listed preflight", prod, http.MethodOptions, shop, true, corsWant{http.StatusNoContent, shop, true}},
		{"listed GET", prod, http.MethodGet, shop, false, corsWant{http.StatusNoContent, shop, true}},
		{"listed POST", prod, http.MethodPost, shop, false, corsWant{http.StatusNoContent, shop, true}},
		{"unlisted preflight", prod, http.MethodOptions, "https://evil.example", true, corsWant{http.StatusForbidden, "", false}},
		{"unlisted GET", prod, http.MethodGet, "https://evil.example", false, corsWant{http.StatusForbidden, "", false}},
		{"listed host other scheme", prod, http.MethodGet, "http://shop.example.com", false, corsWant{http.StatusForbidden, "", false}},
		{"listed as suffix", prod, http.MethodGet, "https://shop.example.com.evil.example", false, corsWant{http.StatusForbidden, "", false}},
		{"null origin", prod, http.MethodGet, "null", false, corsWant{http.StatusForbidden, "", false}},
		{"localhost outside development", prod, http.MethodGet, "http://localhost:5173", false, corsWant{http.StatusForbidden, "", false}},
		{"no origin", prod, http.MethodGet, "", false, corsWant{http.StatusNoContent, "", false}},
		{"same host", prod, http.MethodPost, "https://atroz.example.com", false, corsWant{http.StatusNoContent, "", false}},
		{"dev listed", dev, http.MethodGet, shop, false, corsWant{http.StatusNoContent, shop, true}},
		{"dev localhost", dev, http.MethodOptions, "http://localhost:5173", true, corsWant{http.StatusNoContent, "http://localhost:5173", true}},
		{"dev 127.0.0.1", dev, http.MethodGet, "http://127.0.0.1:3000", false, corsWant{http.StatusNoContent, "http://127.0.0.1:3000", true}},
		{"dev localhost no port", dev, http.MethodGet, "http://localhost", false, corsWant{http.StatusNoContent, "http://localhost", true}},
		{"dev https localhost", dev, http.MethodGet, "https://localhost:5173", false, corsWant{http.StatusForbidden, "", false}},
		{"dev localhost lookalike", dev, http.MethodGet, "http://localhost.evil.example:80", false, corsWant{http.StatusForbidden, "", false}},
		{"dev localhost userinfo", dev, http.MethodGet, "http://localhost:80@evil.example", false, corsWant{http.StatusForbidden, "", false}},
		{"dev unlisted", dev, http.MethodGet, "https://evil.example", false, corsWant{http.StatusForbidden, "", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := corsRequest(tc.e, tc.method, "/api/v1/x", tc.origin, tc.preflight)
			checkCORS(t, tc.name, w, tc.want)
		})
	}
}

func TestAPICORSPreflightHeaders(t *testing.T) {
	w := corsRequest(corsEngine(APICORS([]string{"https://shop.example.com"}, false)), http.MethodOptions, "/api/v1/x", "https://shop.example.com", true)
	for k, want := range map[string]string{
		"Access-Control-Allow-Methods": "GET,POST,DELETE,OPTIONS",
		"Access-Control-Allow-Headers": "Authorization,Content-Type,X-Request-Id",
		"Access-Control-Max-Age":       "600",
	} {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestBeaconCORS(t *testing.T) {
	const shop = "https://shop.example.com"
	e := corsEngine(BeaconCORS(func(o string) bool { return o == shop }))
	f := func(name, method, origin string, preflight bool, want corsWant) {
		t.Helper()
		checkCORS(t, name, corsRequest(e, method, "/api/v1/beacons", origin, preflight), want)
	}
	f("allowed POST", http.MethodPost, shop, false, corsWant{http.StatusNoContent, shop, false})
	f("allowed preflight", http.MethodOptions, shop, true, corsWant{http.StatusNoContent, shop, false})
	f("foreign POST", http.MethodPost, "https://evil.example", false, corsWant{http.StatusForbidden, "", false})
	f("foreign preflight", http.MethodOptions, "https://evil.example", true, corsWant{http.StatusForbidden, "", false})
	f("no origin", http.MethodPost, "", false, corsWant{http.StatusNoContent, "", false})

	nobody := corsEngine(BeaconCORS(nil))
	checkCORS(t, "nil allowed", corsRequest(nobody, http.MethodPost, "/api/v1/beacons", shop, false), corsWant{http.StatusForbidden, "", false})
}

func BenchmarkAPICORS(b *testing.B) {
	e := corsEngine(APICORS([]string{"https://shop.example.com"}, false))
	b.ReportAllocs()
	for b.Loop() {
		corsRequest(e, http.MethodGet, "/api/v1/x", "https://shop.example.com", false)
	}
}
