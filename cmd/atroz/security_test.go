package main

import (
	"strings"
	"testing"

	"atroz/web"
)

func TestSecurityRateLimitSettings(t *testing.T) {
	c, err := parseTestConfig(map[string]string{"RATE_LIMIT_USER_PER_MINUTE": "9000", "RATE_LIMIT_INGEST_TOKEN_PER_MINUTE": "50000", "RATE_LIMIT_PER_MINUTE": "30"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.WebConfig("test").RateLimits
	want := web.RateLimitOptions{APIPerMinute: 30, AuthPerMinute: 20, IngestPerMinute: 6000, UserPerMinute: 9000, IngestTokenPerMinute: 50000}
	if got.APIPerMinute != want.APIPerMinute || got.AuthPerMinute != want.AuthPerMinute || got.IngestPerMinute != want.IngestPerMinute ||
		got.UserPerMinute != want.UserPerMinute || got.IngestTokenPerMinute != want.IngestTokenPerMinute {
		t.Errorf("RateLimits = %+v, want %+v", got, want)
	}
	dc := DefaultConfig()
	d := dc.WebConfig("test").RateLimits
	if d.UserPerMinute != web.DefaultRateLimitUser || d.IngestTokenPerMinute != web.DefaultRateLimitIngestToken {
		t.Errorf("default RateLimits = %+v", d)
	}
}

func TestSecurityRateLimitValidate(t *testing.T) {
	f := func(modify func(*SecurityConfig), want string) {
		t.Helper()
		c := DefaultConfig()
		modify(&c.Security)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, want)
		}
	}
	f(func(s *SecurityConfig) { s.RateLimitPerMinute = 0 }, "config RATE_LIMIT_PER_MINUTE: must be at least 1 a minute, got 0")
	f(func(s *SecurityConfig) { s.RateLimitAuthPerMinute = -1 }, "config RATE_LIMIT_AUTH_PER_MINUTE: must be at least 1 a minute, got -1")
	f(func(s *SecurityConfig) { s.RateLimitIngestPerMinute = 0 }, "config RATE_LIMIT_INGEST_PER_MINUTE: must be at least 1 a minute, got 0")
	f(func(s *SecurityConfig) { s.RateLimitUserPerMinute = 0 }, "config RATE_LIMIT_USER_PER_MINUTE: must be at least 1 a minute, got 0")
	f(func(s *SecurityConfig) { s.RateLimitIngestTokenPerMinute = -5 }, "config RATE_LIMIT_INGEST_TOKEN_PER_MINUTE: must be at least 1 a minute, got -5")
}

func TestSecurityRateLimitFlags(t *testing.T) {
	c, err := parseTestConfig(nil, "-rate-limit-user-per-minute", "4000", "-rate-limit-ingest-token-per-minute", "70000")
	if err != nil {
		t.Fatal(err)
	}
	if c.Security.RateLimitUserPerMinute != 4000 || c.Security.RateLimitIngestTokenPerMinute != 70000 {
		t.Errorf("flags gave %+v", c.Security)
	}
	if _, err := parseTestConfig(map[string]string{"RATE_LIMIT_USER_PER_MINUTE": "lots"}); err == nil || !strings.Contains(err.Error(), "config RATE_LIMIT_USER_PER_MINUTE: invalid value") {
		t.Errorf("RATE_LIMIT_USER_PER_MINUTE=lots: err = %v", err)
	}
}
