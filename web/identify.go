package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"atroz/auth"

	"github.com/gin-gonic/gin"
)

// identify sets every request's principal from the credentials it carries,
// before any rate limit or route check: "Authorization: Bearer" with an API
// token (atz_…) or a session token, "Authorization: Basic" whose password
// is an API token (any user name: how Grafana and promtool send a static
// credential), or the session cookie. It never answers: a request whose
// credentials are refused is anonymous, with the reason kept for the route
// checks, so an open route (a login over a stale cookie) still works.
func (s *Server) identify(c *gin.Context) {
	p, err := s.credentials(c)
	if err != nil {
		p = principal{refused: err}
	}
	setPrincipal(c, p)
}

// credentials finds the request's credentials and who they belong to.
func (s *Server) credentials(c *gin.Context) (principal, error) {
	h := c.GetHeader("Authorization")
	if h == "" {
		if _, err := c.Cookie(CookieName); err != nil {
			return principal{}, nil
		}
		return s.session(c)
	}
	if len(h) > maxTokenBytes {
		return principal{}, errors.New("token too large")
	}
	scheme, cred, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer") && auth.IsTokenSecret(strings.TrimSpace(cred)):
		return s.apiToken(strings.TrimSpace(cred))
	case strings.EqualFold(scheme, "Bearer"):
		// Schemes are case-insensitive (RFC 9110), but the JWT parser
		// knows only "Bearer" and would fall back to the cookie.
		c.Request.Header.Set("Authorization", "Bearer "+strings.TrimSpace(cred))
		return s.session(c)
	case strings.EqualFold(scheme, "Basic"):
		_, password, ok := c.Request.BasicAuth()
		switch {
		case !ok:
			return principal{}, errors.New("basic credentials are not base64 of user:password")
		case !auth.IsTokenSecret(password):
			return principal{}, errors.New("the basic-auth password must be an API token (atz_…, from atroz token create); users log in at /api/v1/auth/login")
		}
		return s.apiToken(password)
	}
	return principal{}, unsupportedScheme(scheme)
}

// unsupportedScheme refuses an Authorization header that is neither Bearer
// nor Basic without quoting it: a client that sends a bare secret puts the
// secret where the scheme goes, and it must reach neither the answer nor
// the security log.
func unsupportedScheme(scheme string) error {
	const want = `the Authorization header must be "Bearer <token>" or "Basic <base64 of user:token>"`
	if auth.IsTokenSecret(scheme) || strings.Count(scheme, ".") == 2 {
		return errors.New(want + `; it holds a bare token: put "Bearer " before it`)
	}
	return errors.New(want + "; other schemes are not supported")
}

// session checks the session token of a login, from the header or the
// cookie; the role is the stored user's, not the token's.
func (s *Server) session(c *gin.Context) (principal, error) {
	_, u, err := s.auth.validClaims(c)
	if err != nil {
		return principal{}, err
	}
	return principal{kind: principalUser, name: u.Name, role: u.Role}, nil
}

// apiToken checks an API token's secret.
func (s *Server) apiToken(secret string) (principal, error) {
	t, err := s.access.VerifyToken(secret)
	switch {
	case errors.Is(err, auth.ErrTokenExpired):
		return principal{}, fmt.Errorf("API token %q expired at %s", t.Name, t.Expires.Format(time.RFC3339))
	case errors.Is(err, auth.ErrUnavailable):
		return principal{}, err
	case err != nil:
		return principal{}, errors.New("API token unknown or revoked")
	}
	return principal{kind: principalToken, name: t.Name, scopes: t.Scopes}, nil
}

// require admits requests whose principal has need: read routes a login or
// a token with the read or admin scope, admin routes an admin's login or a
// token with the admin scope, ingest routes a token with the ingest scope.
// Missing or refused credentials answer 401 naming what is wrong; a
// principal without the right answers 403 naming the scope it lacks.
func (s *Server) require(need auth.Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principalOf(c)
		switch {
		case errors.Is(p.refused, auth.ErrUnavailable): // not the client's fault: it may retry
			c.Header("Retry-After", "5")
			abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, p.refused)
		case p.refused != nil:
			s.unauthenticated(c, true, p.refused.Error())
		case p.kind == principalAnonymous:
			s.unauthenticated(c, false, credentialsHint(need))
		case !p.has(need):
			s.securityEvent(c, SecurityAuthFailure, need.String()+" route as "+p.kind.String()+" "+p.name)
			abortWithError(c, http.StatusForbidden, ErrorForbidden, lacking(p, need))
		}
	}
}

// unauthenticated answers 401 with the challenges Grafana, promtool and
// curl understand. Basic is left out for the dashboard's own scripts
// (Sec-Fetch-Mode other than navigate): a browser would pop up a password
// dialog over the page instead of letting it show its login form.
func (s *Server) unauthenticated(c *gin.Context, invalid bool, message string) {
	s.securityEvent(c, SecurityAuthFailure, message)
	h := c.Writer.Header()
	if mode := c.GetHeader("Sec-Fetch-Mode"); mode == "" || mode == "navigate" {
		h.Add("WWW-Authenticate", `Basic realm="atroz"`)
	}
	challenge := `Bearer realm="atroz"` // #nosec G101 -- an authentication scheme's name, not a credential
	if invalid {
		challenge += `, error="invalid_token"` // #nosec G101 -- RFC 6750's error code, not a credential
	}
	h.Add("WWW-Authenticate", challenge)
	abortWithError(c, http.StatusUnauthorized, ErrorUnauthorized, errors.New(message))
}

// credentialsHint says what a route needs and how to send it.
func credentialsHint(need auth.Scope) string {
	switch need {
	case auth.ScopeIngest:
		return "an ingest token is required (an API token with the ingest scope): Authorization: Bearer <token> (atroz token create NAME)"
	case auth.ScopeAdmin:
		return "an admin's login or an API token with the admin scope is required: Authorization: Bearer <token>, or the token as the basic-auth password"
	}
	return "a login or an API token with the read scope is required: Authorization: Bearer <token>, or the token as the basic-auth password (atroz token create -scope read NAME)"
}

// lacking says which right p lacks for need.
func lacking(p principal, need auth.Scope) error {
	switch {
	case p.kind == principalToken:
		return fmt.Errorf("API token %q has the scopes %s; this needs the %s scope", p.name, p.scopes, need)
	case need == auth.ScopeAdmin:
		return errors.New("this needs the admin role")
	}
	return fmt.Errorf("this needs an API token with the %s scope; a login does not push data", need)
}
