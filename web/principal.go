package web

import (
	"atroz/auth"

	"github.com/gin-gonic/gin"
)

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
	// role is a user's role (auth.RoleViewer or auth.RoleAdmin).
	role string
	// scopes are a token's scopes.
	scopes auth.Scope
	// refused says why the credentials the request carried were not
	// accepted; such a request is anonymous, and a route that needs a
	// principal answers 401 with this reason.
	refused error
}

// has reports whether p may do what need grants: a user reads, an admin
// also administers; a token does what its scopes say.
func (p principal) has(need auth.Scope) bool {
	switch p.kind {
	case principalUser:
		return need == auth.ScopeRead || need == auth.ScopeAdmin && p.role == auth.RoleAdmin
	case principalToken:
		return p.scopes.Has(need)
	}
	return false
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
