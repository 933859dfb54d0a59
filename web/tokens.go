package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/auth"
)

// ErrorConflict is the error type of a request that collides with what
// exists, such as a token name already taken.
const ErrorConflict ErrorType = "conflict"

// maxTokenRequestBytes bounds a token creation request's body.
const maxTokenRequestBytes = 4 << 10

// tokenInfo is an API token as the API shows it; the secret only once, in
// the answer that creates it. Expires and LastUsed are null for never.
type tokenInfo struct {
	Name     string     `json:"name"`
	Scopes   []string   `json:"scopes"`
	Created  time.Time  `json:"created"`
	Expires  *time.Time `json:"expires"`
	LastUsed *time.Time `json:"last_used"`
	Token    string     `json:"token,omitempty"`
}

func newTokenInfo(t auth.Token) tokenInfo {
	orNil := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return tokenInfo{Name: t.Name, Scopes: t.Scopes.Names(), Created: t.Created.UTC(), Expires: orNil(t.Expires), LastUsed: orNil(t.LastUsed)}
}

// tokenRequest creates a token: scopes default to ingest, as tokens were
// before they had scopes; expires is RFC 3339, omitted for never.
type tokenRequest struct {
	Name    string   `json:"name"`
	Scopes  []string `json:"scopes"`
	Expires string   `json:"expires"`
}

// tokenAPI serves the API-token routes, for admins, while the server runs:
// the same tokens "atroz token" manages with the server stopped.
func (s *Server) tokenAPI(admin *gin.RouterGroup) {
	admin.GET("/admin/tokens", s.listTokens)
	admin.POST("/admin/tokens", s.createToken)
	admin.DELETE("/admin/tokens/:name", s.revokeToken)
}

// listTokens answers every token's name, scopes, creation, expiry and last use.
func (s *Server) listTokens(c *gin.Context) {
	tokens := s.access.Tokens()
	out := make([]tokenInfo, len(tokens))
	for i, t := range tokens {
		out[i] = newTokenInfo(t)
	}
	success(c, out, nil)
}

// createToken creates the token a tokenRequest describes and answers 201
// with its secret, which is never shown again.
func (s *Server) createToken(c *gin.Context) {
	var req tokenRequest
	if ok, err := readJSON(c, maxTokenRequestBytes, &req); !ok {
		return
	} else if err != nil {
		badRequest(c, fmt.Errorf("body: %w", err))
		return
	}
	scopes, expires, err := req.parse()
	if err != nil {
		badRequest(c, err)
		return
	}
	secret, err := s.access.CreateToken(req.Name, scopes, expires)
	switch {
	case errors.Is(err, auth.ErrInvalidTokenName):
		badRequest(c, fmt.Errorf("name: %w", err))
		return
	case errors.Is(err, auth.ErrInvalidExpiry):
		badRequest(c, fmt.Errorf("expires: %w", err))
		return
	case errors.Is(err, auth.ErrTokenExists):
		abortWithError(c, http.StatusConflict, ErrorConflict, fmt.Errorf("name: a token named %q exists; revoke it first", req.Name))
		return
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	s.auditToken(c, "created", req.Name, scopes)
	made, _ := s.access.Token(req.Name) // zero if revoked meanwhile; the secret is still worth showing
	info := newTokenInfo(made)
	info.Name, info.Scopes, info.Token = req.Name, scopes.Names(), secret
	c.JSON(http.StatusCreated, gin.H{"status": "success", "data": info})
}

// parse reads the scopes (ingest when omitted) and the expiry (zero when omitted).
func (r tokenRequest) parse() (auth.Scope, time.Time, error) {
	scopes := auth.ScopeIngest
	if r.Scopes != nil {
		var err error
		if scopes, err = auth.ParseScopes(r.Scopes...); err != nil {
			return 0, time.Time{}, fmt.Errorf("scopes: %w", err)
		}
	}
	if r.Expires == "" {
		return scopes, time.Time{}, nil
	}
	expires, err := time.Parse(time.RFC3339, r.Expires)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("expires: %q is not an RFC 3339 time like 2027-01-31T00:00:00Z", r.Expires)
	}
	return scopes, expires.UTC(), nil
}

// revokeToken deletes a token; its secret is refused from the next request on.
func (s *Server) revokeToken(c *gin.Context) {
	name := c.Param("name")
	err := s.access.RevokeToken(name)
	switch {
	case errors.Is(err, auth.ErrTokenNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("name: no token named %q", name))
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	default:
		s.auditToken(c, "revoked", name, 0)
		success(c, gin.H{"name": name}, nil)
	}
}

// auditToken logs who created or revoked which token.
func (s *Server) auditToken(c *gin.Context, action, name string, scopes auth.Scope) {
	p := principalOf(c)
	attrs := []slog.Attr{
		slog.String("event_type", "security"),
		slog.String("kind", "token_"+action),
		slog.String("token", name),
		slog.String(p.kind.String(), p.name),
		slog.String("request_id", c.GetString(ctxRequestID)),
	}
	if scopes != 0 {
		attrs = append(attrs, slog.String("scopes", scopes.String()))
	}
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "API token "+action, attrs...)
}
