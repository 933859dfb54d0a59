package web

import "github.com/gin-gonic/gin"

// principalKind says who a request acts as.
type principalKind uint8

// The kinds of principal.
const (
	// principalAnonymous is a request without valid credentials, known only
	// by its client IP.
	principalAnonymous principalKind = iota
	// principalUser is a user logged in with a session token (JWT).
	principalUser
	// principalToken is a long-lived API token.
	principalToken
)

// String names the kind in logs and rate-limit keys.
func (k principalKind) String() string {
	switch k {
	case principalUser:
		return "user"
	case principalToken:
		return "token"
	}
	return "anonymous"
}

// principal is who a request acts as, set once per request by the
// authentication middleware before any limit or route check runs.
type principal struct {
	kind principalKind
	// name is the user's or the token's name; empty when anonymous.
	name string
}

// ctxPrincipal is the gin context key of the request's principal.
const ctxPrincipal = "principal"

// principalOf returns the request's principal: anonymous when none was set.
func principalOf(c *gin.Context) principal {
	if p, ok := c.Get(ctxPrincipal); ok {
		if p, ok := p.(principal); ok {
			return p
		}
	}
	return principal{}
}

// setPrincipal records who the request acts as.
func setPrincipal(c *gin.Context, p principal) { c.Set(ctxPrincipal, p) }
