package alert

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"atroz/internal/extserver"
)

// histogram holds a route's cumulative duration buckets, as the collector
// writes them.
type histogram struct {
	service, route string
	buckets        map[string]float64
}

var bucketBounds = []string{"0.005", "0.5", "1", "2.5", "+Inf"}

func newHistogram(service, route string) *histogram {
	return &histogram{service: service, route: route, buckets: map[string]float64{}}
}

// observe counts n requests of d seconds.
func (h *histogram) observe(n int, d float64) {
	for _, le := range bucketBounds {
		if b, _ := strconv.ParseFloat(le, 64); d <= b {
			h.buckets[le] += float64(n)
		}
	}
}

func (h *histogram) write(r *rig, ts time.Time) {
	for _, le := range bucketBounds {
		r.add(ts, h.buckets[le], "http_request_duration_seconds_bucket", "le", le, "route", h.route, "service", h.service)
	}
}

// TestLatencyRulesNeedTraffic replays the false alarms of slow but rare
// requests, and checks the guard leaves a busy slow route alerting: each
// case writes its requests every 15 s from t0 for 20 minutes, evaluating
// after each write, and expects the named alerts to fire or stay silent.
func TestLatencyRulesNeedTraffic(t *testing.T) {
	cases := []struct {
		name      string
		service   string
		route     string
		perScrape func(i int) int // requests in the i-th 15 s from t0
		seconds   float64
		fire      []string
		silent    []string
	}{
		// Four logins within five minutes: bcrypt is slow on purpose.
		{"four logins", "atroz", "/api/v1/auth/login", func(i int) int { return b2i(i == 1 || i == 6 || i == 11 || i == 16) }, 0.85,
			nil, []string{"HighLatency", "AtroZSlowAPI"}},
		// A busy login page is still AtroZ's own and slow by design.
		{"many logins", "atroz", "/api/v1/auth/login", func(int) int { return 3 }, 0.85,
			nil, []string{"HighLatency", "AtroZSlowAPI"}},
		// A few 30-day views.
		{"slow range queries", "atroz", "/api/v1/query_range", func(i int) int { return b2i(i%8 == 0) }, 2,
			nil, []string{"HighLatency", "AtroZSlowAPI"}},
		// Four slow requests to a product route are too few for a p95.
		{"four slow product requests", "shop", "/pay", func(i int) int { return b2i(i == 1 || i == 6 || i == 11 || i == 16) }, 0.85,
			nil, []string{"HighLatency"}},
		// Forty slow requests in five minutes are a slow route.
		{"busy slow product route", "shop", "/pay", func(int) int { return 2 }, 0.85,
			[]string{"HighLatency"}, []string{"AtroZSlowAPI"}},
		// One of AtroZ's own routes, slow with traffic, is AtroZ's alert, not the product's.
		{"busy slow AtroZ route", "atroz", "/api/v1/series", func(int) int { return 2 }, 2,
			[]string{"AtroZSlowAPI"}, []string{"HighLatency"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, "", "")
			h := newHistogram(c.service, c.route)
			i := 0
			r.run(t0.Add(-10*time.Minute), t0.Add(30*time.Minute), func(ts time.Time) {
				if !ts.Before(t0) && ts.Before(t0.Add(20*time.Minute)) {
					h.observe(c.perScrape(i), c.seconds)
					i++
				} else {
					h.observe(1, 0.001) // a fast request now and then
				}
				h.write(r, ts)
			})
			for _, name := range c.silent {
				if h := r.history(name); len(h) != 0 {
					t.Errorf("%s: %v, want no alert", name, h)
				}
			}
			for _, name := range c.fire {
				if !fired(r.events(name)) {
					t.Errorf("%s: %v, want it to fire", name, r.history(name))
				}
			}
		})
	}
}

// TestErrorRateRulesNeedTraffic: two 500s among ten requests in five
// minutes are too few for a ratio; a 5xx burst on AtroZ's own routes is
// AtroZErrors, not the product's HighErrorRate.
func TestErrorRateRulesNeedTraffic(t *testing.T) {
	f := func(service string, ok, errs func(i int) float64, fire, silent string) {
		t.Helper()
		r := newRig(t, "", "")
		i, okN, errN := 0, 0.0, 0.0
		r.run(t0.Add(-10*time.Minute), t0.Add(30*time.Minute), func(ts time.Time) {
			if !ts.Before(t0) && ts.Before(t0.Add(20*time.Minute)) {
				okN, errN = okN+ok(i), errN+errs(i)
				i++
			}
			r.add(ts, okN, "http_requests_total", "code", "200", "service", service)
			r.add(ts, errN, "http_requests_total", "code", "500", "service", service)
		})
		if h := r.history(silent); len(h) != 0 {
			t.Errorf("%s: %v, want no alert", silent, h)
		}
		if fire != "" && !fired(r.events(fire)) {
			t.Errorf("%s: %v, want it to fire", fire, r.history(fire))
		}
	}
	rare := func(i int) float64 { return float64(b2i(i%10 == 0)) }
	f("shop", rare, rare, "", "HighErrorRate")                                                                  // a request every 2.5 minutes, half of them 500
	f("atroz", func(int) float64 { return 10 }, func(int) float64 { return 1 }, "AtroZErrors", "HighErrorRate") // one in eleven
	f("shop", func(int) float64 { return 10 }, func(int) float64 { return 1 }, "HighErrorRate", "AtroZErrors")
}

// TestStoreRules: flushes failing for ten minutes and a full disk fire
// AtroZ's own alerts; one failed flush does not.
func TestStoreRules(t *testing.T) {
	f := func(metric string, value func(i int) float64, name string, want bool) {
		t.Helper()
		r := newRig(t, "", "")
		i := 0
		r.run(t0.Add(-10*time.Minute), t0.Add(30*time.Minute), func(ts time.Time) {
			r.add(ts, value(i), metric)
			i++
		})
		if got := fired(r.events(name)); got != want {
			t.Errorf("%s over %s: fired %v, want %v (%v)", name, metric, got, want, r.history(name))
		}
	}
	f("store_flush_errors_total", func(i int) float64 { return float64(max(0, min(i-40, 80))) }, "AtroZFlushFailing", true) // one per 15 s for 20 minutes
	f("store_flush_errors_total", func(i int) float64 { return float64(b2i(i >= 40)) }, "AtroZFlushFailing", false)
	f("store_disk_full", func(i int) float64 { return float64(b2i(i >= 40 && i < 50)) }, "AtroZDiskFull", true)
	f("system_data_disk_free_bytes", func(i int) float64 { return 50e9 - float64(i)*1e9 }, "AtroZDiskFilling", true) // 4 GB a minute
	f("system_data_disk_free_bytes", func(int) float64 { return 50e9 }, "AtroZDiskFilling", false)
}

// TestDefaultRulesPassPromtool: promtool accepts the built-in rules.
func TestDefaultRulesPassPromtool(t *testing.T) {
	promtool := extserver.Promtool(t)
	path := filepath.Join(t.TempDir(), "defaults.yml")
	writeFile(t, path, defaultRules)
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil { // #nosec G204 -- the test's own file
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func fired(events []Event) bool {
	for _, e := range events {
		if e.State == StateFiring {
			return true
		}
	}
	return false
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestVitalsRulesNeedTraffic: fifteen page views in 30 minutes, every one
// of them poor, are too few to rate a page; thirty are a poor page. The
// dashboard's own poor pages are never the product's.
func TestVitalsRulesNeedTraffic(t *testing.T) {
	cases := []struct {
		name    string
		service string
		every   time.Duration // one poor page view this often
		fire    bool
	}{
		{"fifteen views in 30m", "shop", 2 * time.Minute, false},
		{"thirty views in 30m", "shop", time.Minute, true},
		{"the dashboard's own", "atroz-dashboard", 15 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, "", "")
			views := 0.0
			r.run(t0, t0.Add(45*time.Minute), func(ts time.Time) {
				if ts.Sub(t0)%c.every == 0 {
					views++
				}
				for _, m := range []struct{ metric, le string }{{"frontend_lcp_seconds", "4"}, {"frontend_inp_seconds", "0.5"}} {
					r.add(ts, 0, m.metric+"_bucket", "le", m.le, "page", "/pay", "service", c.service)
					r.add(ts, views, m.metric+"_count", "page", "/pay", "service", c.service)
				}
			})
			for _, name := range []string{"PoorLCP", "PoorINP"} {
				if got := fired(r.events(name)); got != c.fire {
					t.Errorf("%s fired %v, want %v: %v", name, got, c.fire, r.history(name))
				}
			}
		})
	}
}
