package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"
)

// corsMaxAge is how long a browser may cache a preflight answer.
const corsMaxAge = 10 * time.Minute

// APICORS lets the pages of origins call the API with credentials. Each
// origin is matched exactly: Access-Control-Allow-Origin echoes the request's
// origin only when it is listed, never "*" and never an unlisted origin. In
// development, any http://localhost[:port] and http://127.0.0.1[:port] page
// is also allowed. A cross-origin request, preflight or not, from any other
// origin is answered 403 with no body; same-host and Origin-less requests
// pass untouched.
func APICORS(origins []string, development bool) gin.HandlerFunc {
	listed := make(map[string]bool, len(origins))
	for _, o := range origins {
		listed[strings.ToLower(strings.TrimSpace(o))] = true
	}
	return cors.New(cors.Config{
		// AllowOrigins stays empty: a "*" there would turn on allow-all.
		AllowOriginFunc: func(origin string) bool {
			return listed[origin] || development && isLoopbackOrigin(origin)
		},
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodOptions},
		AllowHeaders:     []string{"Authorization", "Content-Type", HeaderRequestID},
		ExposeHeaders:    []string{HeaderRequestID, "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"},
		AllowCredentials: true,
		MaxAge:           corsMaxAge,
	})
}

// BeaconCORS answers the CORS side of the beacon route: a text/plain POST,
// and its preflight, from origins for which allowed reports true. Beacons
// carry no credentials, so Access-Control-Allow-Credentials is never sent;
// other origins get 403 with no body.
func BeaconCORS(allowed func(origin string) bool) gin.HandlerFunc {
	return cors.New(cors.Config{
		AllowOriginFunc: func(origin string) bool { return allowed != nil && allowed(origin) },
		AllowMethods:    []string{http.MethodPost, http.MethodOptions},
		AllowHeaders:    []string{"Content-Type"},
		MaxAge:          corsMaxAge,
	})
}

// isLoopbackOrigin reports whether origin is exactly http://localhost or
// http://127.0.0.1, with or without a port: a dev server on this machine.
func isLoopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != "http" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return false
	}
	if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" {
		return false
	}
	return validPort(u.Port()) && u.Host == u.Hostname()+portSuffix(u.Port())
}

// validPort accepts an empty port or 1–5 digits.
func validPort(p string) bool {
	if len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// portSuffix is ":"+p, or "" when p is empty.
func portSuffix(p string) string {
	if p == "" {
		return ""
	}
	return ":" + p
}
