package main

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"atroz/collector"
)

func TestDemoTrafficDeterministic(t *testing.T) {
	const ticks = 300
	a, b, other := newDemoTraffic(1, 50), newDemoTraffic(1, 50), newDemoTraffic(2, 50)
	seq := make([]demoTick, ticks)
	for n := range seq {
		seq[n] = a.tick(int64(n))
	}
	// Backwards: a tick depends on nothing but the seed and its number.
	for n := ticks - 1; n >= 0; n-- {
		if got := b.tick(int64(n)); !reflect.DeepEqual(got, seq[n]) {
			t.Fatalf("seed 1, tick %d differs between two models:\n%+v\n%+v", n, got, seq[n])
		}
	}
	same := 0
	for n := range seq {
		if reflect.DeepEqual(other.tick(int64(n)), seq[n]) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 1 and 2 sent the same traffic in %d of %d ticks", same, ticks)
	}
}

// TestDemoTrafficIsAccepted checks that the server's decoders take every
// event and beacon of a whole cycle, and that the traffic spans the routes
// and pages the charts show.
func TestDemoTrafficIsAccepted(t *testing.T) {
	m := newDemoTraffic(3, 20)
	now := time.Now().UnixMilli()
	w := collector.Window{Now: now, MinT: now - time.Hour.Milliseconds(), MaxT: now + time.Minute.Milliseconds()}
	routes, pages := map[string]bool{}, map[string]bool{}
	for n := range m.period {
		tick := m.tick(n)
		body, _ := json.Marshal(tick.requests)
		events, err := collector.DecodeRequestEvents(body, w)
		if err != nil {
			t.Fatalf("tick %d: request events refused: %v", n, err)
		}
		for _, e := range events {
			routes[e.Service+" "+e.Method+" "+e.Route] = true
		}
		for _, b := range tick.beacons {
			body, _ := json.Marshal(b)
			if _, err := collector.DecodeBeacon(body, w); err != nil {
				t.Fatalf("tick %d: beacon %s refused: %v", n, body, err)
			}
			pages[collector.NormalizePage(b.Page)] = true
		}
	}
	if len(routes) != len(demoRoutes()) || len(routes) < 12 {
		t.Errorf("a cycle requested %d routes, want all %d:\n%v", len(routes), len(demoRoutes()), routes)
	}
	if len(pages) != len(demoPages()) || !pages["/products/:id"] {
		t.Errorf("a cycle's beacons came from pages %v, want all %d", pages, len(demoPages()))
	}
}

// TestDemoTrafficSetsOffDefaultAlerts replays two cycles through the
// conditions of the default rules (exact quantiles over the same windows,
// a `for` held 30 s longer for the evaluation and scrape delays) and
// checks that each phase sets off its alert once a cycle, that each alert
// resolves before its phase comes round again, and that nothing else fires.
func TestDemoTrafficSetsOffDefaultAlerts(t *testing.T) {
	m := newDemoTraffic(1, demoDefaultRate)
	// Two cycles and the start of a third, time for the second's alerts
	// to resolve and too short for the third's to fire.
	ticks := 2*m.period + 150
	sim := newDemoAlertSim(ticks)
	for n := range ticks {
		sim.add(n, m.tick(n))
	}
	want := map[string]string{
		"HighErrorRate shop-api":               "errors",
		"HighLatency shop-api GET /api/search": "slow",
		"LowFrameRate /products/:id":           "jank",
		"WebSocketChurn":                       "churn",
	}
	fired := sim.episodes()
	for series, eps := range fired {
		t.Logf("%s: %v", series, eps)
	}
	for series, phase := range want {
		start := m.phaseStart(phase)
		eps := fired[series]
		if len(eps) != 2 {
			t.Errorf("%s fired %d times in two cycles, want once a cycle: %v", series, len(eps), eps)
			continue
		}
		for i, ep := range eps {
			cycle := int64(i) * m.period
			if ep[0] < cycle+start || ep[1] > cycle+m.period+start || ep[1] >= ticks {
				t.Errorf("%s: episode %v does not fall between its phase at %ds and the next", series, ep, cycle+start)
			}
		}
	}
	if first := fired["HighErrorRate shop-api"]; len(first) == 0 || first[0][0] > 5*60 {
		t.Errorf("HighErrorRate fired at %v, want a first alert within 5 minutes", first)
	}
	for series := range fired {
		if _, ok := want[series]; !ok {
			t.Errorf("%s fired, though no phase aims at it", series)
		}
	}
}

// demoAlertSim keeps per-tick sums of what the default rules look at.
type demoAlertSim struct {
	ticks int64
	// num and den hold, per series, the per-tick numerator and denominator
	// of its condition: 5xx and all requests, slow and all requests, slow
	// frames and all frames, disconnects.
	num, den map[string][]float64
	sockets  []int64 // end ticks of the open clients
}

func newDemoAlertSim(ticks int64) *demoAlertSim {
	return &demoAlertSim{ticks: ticks, num: map[string][]float64{}, den: map[string][]float64{}}
}

func (s *demoAlertSim) count(series string, n int64, num, den float64) {
	if s.num[series] == nil {
		s.num[series], s.den[series] = make([]float64, s.ticks), make([]float64, s.ticks)
	}
	s.num[series][n] += num
	s.den[series][n] += den
}

func (s *demoAlertSim) add(n int64, tick demoTick) {
	for _, e := range tick.requests {
		s.count("HighErrorRate "+e.Service, n, b2f(e.Status >= 500), 1)
		s.count("HighLatency "+e.Service+" "+e.Method+" "+e.Route, n, b2f(e.DurationMs > 500), 1)
	}
	for _, b := range tick.beacons {
		for _, fps := range b.FPS {
			s.count("LowFrameRate "+collector.NormalizePage(b.Page), n, b2f(fps < 50), 1)
		}
		for name, v := range map[string]*float64{"PoorLCP": b.Vitals["lcp_ms"], "PoorINP": b.Vitals["inp_ms"]} {
			if v != nil {
				s.count(name+" "+collector.NormalizePage(b.Page), n, b2f(*v > map[string]float64{"PoorLCP": 4000, "PoorINP": 500}[name]), 1)
			}
		}
	}
	// The clients' ends, with the cap the demo keeps.
	ended := len(s.sockets)
	s.sockets = slices.DeleteFunc(s.sockets, func(end int64) bool { return end <= n })
	s.count("WebSocketChurn", n, float64(ended-len(s.sockets)), 0)
	for _, p := range tick.sockets {
		if len(s.sockets) < demoMaxSockets {
			s.sockets = append(s.sockets, n+p.lifetime)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// demoRule is a default rule as the simulation sees it.
type demoRule struct {
	window, hold int64 // seconds
	holds        func(num, den float64) bool
}

// demoRules returns the default rules by alert name.
func demoRules() map[string]demoRule {
	return map[string]demoRule{
		"HighErrorRate":  {300, 120, func(num, den float64) bool { return den > 0 && num/den > 0.01 }},
		"HighLatency":    {300, 120, func(num, den float64) bool { return den > 0 && num/den > 0.05 }},
		"LowFrameRate":   {300, 300, func(num, den float64) bool { return den > 0 && num/den > 0.5 }},
		"WebSocketChurn": {60, 60, func(num, _ float64) bool { return num > 5 }},
		// Poor views over all views: over 25% poor is a poor p75.
		"PoorLCP": {1800, 600, func(num, den float64) bool { return den >= 20 && num/den > 0.25 }},
		"PoorINP": {1800, 600, func(num, den float64) bool { return den >= 20 && num/den > 0.25 }},
	}
}

// episodes returns, per series, the [fired, resolved) ticks of each alert.
func (s *demoAlertSim) episodes() map[string][][2]int64 {
	const delay = 30 // evaluation and scrape delays on top of the `for`
	out := map[string][][2]int64{}
	for series := range s.num {
		var name string
		fmt.Sscan(series, &name)
		rule := demoRules()[name]
		since := int64(-1)
		for n := range s.ticks {
			num, den := s.window(series, n, rule.window)
			switch {
			case rule.holds(num, den) && since < 0:
				since = n
			case !rule.holds(num, den) && since >= 0:
				if n-since >= rule.hold+delay {
					out[series] = append(out[series], [2]int64{since + rule.hold + delay, n})
				}
				since = -1
			}
		}
		if since >= 0 && s.ticks-since >= rule.hold+delay { // still firing
			out[series] = append(out[series], [2]int64{since + rule.hold + delay, s.ticks})
		}
	}
	return out
}

// window sums series over the w ticks up to n.
func (s *demoAlertSim) window(series string, n, w int64) (num, den float64) {
	for i := max(0, n-w+1); i <= n; i++ {
		num += s.num[series][i]
		den += s.den[series][i]
	}
	return num, den
}
