package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"atroz/web"
)

// SecurityConfig holds the settings of logins, TLS and rate limits.
type SecurityConfig struct {
	// JWTSecretKey signs HS256 tokens (JWT_SECRET_KEY); production needs 32 bytes or more.
	JWTSecretKey string
	// JWTAlgorithm is HS256, or RS256/RS384/RS512 with the key files (JWT_ALGORITHM).
	JWTAlgorithm string
	// JWTPrivateKeyFile and JWTPublicKeyFile are PEM files for RS algorithms.
	JWTPrivateKeyFile, JWTPublicKeyFile string
	// JWTExpirationMinutes is a token's lifetime (JWT_EXPIRATION_MINUTES). Default 30.
	JWTExpirationMinutes int
	// TLSCertFile and TLSKeyFile serve HTTPS (TLS 1.2+) directly.
	TLSCertFile, TLSKeyFile string
	// RateLimitPerMinute limits each client IP's anonymous API requests
	// (RATE_LIMIT_PER_MINUTE). Default 100.
	RateLimitPerMinute int
	// RateLimitAuthPerMinute limits each client IP's logins
	// (RATE_LIMIT_AUTH_PER_MINUTE). Default 20.
	RateLimitAuthPerMinute int
	// RateLimitIngestPerMinute limits each client IP's beacons and ingest
	// without an ingest token (RATE_LIMIT_INGEST_PER_MINUTE). Default 6000.
	RateLimitIngestPerMinute int
	// RateLimitUserPerMinute limits each user's and each token's API
	// requests, from wherever they come (RATE_LIMIT_USER_PER_MINUTE).
	// Default 6000: dashboards and Grafana.
	RateLimitUserPerMinute int
	// RateLimitIngestTokenPerMinute limits each ingest token's beacons and
	// ingest (RATE_LIMIT_INGEST_TOKEN_PER_MINUTE). Default 1,200,000:
	// pipelines and load tests.
	RateLimitIngestTokenPerMinute int
	// RedisURL shares rate limits between instances (REDIS_URL).
	RedisURL string
	// HTTPRedirectAddr, with TLS, also listens for plain HTTP there and
	// answers 308 to HTTPS (HTTP_REDIRECT_ADDR, e.g. :80).
	HTTPRedirectAddr string
}

func defaultSecurityConfig() SecurityConfig {
	return SecurityConfig{
		JWTAlgorithm: "HS256", JWTExpirationMinutes: 30,
		RateLimitPerMinute: web.DefaultRateLimitAPI, RateLimitAuthPerMinute: web.DefaultRateLimitAuth, RateLimitIngestPerMinute: web.DefaultRateLimitIngest,
		RateLimitUserPerMinute: web.DefaultRateLimitUser, RateLimitIngestTokenPerMinute: web.DefaultRateLimitIngestToken,
	}
}

func (s *SecurityConfig) settings() []setting {
	return []setting{
		{"jwt-secret-key", "HS256 signing key, 32 bytes or more (development keeps a random one in DATA_DIR)", &s.JWTSecretKey},
		{"jwt-algorithm", "HS256, RS256, RS384 or RS512", &s.JWTAlgorithm},
		{"jwt-private-key-file", "PEM private key for RS algorithms", &s.JWTPrivateKeyFile},
		{"jwt-public-key-file", "PEM public key for RS algorithms", &s.JWTPublicKeyFile},
		{"jwt-expiration-minutes", "lifetime of a login token", &s.JWTExpirationMinutes},
		{"tls-cert-file", "certificate (PEM) to serve HTTPS with", &s.TLSCertFile},
		{"tls-key-file", "private key (PEM) of the certificate", &s.TLSKeyFile},
		{"rate-limit-per-minute", "anonymous API requests per client IP per minute", &s.RateLimitPerMinute},
		{"rate-limit-auth-per-minute", "login attempts per client IP per minute", &s.RateLimitAuthPerMinute},
		{"rate-limit-ingest-per-minute", "beacon and ingest requests per client IP per minute, without an ingest token", &s.RateLimitIngestPerMinute},
		{"rate-limit-user-per-minute", "API requests per user or token per minute", &s.RateLimitUserPerMinute},
		{"rate-limit-ingest-token-per-minute", "beacon and ingest requests per ingest token per minute", &s.RateLimitIngestTokenPerMinute},
		{"redis-url", "Redis URL to share rate limits between instances", &s.RedisURL},
		{"http-redirect-addr", "with TLS, a plain-HTTP address answering 308 to HTTPS", &s.HTTPRedirectAddr},
	}
}

func (s *SecurityConfig) validate(production bool, origins, proxies string) []error {
	var errs []error
	check := func(bad bool, env, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{env}, args...)...))
		}
	}
	hs := s.JWTAlgorithm == "HS256"
	check(!slices.Contains([]string{"HS256", "RS256", "RS384", "RS512"}, s.JWTAlgorithm), "JWT_ALGORITHM", "must be HS256, RS256, RS384 or RS512, got %q", s.JWTAlgorithm)
	check(!hs && (s.JWTPrivateKeyFile == "" || s.JWTPublicKeyFile == ""), "JWT_ALGORITHM", "%s needs JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE", s.JWTAlgorithm)
	check(production && hs && len(s.JWTSecretKey) < 32, "JWT_SECRET_KEY", "production needs a key of at least 32 bytes, got %d", len(s.JWTSecretKey))
	check(s.JWTSecretKey != "" && len(s.JWTSecretKey) < 32, "JWT_SECRET_KEY", "must be at least 32 bytes, got %d", len(s.JWTSecretKey))
	check(s.JWTExpirationMinutes < 1 || s.JWTExpirationMinutes > 24*60, "JWT_EXPIRATION_MINUTES", "must be between 1 and 1440, got %d", s.JWTExpirationMinutes)
	check((s.TLSCertFile == "") != (s.TLSKeyFile == ""), "TLS_CERT_FILE", "needs TLS_KEY_FILE and the other way round")
	for _, l := range s.rateLimits() {
		check(*l.n < 1, l.env, "must be at least 1 a minute, got %d", *l.n)
	}
	check(slices.Contains(splitList(origins), "*"), "ALLOWED_ORIGINS", "must list origins; * would let any site write beacon series (development alone takes beacons from anywhere)")
	check(production && s.TLSCertFile == "" && strings.TrimSpace(proxies) == "", "TLS_CERT_FILE", "production needs HTTPS: set TLS_CERT_FILE and TLS_KEY_FILE, or TRUSTED_PROXIES for a TLS-terminating proxy")
	return errs
}

// rateLimit is one rate-limit setting and its environment variable.
type rateLimit struct {
	env string
	n   *int
}

// rateLimits lists the rate-limit settings.
func (s *SecurityConfig) rateLimits() []rateLimit {
	return []rateLimit{
		{"RATE_LIMIT_PER_MINUTE", &s.RateLimitPerMinute},
		{"RATE_LIMIT_AUTH_PER_MINUTE", &s.RateLimitAuthPerMinute},
		{"RATE_LIMIT_INGEST_PER_MINUTE", &s.RateLimitIngestPerMinute},
		{"RATE_LIMIT_USER_PER_MINUTE", &s.RateLimitUserPerMinute},
		{"RATE_LIMIT_INGEST_TOKEN_PER_MINUTE", &s.RateLimitIngestTokenPerMinute},
	}
}

// rateLimitOptions maps the rate-limit settings to the server's.
func (s *SecurityConfig) rateLimitOptions() web.RateLimitOptions {
	return web.RateLimitOptions{
		APIPerMinute: int64(s.RateLimitPerMinute), AuthPerMinute: int64(s.RateLimitAuthPerMinute),
		IngestPerMinute: int64(s.RateLimitIngestPerMinute), UserPerMinute: int64(s.RateLimitUserPerMinute),
		IngestTokenPerMinute: int64(s.RateLimitIngestTokenPerMinute), RedisURL: s.RedisURL,
	}
}

// authConfig builds the login settings, keeping a random development key in dataDir.
func (s *SecurityConfig) authConfig(dataDir string, https bool) (web.AuthConfig, error) {
	ac := web.AuthConfig{
		Algorithm: s.JWTAlgorithm, PrivKeyFile: s.JWTPrivateKeyFile, PubKeyFile: s.JWTPublicKeyFile,
		Expiration: time.Duration(s.JWTExpirationMinutes) * time.Minute, SecureCookie: https,
	}
	if s.JWTAlgorithm != "HS256" {
		return ac, nil
	}
	if s.JWTSecretKey != "" {
		ac.Secret = []byte(s.JWTSecretKey)
		return ac, nil
	}
	key, err := devSecret(filepath.Join(dataDir, "jwt-secret"))
	ac.Secret = key
	return ac, err
}

// devSecret reads the development signing key, creating a random one first.
func devSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path) // #nosec G304 G703 -- inside DATA_DIR, the operator's setting
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)                                  // crypto/rand.Read never fails on supported platforms
	if err := os.WriteFile(path, key, 0o600); err != nil { // #nosec G703 -- inside DATA_DIR, the operator's setting
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return key, nil
}
