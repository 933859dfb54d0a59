package web

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestSameOriginGuard(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	const partner = "https://shop.example.com"
	e.Use(SameOriginGuard(RequestOrigin(nil), func(o string) bool { return o == partner }))
	ok := func(c *gin.Context) { c.Status(http.StatusNoContent) }
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		e.Handle(m, "/api/v1/x", ok)
	}
	f := func(method, site, origin string, wantCode int) {
		t.Helper()
		r := httptest.NewRequest(method, "/api/v1/x", nil)
		r.Host = "atroz.example.com:8080"
		if site != "" {
			r.Header.Set("Sec-Fetch-Site", site)
		}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != wantCode {
			t.Errorf("%s Sec-Fetch-Site=%q Origin=%q: status = %d, want %d", method, site, origin, w.Code, wantCode)
		}
		if wantCode == http.StatusForbidden {
			const body = `{"status":"error","errorType":"forbidden","error":"cross-site request refused"}`
			if got := w.Body.String(); got != body {
				t.Errorf("body = %s, want %s", got, body)
			}
		}
	}
	const self, evil = "http://atroz.example.com:8080", "https://evil.example"
	// The browser vouches for the request.
	f(http.MethodPost, "same-origin", "", http.StatusNoContent)
	f(http.MethodPost, "same-origin", self, http.StatusNoContent)
	f(http.MethodPost, "none", "", http.StatusNoContent)
	// The origin is the server's own or allowed.
	f(http.MethodPost, "", self, http.StatusNoContent)
	f(http.MethodDelete, "", "HTTP://ATROZ.example.com:8080", http.StatusNoContent)
	f(http.MethodPost, "cross-site", partner, http.StatusNoContent)
	f(http.MethodPost, "", partner, http.StatusNoContent)
	// A foreign page, whatever the method.
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		f(m, "cross-site", evil, http.StatusForbidden)
	}
	f(http.MethodPost, "same-site", "https://blog.example.com", http.StatusForbidden)
	f(http.MethodPost, "", evil, http.StatusForbidden)
	f(http.MethodPost, "", "null", http.StatusForbidden)
	f(http.MethodPost, "", "https://atroz.example.com:8080", http.StatusForbidden) // other scheme
	// A browser that hides the origin of a cross-site request.
	f(http.MethodPost, "cross-site", "", http.StatusForbidden)
	f(http.MethodPost, "same-site", "", http.StatusForbidden)
	// Not a browser: curl, Grafana, services with bearer tokens.
	f(http.MethodPost, "", "", http.StatusNoContent)
	f(http.MethodDelete, "", "", http.StatusNoContent)
	// Safe methods are never checked.
	f(http.MethodGet, "cross-site", evil, http.StatusNoContent)
	f(http.MethodHead, "cross-site", evil, http.StatusNoContent)
	f(http.MethodOptions, "cross-site", evil, http.StatusNoContent)
}

func TestRequestOrigin(t *testing.T) {
	f := func(https bool, want string) {
		t.Helper()
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/x", nil)
		c.Request.Host = "atroz.example.com"
		if got := RequestOrigin(func(*gin.Context) bool { return https })(c); got != want {
			t.Errorf("https=%v: origin = %q, want %q", https, got, want)
		}
	}
	f(false, "http://atroz.example.com")
	f(true, "https://atroz.example.com")
}
