package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/store"
)

// ErrorConflict is the error type of a request that collides with what
// exists, such as a token name already taken.
const ErrorConflict ErrorType = "conflict"

// maxTokenRequestBytes bounds a token creation request's body.
const maxTokenRequestBytes = 4 << 10

// tokenInfo is an ingest token as the API shows it; the secret only once,
// in the answer that creates it.
type tokenInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created,omitzero"`
	Token   string    `json:"token,omitempty"`
}

// tokenAPI serves the ingest-token routes, for admins, while the server
// runs: the same tokens "atroz token" manages with the server stopped.
func (s *Server) tokenAPI(admin *gin.RouterGroup) {
	admin.GET("/admin/tokens", s.listTokens)
	admin.POST("/admin/tokens", s.createToken)
	admin.DELETE("/admin/tokens/:name", s.revokeToken)
}

// listTokens answers every token's name and creation time.
func (s *Server) listTokens(c *gin.Context) {
	tokens, err := s.db.ListTokens()
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	out := make([]tokenInfo, len(tokens))
	for i, t := range tokens {
		out[i] = tokenInfo{Name: t.Name, Created: t.Created.UTC()}
	}
	success(c, out, nil)
}

// createToken creates the token named in {"name": ...} and answers 201 with
// its secret, which is never shown again.
func (s *Server) createToken(c *gin.Context) {
	var req struct {
		Name string `json:"name"`
	}
	if ok, err := readJSON(c, maxTokenRequestBytes, &req); !ok {
		return
	} else if err != nil {
		badRequest(c, fmt.Errorf("body: %w", err))
		return
	}
	secret, err := s.db.CreateToken(req.Name)
	switch {
	case errors.Is(err, store.ErrInvalidTokenName):
		badRequest(c, fmt.Errorf("name: %w", err))
		return
	case errors.Is(err, store.ErrTokenExists):
		abortWithError(c, http.StatusConflict, ErrorConflict, fmt.Errorf("name: a token named %q exists; revoke it first", req.Name))
		return
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	s.auditToken(c, "created", req.Name)
	c.JSON(http.StatusCreated, gin.H{"status": "success", "data": tokenInfo{Name: req.Name, Token: secret}})
}

// revokeToken deletes a token; its secret is refused from then on.
func (s *Server) revokeToken(c *gin.Context) {
	name := c.Param("name")
	err := s.db.RevokeToken(name)
	switch {
	case errors.Is(err, store.ErrTokenNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("name: no token named %q", name))
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	default:
		s.auditToken(c, "revoked", name)
		success(c, gin.H{"name": name}, nil)
	}
}

// auditToken logs who created or revoked which token.
func (s *Server) auditToken(c *gin.Context, action, name string) {
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "ingest token "+action,
		slog.String("event_type", "security"),
		slog.String("kind", "token_"+action),
		slog.String("token", name),
		slog.String("user", c.GetString(ctxUser)),
		slog.String("request_id", c.GetString(ctxRequestID)))
}
