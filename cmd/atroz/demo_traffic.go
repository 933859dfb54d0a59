package main

import (
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"atroz/collector"
)

// The traffic model's knobs. A tick is one second of traffic.
const (
	// demoBeaconSeconds is how many one-second frame rates a beacon holds,
	// as beacon.js sends them.
	demoBeaconSeconds = 10
	// demoFailShare is the share of the failing route's requests that
	// answer 5xx during the errors phase.
	demoFailShare = 0.4
	// demoSlowFactor multiplies the slow route's latency during the slow phase.
	demoSlowFactor = 20
	// demoJankVisitors multiplies the janky page's visitors: a flash sale
	// brings the crowd that makes it stutter, and their frames outweigh
	// the healthy ones in LowFrameRate's median sooner.
	demoJankVisitors = 4
	// demoServerErrorShare is the share of every route's requests that
	// fail with 500 outside the phases: rare, under HighErrorRate's 1 %.
	demoServerErrorShare = 0.001
	// demoTailShare is the share of requests that take demoTailFactor
	// times longer: a p99 tail that leaves p95 alone.
	demoTailShare  = 0.005
	demoTailFactor = 4
)

// demoRoute is one API route and how it behaves when healthy.
type demoRoute struct {
	service, method, route string
	// weight is the route's share of the traffic, relative to the others.
	weight float64
	// medianMs and sigma shape the log-normal latency.
	medianMs, sigma float64
	// ok is the success status; clientErr is the typical 4xx, answered to
	// clientErrShare of the requests.
	ok, clientErr  int
	clientErrShare float64
}

// key names the route as phases refer to it: "shop-api GET /api/search".
func (r demoRoute) key() string { return r.service + " " + r.method + " " + r.route }

// demoRoutes returns the routes of the demo's three services. Every p95
// stays under HighLatency's 500 ms while healthy.
func demoRoutes() []demoRoute {
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	return []demoRoute{
		{"shop-api", get, "/api/products", 18, 35, 0.45, 200, 400, 0.002},
		{"shop-api", get, "/api/products/:id", 22, 25, 0.4, 200, 404, 0.01},
		{"shop-api", get, "/api/search", 10, 80, 0.55, 200, 400, 0.005},
		{"shop-api", post, "/api/cart", 8, 45, 0.4, 201, 400, 0.01},
		{"shop-api", del, "/api/cart/:item", 2, 30, 0.4, 204, 404, 0.02},
		{"shop-api", post, "/api/checkout", 4, 150, 0.4, 201, 402, 0.03},
		{"shop-api", get, "/api/orders/:id", 3, 40, 0.4, 200, 404, 0.01},
		{"auth-api", post, "/login", 4, 120, 0.3, 200, 401, 0.08},
		{"auth-api", post, "/token/refresh", 6, 15, 0.35, 200, 401, 0.02},
		{"auth-api", post, "/logout", 1, 10, 0.3, 204, 401, 0.01},
		{"auth-api", get, "/me", 8, 8, 0.35, 200, 401, 0.01},
		{"media-api", get, "/images/:id", 10, 20, 0.8, 200, 404, 0.01},
		{"media-api", post, "/uploads", 1, 150, 0.4, 201, 413, 0.02},
	}
}

// demoService is the service label of the demo's frontend beacons.
const demoService = "shop-web"

// demoPage is one frontend page and how many beacons it sends per tick.
type demoPage struct {
	// path is the page's template; ":id" is filled with a product number,
	// which the server folds back into ":id".
	path   string
	visits float64
}

// demoPages returns the frontend pages.
func demoPages() []demoPage {
	return []demoPage{
		{"/", 0.3},
		{"/products/:id", 0.5},
		{"/search", 0.2},
		{"/cart", 0.15},
		{"/checkout", 0.1},
	}
}

// demoPhase is one stretch of the repeating cycle and its trouble.
type demoPhase struct {
	name    string
	seconds int64
	// failing is the key of the route answering 5xx, slow that of the
	// route slowing down, janky the page whose frame rate drops; churn
	// makes WebSocket clients come and go every few seconds.
	failing, slow, janky string
	churn                bool
	// about says what happens, alert which default alert it sets off and when.
	about, alert string
}

// demoCycle returns the phases of the cycle, which repeats every 12
// minutes. The alerts' times assume the default 15 s evaluation and 5 s
// scrape intervals.
func demoCycle() []demoPhase {
	return []demoPhase{
		{name: "calm", seconds: 60, about: "steady traffic, every route and page healthy"},
		{name: "errors", seconds: 90, failing: "shop-api GET /api/products/:id",
			about: "shop-api GET /api/products/:id answers 40% of its requests with 5xx",
			alert: "HighErrorRate fires ~2.5m after the phase starts, resolves ~4.5m after it ends"},
		{name: "slow", seconds: 90, slow: "shop-api GET /api/search",
			about: "shop-api GET /api/search takes about 1.5 s",
			alert: "HighLatency fires ~2.5m after the phase starts, resolves ~5m after it ends"},
		{name: "jank", seconds: 300, janky: "/products/:id",
			about: "a flash sale brings 4x the visitors to /products/:id, rendered at 20-45 fps, painting and answering slower (p75 LCP and INP need improvement, short of poor)",
			alert: "LowFrameRate fires ~6.5m after the phase starts, resolves ~4m after it ends"},
		{name: "churn", seconds: 180, churn: true,
			about: "WebSocket clients connect and drop every few seconds (needs -user)",
			alert: "WebSocketChurn fires ~1.5m after the phase starts, resolves ~1m after it ends"},
	}
}

// demoSocketPlan is a WebSocket client to open: it stays for lifetime
// ticks, then closes cleanly, or drops its TCP connection without a close
// frame when drop is set.
type demoSocketPlan struct {
	lifetime int64
	drop     bool
}

// demoTick is one tick's traffic. Request events and beacons carry no
// timestamps: the sender stamps them with its clock.
type demoTick struct {
	phase    string
	requests []collector.RequestEvent
	beacons  []collector.Beacon
	sockets  []demoSocketPlan
}

// demoTraffic is the deterministic traffic model: tick(n) is a pure
// function of the seed and n.
type demoTraffic struct {
	seed   int64
	rate   int
	routes []demoRoute
	pages  []demoPage
	cycle  []demoPhase
	weight float64 // sum of the routes' weights
	period int64   // the cycle's length in ticks
}

// newDemoTraffic returns the model for seed, sending about rate request
// events a tick.
func newDemoTraffic(seed int64, rate int) *demoTraffic {
	m := &demoTraffic{seed: seed, rate: rate, routes: demoRoutes(), pages: demoPages(), cycle: demoCycle()}
	for _, r := range m.routes {
		m.weight += r.weight
	}
	for _, p := range m.cycle {
		m.period += p.seconds
	}
	return m
}

// tick returns the traffic of tick n.
func (m *demoTraffic) tick(n int64) demoTick {
	r := m.rand(n)
	ph := m.phaseAt(n)
	return demoTick{phase: ph.name, requests: m.requests(r, ph), beacons: m.beacons(r, ph), sockets: m.sockets(r, ph)}
}

// rand returns tick n's own random stream. Mixing n spreads neighbouring
// ticks over unrelated PCG states.
func (m *demoTraffic) rand(n int64) *rand.Rand {
	z := uint64(n) + 0x9e3779b97f4a7c15 // #nosec G115 -- the bits are what count: every tick gets a stream
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return rand.New(rand.NewPCG(uint64(m.seed), z^z>>31)) // #nosec G404 G115 -- reproducible from any -seed, not secret
}

// phaseAt returns the phase tick n falls in.
func (m *demoTraffic) phaseAt(n int64) demoPhase {
	pos := n % m.period
	if pos < 0 {
		pos += m.period
	}
	for _, p := range m.cycle {
		if pos < p.seconds {
			return p
		}
		pos -= p.seconds
	}
	return m.cycle[len(m.cycle)-1]
}

// phaseStart returns the first tick of the first phase named name, or -1.
func (m *demoTraffic) phaseStart(name string) int64 {
	var start int64
	for _, p := range m.cycle {
		if p.name == name {
			return start
		}
		start += p.seconds
	}
	return -1
}

// requests returns the tick's request events: rate, give or take 15 %.
func (m *demoTraffic) requests(r *rand.Rand, ph demoPhase) []collector.RequestEvent {
	n := max(1, int(math.Round(float64(m.rate)*(0.85+0.3*r.Float64()))))
	events := make([]collector.RequestEvent, n)
	for i := range events {
		events[i] = m.request(r, m.pick(r), ph)
	}
	return events
}

// pick chooses a route by weight.
func (m *demoTraffic) pick(r *rand.Rand) demoRoute {
	x := r.Float64() * m.weight
	for _, rt := range m.routes {
		if x < rt.weight {
			return rt
		}
		x -= rt.weight
	}
	return m.routes[len(m.routes)-1]
}

// request returns one request to rt, with the phase's trouble applied.
func (m *demoTraffic) request(r *rand.Rand, rt demoRoute, ph demoPhase) collector.RequestEvent {
	ms, status := rt.latency(r), rt.status(r)
	switch key := rt.key(); {
	case key == ph.failing && r.Float64() < demoFailShare:
		status = []int{500, 502, 503, 503}[r.IntN(4)]
		if status == 503 { // refused at once by an open circuit breaker
			ms = 1 + 4*r.Float64()
		}
	case key == ph.slow:
		ms *= demoSlowFactor
	}
	return collector.RequestEvent{Service: rt.service, Route: rt.route, Method: rt.method, Status: status, DurationMs: math.Round(ms*100) / 100}
}

// latency draws a healthy duration in milliseconds.
func (rt demoRoute) latency(r *rand.Rand) float64 {
	ms := rt.medianMs * math.Exp(rt.sigma*r.NormFloat64())
	if r.Float64() < demoTailShare {
		ms *= demoTailFactor
	}
	return min(ms, 60_000)
}

// status draws a healthy answer: mostly ok, some 4xx, a rare 500.
func (rt demoRoute) status(r *rand.Rand) int {
	switch x := r.Float64(); {
	case x < demoServerErrorShare:
		return http.StatusInternalServerError
	case x < demoServerErrorShare+rt.clientErrShare:
		return rt.clientErr
	}
	return rt.ok
}

// beacons returns the tick's beacons, each page's visits a tick on
// average, more on the janky page.
func (m *demoTraffic) beacons(r *rand.Rand, ph demoPhase) []collector.Beacon {
	var out []collector.Beacon
	for _, p := range m.pages {
		janky := p.path == ph.janky
		visits := p.visits
		if janky {
			visits *= demoJankVisitors
		}
		for range demoCount(r, visits) {
			out = append(out, demoBeacon(r, p, janky))
		}
	}
	return out
}

// demoCount draws a whole number whose mean is mean.
func demoCount(r *rand.Rand, mean float64) int {
	whole, frac := math.Modf(mean)
	n := int(whole)
	if r.Float64() < frac {
		n++
	}
	return n
}

// demoBeacon returns one visitor's ten seconds on page p.
func demoBeacon(r *rand.Rand, p demoPage, janky bool) collector.Beacon {
	b := collector.Beacon{Service: demoService, Page: p.path, FPS: make([]float64, demoBeaconSeconds), DurationMs: demoBeaconSeconds * 1000}
	if strings.Contains(p.path, collector.IDSegment) {
		b.Page = strings.Replace(p.path, collector.IDSegment, strconv.Itoa(1000+r.IntN(9000)), 1)
	}
	for i := range b.FPS {
		fps := demoFrameRate(r, janky)
		b.FPS[i] = fps
		if fps < 50 {
			b.LongFrames += 1 + r.Int64N(4)
		}
	}
	b.Vitals = demoVitals(r, janky)
	return b
}

// demoVitals draws one page view's Core Web Vitals, log-normal around a
// healthy page's (LCP 1.4 s, INP 80 ms for the 60% of views with an
// interaction, CLS 0.02, TTFB 250 ms) or, on a janky page, a page that
// needs improvement (LCP 2.8 s, INP 280 ms), whose p75 stays short of
// poor: PoorLCP and PoorINP never fire in the demo.
func demoVitals(r *rand.Rand, janky bool) collector.VitalValues {
	draw := func(median, sigma float64) *float64 {
		v := math.Round(median*math.Exp(sigma*r.NormFloat64())*1e4) / 1e4
		return &v
	}
	lcp, inp := 1400.0, 80.0
	if janky {
		lcp, inp = 2800, 280
	}
	vs := collector.VitalValues{"lcp_ms": draw(lcp, 0.3), "cls": draw(0.02, 0.8), "ttfb_ms": draw(250, 0.4)}
	if r.Float64() < 0.6 {
		vs["inp_ms"] = draw(inp, 0.35)
	}
	return vs
}

// demoFrameRate draws one second's frame rate: near 60 with a rare stutter,
// or 20 to 45 on a janky page.
func demoFrameRate(r *rand.Rand, janky bool) float64 {
	switch {
	case janky:
		return math.Round((20+25*r.Float64())*10) / 10
	case r.Float64() < 0.03:
		return math.Round((30+20*r.Float64())*10) / 10
	}
	return math.Round(min(60, 58.8+1.2*r.NormFloat64())*10) / 10
}

// sockets returns the WebSocket clients to open this tick: about two a
// minute staying half a minute to two, or fifteen a minute staying 3 to
// 15 seconds while the phase churns. Either way about five are open at
// most, so the demo's cap seldom bites.
func (m *demoTraffic) sockets(r *rand.Rand, ph demoPhase) []demoSocketPlan {
	if ph.churn {
		if r.Float64() < 15.0/60 {
			return []demoSocketPlan{{lifetime: 3 + r.Int64N(13), drop: r.Float64() < 0.6}}
		}
		return nil
	}
	if r.Float64() < 2.0/60 {
		return []demoSocketPlan{{lifetime: 30 + r.Int64N(91), drop: r.Float64() < 0.2}}
	}
	return nil
}
