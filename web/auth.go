package web

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"atroz/auth"

	jwt "github.com/appleboy/gin-jwt/v2"
	"github.com/gin-gonic/gin"
)

// AuthConfig configures logins and their tokens.
type AuthConfig struct {
	// Algorithm is HS256 (default, with Secret) or RS256, RS384, RS512 (with the key files).
	Algorithm               string
	Secret                  []byte
	PrivKeyFile, PubKeyFile string
	// Expiration is a token's lifetime. Default 30m.
	Expiration time.Duration
	// MaxRefresh bounds refreshing: no token outlives the login it came from by more. Default 24h.
	MaxRefresh time.Duration
	// Issuer and Audience are set in every token and checked on every request. Default "atroz".
	Issuer, Audience string
	// SecureCookie marks the session cookie Secure (under HTTPS).
	SecureCookie bool
}

// CookieName is the session cookie holding the token for browsers.
const CookieName = "atroz_token"

// maxTokenBytes bounds what is parsed as a token: a megabyte of dots is refused before parsing.
const maxTokenBytes = 4096

// Claims keys AtroZ adds to gin-jwt's.
const (
	claimSubject  = "sub"
	claimRole     = "role"
	claimAuthTime = "auth_time"
	claimID       = "jti"
	// claimSession is the user's session generation at login (a decimal
	// string: a JSON number would lose the low bits of a uint64).
	claimSession = "sgen"
)

// sessions is the login machinery: gin-jwt plus the checks it lacks, over
// the users and the revoked sessions that users keeps.
type sessions struct {
	cfg    AuthConfig
	users  *auth.Service
	mw     *jwt.GinJWTMiddleware
	now    func() time.Time
	onFail func(c *gin.Context, action string)
	// throttle makes a user name's logins wait after failures; nil admits all.
	throttle *loginThrottle
}

func newAuth(cfg AuthConfig, users *auth.Service, now func() time.Time, onFail func(*gin.Context, string)) (*sessions, error) {
	a := &sessions{cfg: withAuthDefaults(cfg), users: users, now: now, onFail: onFail}
	mw, err := jwt.New(&jwt.GinJWTMiddleware{
		Realm:            "atroz",
		SigningAlgorithm: a.cfg.Algorithm,
		Key:              a.cfg.Secret,
		PrivKeyFile:      a.cfg.PrivKeyFile,
		PubKeyFile:       a.cfg.PubKeyFile,
		Timeout:          a.cfg.Expiration,
		MaxRefresh:       a.cfg.MaxRefresh,
		IdentityKey:      claimSubject,
		Authenticator:    a.authenticate,
		PayloadFunc:      a.payload,
		Unauthorized:     a.unauthorized,
		LoginResponse:    tokenResponse,
		RefreshResponse:  tokenResponse,
		LogoutResponse:   func(c *gin.Context, code int) { c.JSON(code, gin.H{"status": "success"}) },
		TokenLookup:      "header: Authorization, cookie: " + CookieName,
		TokenHeadName:    "Bearer",
		TimeFunc:         now,
		SendCookie:       true,
		CookieName:       CookieName,
		CookieHTTPOnly:   true,
		CookieSameSite:   http.SameSiteStrictMode,
		SecureCookie:     a.cfg.SecureCookie,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	a.mw = mw
	return a, nil
}

func withAuthDefaults(c AuthConfig) AuthConfig {
	if c.Algorithm == "" {
		c.Algorithm = "HS256"
	}
	if c.Expiration <= 0 {
		c.Expiration = 30 * time.Minute
	}
	if c.MaxRefresh <= 0 {
		c.MaxRefresh = 24 * time.Hour
	}
	if c.Issuer == "" {
		c.Issuer = "atroz"
	}
	if c.Audience == "" {
		c.Audience = "atroz"
	}
	return c
}

type loginBody struct {
	Username string `json:"username" form:"username"`
	Password string `json:"password" form:"password"`
}

// authenticate checks a login's user name and password, unless the name
// must wait after its failed logins: then it answers 429 itself, having
// checked nothing, and gin-jwt's 401 after it is dropped.
func (a *sessions) authenticate(c *gin.Context) (any, error) {
	var lb loginBody
	if err := c.ShouldBind(&lb); err != nil || lb.Username == "" || lb.Password == "" {
		return nil, jwt.ErrMissingLoginValues
	}
	if wait := a.throttle.admit(lb.Username); wait > 0 {
		refuseThrottled(c, wait)
		return nil, errLoginThrottled
	}
	u, ok := a.users.VerifyUser(lb.Username, lb.Password)
	if !ok {
		a.onFail(c, "login refused")
		return nil, jwt.ErrFailedAuthentication
	}
	a.throttle.succeeded(lb.Username)
	return &u, nil
}

// payload puts the user, role, session generation, issuer, audience, a
// unique ID and the time of the login (kept across refreshes) in the token.
// The role is informational: each request takes it from the stored user.
func (a *sessions) payload(data any) jwt.MapClaims {
	u, ok := data.(*auth.User)
	if !ok {
		return jwt.MapClaims{}
	}
	now := a.now()
	return jwt.MapClaims{
		claimSubject: u.Name, claimRole: u.Role, claimSession: strconv.FormatUint(u.Session, 10), "iss": a.cfg.Issuer, "aud": a.cfg.Audience,
		claimID: randomID(), claimAuthTime: now.Unix(), "nbf": now.Unix(), "iat": now.Unix(),
	}
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

func (a *sessions) unauthorized(c *gin.Context, code int, message string) {
	if code == http.StatusUnauthorized {
		a.onFail(c, message)
	}
	abortWithError(c, code, ErrorUnauthorized, errors.New(message))
}

func tokenResponse(c *gin.Context, code int, token string, expire time.Time) {
	c.JSON(code, gin.H{"status": "success", "data": gin.H{"token": token, "expires": expire.UTC()}})
}

// bounded refuses an oversized token before any parsing.
func bounded(c *gin.Context) bool {
	if len(c.GetHeader("Authorization")) > maxTokenBytes {
		return false
	}
	ck, err := c.Cookie(CookieName)
	return err != nil || len(ck) <= maxTokenBytes
}

// validClaims parses the request's token (signature, algorithm, exp, nbf),
// applies AtroZ's own checks and returns the claims and the stored user.
func (a *sessions) validClaims(c *gin.Context) (map[string]any, auth.User, error) {
	if !bounded(c) {
		return nil, auth.User{}, errors.New("token too large")
	}
	claims, err := a.mw.GetClaimsFromJWT(c)
	if err != nil {
		return nil, auth.User{}, err
	}
	exp, ok := claims["exp"].(float64)
	if !ok || int64(exp) < a.now().Unix() {
		return nil, auth.User{}, errors.New("token is expired or has no expiry")
	}
	u, err := a.checkClaims(claims)
	return claims, u, err
}

// checkClaims verifies what gin-jwt does not: issuer, audience, that the
// login the token descends from is within MaxRefresh, and that its session
// has not ended (user removed, role or password changed, logout). It
// returns the user as stored now, whose role is the one that counts.
func (a *sessions) checkClaims(claims map[string]any) (auth.User, error) {
	switch {
	case claims["iss"] != a.cfg.Issuer:
		return auth.User{}, errors.New("token has the wrong issuer")
	case claims["aud"] != a.cfg.Audience:
		return auth.User{}, errors.New("token has the wrong audience")
	}
	at, ok := claims[claimAuthTime].(float64)
	if !ok || a.now().Sub(time.Unix(int64(at), 0)) > a.cfg.MaxRefresh {
		return auth.User{}, errors.New("login is too old: log in again")
	}
	name, session, ok := sessionOf(claims)
	if !ok {
		return auth.User{}, errors.New("token has no session generation: log in again")
	}
	u, err := a.users.Session(name, session, fmt.Sprint(claims[claimID]))
	if err != nil {
		return auth.User{}, fmt.Errorf("token refused: %w", err)
	}
	return u, nil
}

// sessionOf returns the user name and session generation a token carries.
func sessionOf(claims map[string]any) (name string, session uint64, ok bool) {
	name, _ = claims[claimSubject].(string)
	sg, _ := claims[claimSession].(string)
	session, err := strconv.ParseUint(sg, 10, 64)
	return name, session, name != "" && err == nil
}

// refresh issues a new token for a valid, unexpired one, never past
// MaxRefresh since the original login (gin-jwt alone would slide that
// window forever, and would also refresh expired tokens).
func (a *sessions) refresh(c *gin.Context) {
	if _, _, err := a.validClaims(c); err != nil {
		a.unauthorized(c, http.StatusUnauthorized, err.Error())
		return
	}
	a.mw.RefreshHandler(c)
}

// logout revokes the token until it expires, in the user's stored record so
// a restart keeps refusing it, and clears the cookie.
func (a *sessions) logout(c *gin.Context) {
	if !bounded(c) {
		a.unauthorized(c, http.StatusUnauthorized, "token too large")
		return
	}
	claims, err := a.mw.GetClaimsFromJWT(c)
	if err == nil {
		name, session, hasSession := sessionOf(claims)
		if exp, ok := claims["exp"].(float64); ok && hasSession {
			if err := a.users.RevokeSession(name, session, fmt.Sprint(claims[claimID]), time.Unix(int64(exp), 0)); err != nil {
				abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
				return
			}
		}
	}
	a.mw.LogoutHandler(c)
}
