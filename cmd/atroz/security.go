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
	// RateLimitPerMinute and RateLimitAuthPerMinute limit each client IP on the API and on logins.
	RateLimitPerMinute, RateLimitAuthPerMinute int
	// RateLimitIngestPerMinute limits each client IP on beacons and ingest
	// (RATE_LIMIT_INGEST_PER_MINUTE). Default 6000.
	RateLimitIngestPerMinute int
	// RedisURL shares rate limits between instances (REDIS_URL).
	RedisURL string
	// HTTPRedirectAddr, with TLS, also listens for plain HTTP there and
	// answers 308 to HTTPS (HTTP_REDIRECT_ADDR, e.g. :80).
	HTTPRedirectAddr string
}

func defaultSecurityConfig() SecurityConfig {
	return SecurityConfig{JWTAlgorithm: "HS256", JWTExpirationMinutes: 30, RateLimitPerMinute: 100, RateLimitAuthPerMinute: 20, RateLimitIngestPerMinute: 6000}
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
		{"rate-limit-per-minute", "API requests per client IP per minute", &s.RateLimitPerMinute},
		{"rate-limit-auth-per-minute", "login attempts per client IP per minute", &s.RateLimitAuthPerMinute},
		{"rate-limit-ingest-per-minute", "beacon and ingest requests per client IP per minute", &s.RateLimitIngestPerMinute},
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
	check(s.RateLimitPerMinute < 1 || s.RateLimitAuthPerMinute < 1 || s.RateLimitIngestPerMinute < 1, "RATE_LIMIT_PER_MINUTE", "limits must be at least 1 a minute")
	check(slices.Contains(splitList(origins), "*"), "ALLOWED_ORIGINS", "must list origins; * would let any site use logged-in sessions")
	check(production && s.TLSCertFile == "" && strings.TrimSpace(proxies) == "", "TLS_CERT_FILE", "production needs HTTPS: set TLS_CERT_FILE and TLS_KEY_FILE, or TRUSTED_PROXIES for a TLS-terminating proxy")
	return errs
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
