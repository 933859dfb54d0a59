package web

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	apiPath    = "/api/v1/x"
	loginPath  = "/api/v1/auth/login"
	beaconPath = "/api/v1/beacons"
	ipA        = "192.0.2.1:1000"
	ipB        = "198.51.100.7:2000"
)

// as is the header pair that makes a request act as kind:name.
func as(who string) []string { return []string{"X-Test-Principal", who} }

func TestRateLimitPerPrincipal(t *testing.T) {
	o := RateLimitOptions{APIPerMinute: 3, AuthPerMinute: 2, IngestPerMinute: 4, UserPerMinute: 5, IngestTokenPerMinute: 6}
	cases := []struct {
		name string
		run  func(t *testing.T, e http.Handler)
	}{
		{"anonymous API per IP", func(t *testing.T, e http.Handler) {
			spend(t, e, 3, "GET", apiPath, ipA)
			checkLimited(t, hit(e, "GET", apiPath, ipA), 3)
			spend(t, e, 3, "GET", apiPath, ipB)
		}},
		{"logins per IP, whoever asks", func(t *testing.T, e http.Handler) {
			spend(t, e, 1, "POST", loginPath, ipA, as("user:ana")...)
			spend(t, e, 1, "POST", loginPath, ipA)
			checkLimited(t, hit(e, "POST", loginPath, ipA, as("user:bo")...), 2)
			spend(t, e, 2, "POST", loginPath, ipB, as("user:ana")...)
		}},
		{"a user per name: two IPs share it", func(t *testing.T, e http.Handler) {
			spend(t, e, 3, "GET", apiPath, ipA, as("user:ana")...)
			spend(t, e, 2, "GET", apiPath, ipB, as("user:ana")...)
			checkLimited(t, hit(e, "GET", apiPath, ipA, as("user:ana")...), 5)
			checkLimited(t, hit(e, "GET", apiPath, ipB, as("user:ana")...), 5)
		}},
		{"two users on one IP have their own budgets, and so has the IP", func(t *testing.T, e http.Handler) {
			spend(t, e, 5, "GET", apiPath, ipA, as("user:ana")...)
			spend(t, e, 5, "GET", apiPath, ipA, as("user:bo")...)
			spend(t, e, 3, "GET", apiPath, ipA)
			checkLimited(t, hit(e, "GET", apiPath, ipA, as("user:ana")...), 5)
		}},
		{"a read token per token", func(t *testing.T, e http.Handler) {
			spend(t, e, 3, "GET", apiPath, ipA, as("token:grafana")...)
			spend(t, e, 2, "GET", apiPath, ipB, as("token:grafana")...)
			checkLimited(t, hit(e, "GET", apiPath, ipB, as("token:grafana")...), 5)
			spend(t, e, 5, "GET", apiPath, ipB, as("token:promtool")...)
		}},
		{"a user and a token of one name are apart, and a user named like an IP is not the IP", func(t *testing.T, e http.Handler) {
			spend(t, e, 5, "GET", apiPath, ipA, as("user:ops")...)
			spend(t, e, 5, "GET", apiPath, ipA, as("token:ops")...)
			spend(t, e, 5, "GET", apiPath, ipA, as("user:192.0.2.1")...)
			spend(t, e, 3, "GET", apiPath, ipA)
		}},
		{"an ingest token per token", func(t *testing.T, e http.Handler) {
			spend(t, e, 4, "POST", beaconPath, ipA, as("token:pipeline")...)
			spend(t, e, 2, "POST", beaconPath, ipB, as("token:pipeline")...)
			checkLimited(t, hit(e, "POST", beaconPath, ipA, as("token:pipeline")...), 6)
			spend(t, e, 6, "POST", beaconPath, ipA, as("token:load")...)
			spend(t, e, 4, "POST", beaconPath, ipA) // browsers on the same IP keep theirs
			// A token's ingest and API budgets are apart: a pipeline does not starve its own queries.
			spend(t, e, 5, "GET", apiPath, ipA, as("token:pipeline")...)
		}},
		{"a token without the ingest scope sends beacons per IP", func(t *testing.T, e http.Handler) {
			spend(t, e, 4, "POST", beaconPath, ipA, as("token:grafana:read")...)
			checkLimited(t, hit(e, "POST", beaconPath, ipA), 4)
			spend(t, e, 5, "GET", apiPath, ipA, as("token:grafana:read")...)
		}},
		{"beaconPath without a token per IP, a logged-in browser's too", func(t *testing.T, e http.Handler) {
			spend(t, e, 2, "POST", beaconPath, ipA)
			spend(t, e, 2, "POST", beaconPath, ipA, as("user:ana")...)
			checkLimited(t, hit(e, "POST", beaconPath, ipA), 4)
			spend(t, e, 4, "POST", beaconPath, ipB)
		}},
		{"credentials that identify no one are charged to the IP's anonymous API budget", func(t *testing.T, e http.Handler) {
			bad := []string{"Authorization", "Bearer atz_guess"}
			spend(t, e, 2, "POST", beaconPath, ipA, bad...)
			spend(t, e, 1, "GET", apiPath, ipA, bad...)
			w := hit(e, "POST", beaconPath, ipA, bad...)
			checkLimited(t, w, 3)
			if !strings.Contains(w.Body.String(), "credentials not accepted") {
				t.Errorf("body = %s, want it to say the credentials were not accepted", w.Body)
			}
			checkLimited(t, hit(e, "GET", apiPath, ipA), 3)
			spend(t, e, 4, "POST", beaconPath, ipA) // beaconPath without credentials keep theirs
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, limitedEngine(t, newTestLimiter(t, o), nil))
		})
	}
}

func TestRateLimitForgedForwardedForAPI(t *testing.T) {
	e := limitedEngine(t, newTestLimiter(t, RateLimitOptions{APIPerMinute: 2, IngestPerMinute: 2}), nil)
	for _, path := range []string{apiPath, beaconPath} {
		method := map[string]string{apiPath: "GET", beaconPath: "POST"}[path]
		spend(t, e, 1, method, path, ipA, "X-Forwarded-For", "203.0.113.1")
		spend(t, e, 1, method, path, ipA, "X-Forwarded-For", "203.0.113.2", "X-Real-IP", "203.0.113.3")
		checkLimited(t, hit(e, method, path, ipA, "X-Forwarded-For", "203.0.113.4"), 2)
	}
}

func TestRateLimitTrustedProxyAPI(t *testing.T) {
	e := limitedEngine(t, newTestLimiter(t, RateLimitOptions{APIPerMinute: 2, UserPerMinute: 3}), []string{"10.0.0.0/8"})
	spend(t, e, 2, "GET", apiPath, "10.0.0.1:443", "X-Forwarded-For", "203.0.113.1")
	spend(t, e, 2, "GET", apiPath, "10.0.0.2:443", "X-Forwarded-For", "203.0.113.2")
	checkLimited(t, hit(e, "GET", apiPath, "10.0.0.2:443", "X-Forwarded-For", "203.0.113.1"), 2)
	// A user behind the proxy is one budget whichever address it is forwarded for.
	spend(t, e, 2, "GET", apiPath, "10.0.0.1:443", append(as("user:ana"), "X-Forwarded-For", "203.0.113.5")...)
	spend(t, e, 1, "GET", apiPath, "10.0.0.1:443", append(as("user:ana"), "X-Forwarded-For", "203.0.113.6")...)
	checkLimited(t, hit(e, "GET", apiPath, "10.0.0.1:443", append(as("user:ana"), "X-Forwarded-For", "203.0.113.7")...), 3)
}

func TestRateLimitDefaults(t *testing.T) {
	e := limitedEngine(t, newTestLimiter(t, RateLimitOptions{}), nil)
	f := func(method, path string, want string, header ...string) {
		t.Helper()
		if got := hit(e, method, path, ipA, header...).Header().Get("RateLimit-Limit"); got != want {
			t.Errorf("%s %s %v: RateLimit-Limit = %s, want %s", method, path, header, got, want)
		}
	}
	f("GET", apiPath, "100")
	f("GET", apiPath, "6000", as("user:ana")...)
	f("GET", apiPath, "6000", as("token:grafana")...)
	f("POST", loginPath, "20", as("user:ana")...)
	f("POST", beaconPath, "6000")
	f("POST", beaconPath, "1200000", as("token:load")...)
}

func TestRateLimitWindow(t *testing.T) {
	e := limitedEngine(t, newTestLimiter(t, RateLimitOptions{Window: 2 * time.Second, UserPerMinute: 150, APIPerMinute: 1}), nil)
	spend(t, e, 5, "GET", apiPath, ipA, as("user:ana")...) // 150 a minute is 5 in 2 s
	w := hit(e, "GET", apiPath, ipA, as("user:ana")...)
	checkLimited(t, w, 5)
	if ra := w.Header().Get("Retry-After"); ra != "1" && ra != "2" {
		t.Errorf("Retry-After = %s, want 1 or 2 seconds", ra)
	}
	spend(t, e, 1, "GET", apiPath, ipA) // a budget below one a window still allows one
	f := func(n int64, window time.Duration, want int64) {
		t.Helper()
		if got := perWindow(n, window); got != want {
			t.Errorf("perWindow(%d, %s) = %d, want %d", n, window, got, want)
		}
	}
	f(100, time.Minute, 100)
	f(1<<40, time.Minute, 1<<40)
	f(100, time.Second, 2)
	f(60, time.Second, 1)
	f(1, time.Second, 1)
	f(1_200_000, 30*time.Second, 600_000)
}
