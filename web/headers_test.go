package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

// headersEngine serves GET /api/v1/x and /dashboard behind SecurityHeaders,
// treating a request as HTTPS when its X-Test-HTTPS header is set. The
// handlers set a Server header, as an upstream library might.
func headersEngine() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(func(c *gin.Context) { c.Header("Server", "gin") })
	e.Use(SecurityHeaders(func(c *gin.Context) bool { return c.GetHeader("X-Test-HTTPS") != "" }))
	ok := func(c *gin.Context) { c.String(http.StatusOK, "ok") }
	e.GET("/api/v1/x", ok)
	e.GET("/dashboard", ok)
	return e
}

func TestSecurityHeaders(t *testing.T) {
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
		"Cross-Origin-Opener-Policy": "same-origin",
	}
	e := headersEngine()
	f := func(path string, https bool, cacheControl, hsts string) {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, path, nil)
		if https {
			r.Header.Set("X-Test-HTTPS", "1")
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		if got := w.Header().Get("Cache-Control"); got != cacheControl {
			t.Errorf("%s: Cache-Control = %q, want %q", path, got, cacheControl)
		}
		if got := w.Header().Get("Strict-Transport-Security"); got != hsts {
			t.Errorf("%s https=%v: Strict-Transport-Security = %q, want %q", path, https, got, hsts)
		}
		if got, ok := w.Header()["Server"]; ok {
			t.Errorf("%s: Server header %q not removed", path, got)
		}
	}
	f("/api/v1/x", false, "no-store", "")
	f("/api/v1/x", true, "no-store", "max-age=63072000; includeSubDomains")
	f("/dashboard", false, "", "")
	f("/dashboard", true, "", "max-age=63072000; includeSubDomains")
	f("/nope", false, "", "")
}

func TestSecurityHeaderSet(t *testing.T) {
	set := SecurityHeaderSet()
	if len(set) != 6 {
		t.Fatalf("SecurityHeaderSet has %d headers, want 6: %v", len(set), set)
	}
	if got := set["X-Frame-Options"]; got != "DENY" {
		t.Errorf("X-Frame-Options = %q", got)
	}
	set["X-Frame-Options"] = "SAMEORIGIN"
	if got := SecurityHeaderSet()["X-Frame-Options"]; got != "DENY" {
		t.Errorf("SecurityHeaderSet returned the live map: X-Frame-Options became %q", got)
	}
}

func BenchmarkSecurityHeaders(b *testing.B) {
	e := headersEngine()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/x", nil)
	b.ReportAllocs()
	for b.Loop() {
		e.ServeHTTP(httptest.NewRecorder(), r)
	}
}
