package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// security builds the login machinery, rate limits, security events and
// the WebSocket hub from the configuration.
func (s *Server) security() error {
	s.https = IsHTTPS(len(s.cfg.TrustedProxies) > 0)
	s.self = RequestOrigin(s.https)
	s.events = NewSecurityEvents(s.log, s.cfg.TruncateIPs)
	s.col.AddWriter(s.events.WriteMetrics)
	var err error
	if s.auth, err = newAuth(s.cfg.Auth, s.access, time.Now, func(c *gin.Context, action string) { s.securityEvent(c, SecurityAuthFailure, action) }); err != nil {
		return err
	}
	s.auth.throttle = newLoginThrottle(time.Now)
	s.col.AddWriter(s.auth.throttle.WriteMetrics)
	rl := s.cfg.RateLimits
	rl.OnLimited = func(c *gin.Context, class string) { s.securityEvent(c, SecurityRateLimited, class) }
	rl.Logger = s.log
	if s.limits, err = NewRateLimiter(rl); err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	s.col.AddWriter(s.limits.WriteMetrics)
	ws := s.cfg.WS
	ws.Authenticate = s.wsSession
	ws.AllowOrigin = s.credentialedAllowed
	ws.OnConnect = s.col.WebSocketConnected
	ws.OnDisconnect = s.col.WebSocketDisconnected
	ws.OnReject = func(c *gin.Context, why string) { s.securityEvent(c, SecurityWSRejected, why) }
	ws.Logger = s.log
	s.hub = NewHub(ws)
	s.access.OnSessionsEnded(s.hub.Recheck)
	return nil
}

// wsSession admits a WebSocket upgrade carrying a valid login (cookie or
// bearer); the connection stands while the login's session does.
func (s *Server) wsSession(r *http.Request) (WSSession, bool) {
	c := &gin.Context{Request: r} // the token parser reads only the request
	claims, u, err := s.auth.validClaims(c)
	if err != nil {
		return WSSession{}, false
	}
	exp, _ := claims["exp"].(float64)
	id := fmt.Sprint(claims[claimID])
	valid := func() bool {
		_, err := s.access.Session(u.Name, u.Session, id)
		return err == nil
	}
	return WSSession{User: u.Name, Role: u.Role, Expires: time.Unix(int64(exp), 0), Valid: valid}, true
}

// credentialedAllowed reports whether a browser origin is in
// CORS_CREDENTIALED_ORIGINS: its pages may use a session cookie.
func (s *Server) credentialedAllowed(origin string) bool { return s.credentialed[origin] }

// cors refuses requests from foreign browser origins with a clear 403 (the
// beacon handler words its own), then applies the beacon route's CORS rule
// to beacons and the API's to everything else. Beacon origins
// (ALLOWED_ORIGINS) get the beacon route and script alone, without
// credentials; only CredentialedOrigins, and loopback pages in
// development, may call the API with the browser's cookies. The server's
// own origin is never foreign.
func (s *Server) cors() gin.HandlerFunc {
	api := APICORS(s.cfg.CredentialedOrigins, s.cfg.Development)
	beaconAllowed := func(o string) bool { return s.cfg.Development || s.origins[o] }
	beacon := BeaconCORS(beaconAllowed)
	return func(c *gin.Context) {
		origin := c.GetHeader("Origin")
		if origin == "" || origin == s.self(c) {
			c.Next()
			return
		}
		isBeacon := c.Request.URL.Path == "/api/v1/beacons" || c.Request.URL.Path == "/beacon.js"
		allowed := s.credentialed[origin] || (s.cfg.Development && isLoopbackOrigin(origin))
		if isBeacon {
			allowed = beaconAllowed(origin)
		}
		switch {
		case !allowed && isBeacon && c.Request.Method == http.MethodPost:
			c.Next() // the beacon handler refuses it, naming the setting
		case !allowed:
			s.securityEvent(c, SecurityOriginBlocked, origin)
			abortWithError(c, http.StatusForbidden, ErrorForbidden, s.foreignOrigin(origin, isBeacon))
		case isBeacon:
			beacon(c)
		default:
			api(c)
		}
	}
}

// foreignOrigin is the error refusing origin: beacon origins are told why
// they may not call the API.
func (s *Server) foreignOrigin(origin string, beacon bool) error {
	switch {
	case beacon:
		return fmt.Errorf("origin %q is not in ALLOWED_ORIGINS", origin)
	case s.origins[origin]:
		return fmt.Errorf("origin %q may send beacons (ALLOWED_ORIGINS) but not call the API with credentials: that needs CORS_CREDENTIALED_ORIGINS", origin)
	}
	return fmt.Errorf("origin %q is not in CORS_CREDENTIALED_ORIGINS", origin)
}

// Hub returns the live-update WebSocket hub.
func (s *Server) Hub() *Hub { return s.hub }

// Close releases the rate limiter's store and closes WebSocket connections.
func (s *Server) Close() error {
	return errors.Join(s.hub.Close(), s.limits.Close())
}

// securityStatus reports the effective security settings, never a secret.
func (s *Server) securityStatus(c *gin.Context) {
	rl := s.cfg.RateLimits
	success(c, gin.H{
		"environment":               map[bool]string{true: "development", false: "production"}[s.cfg.Development],
		"https":                     s.https(c),
		"jwt":                       gin.H{"algorithm": s.auth.cfg.Algorithm, "expiration_seconds": s.auth.cfg.Expiration.Seconds(), "max_refresh_seconds": s.auth.cfg.MaxRefresh.Seconds(), "issuer": s.auth.cfg.Issuer, "audience": s.auth.cfg.Audience},
		"cors_origins":              nonNil(s.cfg.AllowedOrigins),
		"cors_credentialed_origins": nonNil(s.cfg.CredentialedOrigins),
		"rate_limits": gin.H{
			"api_per_minute": orDefaultInt(rl.APIPerMinute, DefaultRateLimitAPI), "auth_per_minute": orDefaultInt(rl.AuthPerMinute, DefaultRateLimitAuth),
			"ingest_per_minute": orDefaultInt(rl.IngestPerMinute, DefaultRateLimitIngest), "user_per_minute": orDefaultInt(rl.UserPerMinute, DefaultRateLimitUser),
			"ingest_token_per_minute": orDefaultInt(rl.IngestTokenPerMinute, DefaultRateLimitIngestToken), "shared_store": rl.RedisURL != "",
		},
		"trusted_proxies": nonNil(s.cfg.TrustedProxies),
		"headers":         SecurityHeaderSet(),
		"gdpr":            gin.H{"ip_truncation": s.cfg.TruncateIPs, "retention_days": s.cfg.Retention.Hours() / 24},
		"websocket":       gin.H{"connections": s.hub.Connections()},
	}, nil)
}

// httpsOnly redirects, in production behind a TLS-terminating proxy, a
// request that reached the proxy over plain HTTP: 308 keeps the method and
// body, so a redirected beacon POST survives. /health stays plain for load
// balancers' probes.
func (s *Server) httpsOnly() gin.HandlerFunc {
	active := !s.cfg.Development && s.cfg.TLS == nil && len(s.cfg.TrustedProxies) > 0
	return func(c *gin.Context) {
		if !active || s.https(c) || c.ClientIP() == c.RemoteIP() || c.Request.URL.Path == "/health" {
			return
		}
		c.Redirect(http.StatusPermanentRedirect, "https://"+c.Request.Host+c.Request.URL.RequestURI())
		c.Abort()
	}
}
