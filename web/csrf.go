package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// errCrossSite is the answer to a state-changing request from a foreign page.
var errCrossSite = errors.New("cross-site request refused")

// SameOriginGuard refuses, with 403, a POST, PUT, PATCH or DELETE that a
// browser sent on behalf of a foreign page, so a cookie session cannot be
// ridden by another site. A request passes when its Sec-Fetch-Site is
// same-origin or none, or when its Origin is the server's own (selfOrigin)
// or one for which allowed reports true. A request with neither header is
// not from a browser (curl, Grafana, another service) and passes: such
// clients authenticate with bearer tokens, which a foreign page cannot
// attach. Other methods are never checked.
func SameOriginGuard(selfOrigin func(*gin.Context) string, allowed func(origin string) bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !stateChanging(c.Request.Method) || sameOrigin(c, selfOrigin, allowed) {
			c.Next()
			return
		}
		abortWithError(c, http.StatusForbidden, ErrorForbidden, errCrossSite)
	}
}

// sameOrigin reports whether the request comes from the server's own pages,
// from an allowed origin, or from no browser at all.
func sameOrigin(c *gin.Context, selfOrigin func(*gin.Context) string, allowed func(string) bool) bool {
	site := c.GetHeader("Sec-Fetch-Site")
	origin := c.GetHeader("Origin")
	switch {
	case site == "same-origin" || site == "none":
		return true
	case origin != "":
		return strings.EqualFold(origin, selfOrigin(c)) || allowed != nil && allowed(origin)
	default:
		// A browser that says cross-site or same-site but hides the
		// origin cannot be vetted.
		return site == ""
	}
}

// stateChanging reports whether method may change server state.
func stateChanging(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// RequestOrigin returns a selfOrigin for SameOriginGuard: scheme://host of
// the request as the client addressed it, https when https reports so.
func RequestOrigin(https func(*gin.Context) bool) func(*gin.Context) string {
	return func(c *gin.Context) string {
		scheme := "http"
		if https != nil && https(c) {
			scheme = "https"
		}
		return scheme + "://" + c.Request.Host
	}
}
