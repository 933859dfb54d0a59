package web

import (
	"maps"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// securityHeaders go on every response.
var securityHeaders = map[string]string{
	"Content-Security-Policy":    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
	"X-Content-Type-Options":     "nosniff",
	"X-Frame-Options":            "DENY",
	"Referrer-Policy":            "strict-origin-when-cross-origin",
	"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
	"Cross-Origin-Opener-Policy": "same-origin",
}

const (
	// hsts pins browsers to HTTPS for two years. It is sent over HTTPS only:
	// browsers ignore it over plain HTTP, and sending it from a server that
	// cannot answer HTTPS would lock users out.
	hsts = "max-age=63072000; includeSubDomains"
	// apiPrefix marks the responses that must never be cached: they carry
	// metrics, alerts and tokens.
	apiPrefix = "/api/"
)

// SecurityHeaderSet returns a copy of the headers SecurityHeaders sets on
// every response. Strict-Transport-Security (over HTTPS) and
// Cache-Control: no-store (under /api/) are conditional and not included.
func SecurityHeaderSet() map[string]string {
	return maps.Clone(securityHeaders)
}

// SecurityHeaders sets the browser-hardening headers on every response,
// Cache-Control: no-store under /api/, Strict-Transport-Security when https
// reports the request arrived over HTTPS, and removes any Server header.
func SecurityHeaders(https func(*gin.Context) bool) gin.HandlerFunc {
	// Canonical keys and value slices are built once: Set would canonicalise
	// each key and allocate each value on every request. A value slice is
	// shared by every response, as nothing writes into one.
	type header struct {
		key   string
		value []string
	}
	fixed := make([]header, 0, len(securityHeaders))
	for k, v := range securityHeaders {
		fixed = append(fixed, header{http.CanonicalHeaderKey(k), []string{v}})
	}
	noStore, sts := []string{"no-store"}, []string{hsts}
	return func(c *gin.Context) {
		h := c.Writer.Header()
		for _, f := range fixed {
			h[f.key] = f.value
		}
		if strings.HasPrefix(c.Request.URL.Path, apiPrefix) {
			h["Cache-Control"] = noStore
		}
		if https != nil && https(c) {
			h["Strict-Transport-Security"] = sts
		}
		h.Del("Server")
		c.Next()
	}
}
