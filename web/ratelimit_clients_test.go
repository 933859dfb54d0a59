package web

import (
	"net/http"
	"strconv"
	"testing"
)

// A fixed window counts at most a minute's requests, so sending a whole
// minute of a client's requests at once, all in one window, is the worst
// its steady load can do: if that passes, the steady load never sees a 429.

// grafanaMinute is one minute of a Grafana dashboard of 30 panels
// refreshing every 5 s: 12 refreshes, each 30 range queries and the label
// lookups of its 3 template variables, and the data source's buildinfo and
// metadata calls.
func grafanaMinute() int { return 12*(30+3) + 2 }

// dashboardMinute is one minute of a person switching the overview's range
// once a second: 18 API calls a switch, 60 switches.
func dashboardMinute() int { return 18 * 60 }

func TestRateLimitDefaultsFitClients(t *testing.T) {
	e := limitedEngine(t, newTestLimiter(t, RateLimitOptions{}), nil)
	f := func(name string, n int, peer string, header ...string) {
		t.Helper()
		spend(t, e, n-1, http.MethodGet, apiPath, peer, header...)
		w := hit(e, http.MethodGet, apiPath, peer, header...)
		if w.Code != http.StatusNoContent {
			t.Fatalf("%s: request %d answered %d", name, n, w.Code)
		}
		left, _ := strconv.Atoi(w.Header().Get("RateLimit-Remaining"))
		t.Logf("%s: %d requests in one window, %d of the budget left", name, n, left)
	}
	// Grafana's backend is one IP for all its users; behind it, one read
	// token. A person at the dashboard is on the same IP (one office NAT).
	f("Grafana, 30 panels every 5 s", grafanaMinute(), ipA, as("token:grafana")...)
	f("the overview, range switched every second", dashboardMinute(), ipA, as("user:ana")...)
	// Five such people on one shared account still fit.
	f("four more people on ana's account", 4*dashboardMinute(), ipB, as("user:ana")...)
}

func TestRateLimitIngestTokenFitsReliabilitySuite(t *testing.T) {
	// The reliability suite sends 10,000 beacons and 20 request batches a
	// second; a minute of both with one ingest token fits its budget.
	const perMinute = (10_000 + 20) * 60
	if perWindow(DefaultRateLimitIngestToken, ratePeriod) < perMinute {
		t.Fatalf("ingest token budget %d a minute is below the suite's %d", DefaultRateLimitIngestToken, perMinute)
	}
	rl := newTestLimiter(t, RateLimitOptions{})
	e := limitedEngine(t, rl, nil)
	// Count all but the last of the minute's requests at once, then send it.
	if _, err := rl.classes[RateClassIngest].token.lim.Increment(t.Context(), RateClassIngest+":token:load", perMinute-1); err != nil {
		t.Fatal(err)
	}
	w := hit(e, http.MethodPost, beaconPath, ipA, as("token:load")...)
	if got, want := w.Header().Get("RateLimit-Remaining"), strconv.Itoa(DefaultRateLimitIngestToken-perMinute); w.Code != http.StatusNoContent || got != want {
		t.Errorf("the minute's last request: status %d, RateLimit-Remaining %s; want 204, %s", w.Code, got, want)
	}
}
