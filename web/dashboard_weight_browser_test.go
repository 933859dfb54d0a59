package web

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cdproto "github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"atroz/alert"
	"atroz/auth"
	"atroz/collector"
	"atroz/internal/extserver"
	"atroz/store"
)

// coldLoadBudget is the most a cold load of the overview may transfer,
// login page, scripts, styles and every panel's answers included, over
// 15 minutes of the demo's data: about 80 KB of gzipped files and 120 KB
// of compressed answers, which are 4 to 5 times larger plain.
const coldLoadBudget = 250 << 10

// demoMinutes is how much of the demo's traffic seedDemo writes.
const demoMinutes = 15

// TestDashboardWeightInBrowser loads the overview cold, over the data of
// `atroz demo` running for 15 minutes, and measures the bytes the browser
// moved: within coldLoadBudget with compression, and at most half of what
// the same overview moves with compression refused.
func TestDashboardWeightInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startDemoServer(t)
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	cdp(t, ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
	var pl pageLog
	pl.listen(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/"))
	run(t, ctx, 20*time.Second, chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second))
	cold := settledBytes(t, ctx, &pl)
	t.Logf("cold load over %d minutes of demo data: %.0f KB transferred (budget %d KB)", demoMinutes, cold/1024, coldLoadBudget>>10)
	if cold > coldLoadBudget {
		t.Errorf("cold load transferred %.0f KB, over the %d KB budget", cold/1024, coldLoadBudget>>10)
	}
	if *updateScreenshot {
		screenshot(t, ctx)
	}

	overview := func(accept string) float64 {
		t.Helper()
		headers := network.Headers{}
		if accept != "" {
			headers["Accept-Encoding"] = accept
		}
		cdp(t, ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: headers})
		run(t, ctx, 10*time.Second, chromedp.Navigate("about:blank"))
		pl.mu.Lock()
		pl.bytes = 0
		pl.mu.Unlock()
		run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview"))
		return settledBytes(t, ctx, &pl)
	}
	plain, packed := overview("identity"), overview("")
	t.Logf("overview reload, logged in: %.0f KB compressed, %.0f KB with compression refused", packed/1024, plain/1024)
	if packed > plain/2 {
		t.Errorf("the overview moved %.0f KB compressed, %.0f KB plain: compression saved too little", packed/1024, plain/1024)
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, p := range pl.problems {
		t.Errorf("page problem: %s", p)
	}
}

// screenshot writes the page, the overview over the demo's data, to
// docs/dashboard.png: go test ./web -run TestDashboardWeightInBrowser -update-screenshot.
func screenshot(t *testing.T, ctx context.Context) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile("../docs/dashboard.png", shot, 0o644); err != nil { // #nosec G306 -- a documentation image
		t.Fatal(err)
	}
}

// cdp sends the page the DevTools command cmd with params.
func cdp[P any](t *testing.T, ctx context.Context, cmd cdproto.Command[P, cdproto.Empty], params P) {
	t.Helper()
	if _, err := chromedp.Call(ctx, cmd, params); err != nil {
		t.Fatalf("%s: %v", cmd.Method, err)
	}
}

// settledBytes waits for the overview's panels to settle and returns the
// bytes the page has transferred.
func settledBytes(t *testing.T, ctx context.Context, pl *pageLog) float64 {
	t.Helper()
	run(t, ctx, 30*time.Second, poll(`document.querySelectorAll('[data-panel][data-drawn="true"]').length >= 6`, 25*time.Second))
	js[bool](t, ctx, `window.__atroz.ready.then(() => true)`)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.bytes
}

// startDemoServer starts a Server on a loopback port over a store holding
// demoMinutes of the demo's traffic, scraped every 5 s as serve does, with
// the built-in alert rules loaded.
func startDemoServer(t *testing.T) *liveServer {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var offset atomic.Int64 // how far the collector's clock is behind now
	col := collector.New(db, &collector.Options{DataDir: t.TempDir(), Now: func() time.Time {
		return time.Now().Add(-time.Duration(offset.Load()))
	}})
	deps := testDeps(t, db, col, nil)
	s, err := New(Config{Development: true, MetricsOnMain: true, Auth: testAuth}, deps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	groups, err := alert.LoadRules("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	am, err := alert.NewManager(db, s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.SetAlerts(am)
	seedDemo(t, col, &offset)
	return &liveServer{url: serveLive(t, s, db, deps), s: s, db: db, col: col}
}

// demoRoute is a route of the demo's services: its weight in the traffic,
// its median latency and the code it answers when it refuses a request.
type demoRoute struct {
	service, method, route string
	weight, ms             float64
	ok, refused            int
}

// seedDemo records what `atroz demo` sends (cmd/atroz/demo_traffic.go:
// its three services' 13 routes, 5 pages of frame-rate beacons, WebSocket
// churn) over demoMinutes, scraping every 5 s at the collector's clock,
// which offset holds back and brings to now.
func seedDemo(t *testing.T, col *collector.Collector, offset *atomic.Int64) {
	t.Helper()
	routes := []demoRoute{
		{"shop-api", "GET", "/api/products", 18, 35, 200, 400}, {"shop-api", "GET", "/api/products/:id", 22, 25, 200, 404},
		{"shop-api", "GET", "/api/search", 10, 80, 200, 400}, {"shop-api", "POST", "/api/cart", 8, 45, 201, 400},
		{"shop-api", "DELETE", "/api/cart/:item", 2, 30, 204, 404}, {"shop-api", "POST", "/api/checkout", 4, 150, 201, 402},
		{"shop-api", "GET", "/api/orders/:id", 3, 40, 200, 404}, {"auth-api", "POST", "/login", 4, 120, 200, 401},
		{"auth-api", "POST", "/token/refresh", 6, 15, 200, 401}, {"auth-api", "POST", "/logout", 1, 10, 204, 401},
		{"auth-api", "GET", "/me", 8, 8, 200, 401}, {"media-api", "GET", "/images/:id", 10, 20, 200, 404},
		{"media-api", "POST", "/uploads", 1, 150, 201, 413},
	}
	pages := []string{"/", "/products/:id", "/search", "/cart", "/checkout"}
	r := rand.New(rand.NewPCG(15, 5))
	const step = 5 * time.Second
	steps := int(demoMinutes * time.Minute / step)
	for i := range steps {
		offset.Store(int64(time.Duration(steps-i) * step))
		var events []collector.RequestEvent
		for _, rt := range routes {
			for range int(rt.weight/2) + r.IntN(3) {
				status := rt.ok
				if r.Float64() < 0.02 {
					status = rt.refused
				} else if r.Float64() < 0.005 {
					status = 500
				}
				events = append(events, collector.RequestEvent{Service: rt.service, Route: rt.route, Method: rt.method, Status: status, DurationMs: rt.ms * (0.5 + r.ExpFloat64()/2)})
			}
		}
		if err := col.RecordRequests(events); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			fps := make([]float64, 5)
			for j := range fps {
				fps[j] = 60 - 8*r.Float64()
			}
			if err := col.RecordBeacon(collector.Beacon{Service: "shop-web", Page: p, FPS: fps}); err != nil {
				t.Fatal(err)
			}
		}
		if i%6 == 0 {
			col.WebSocketConnected()
			col.WebSocketDisconnected("client", time.Duration(r.IntN(30))*time.Second)
		}
		col.CacheResult("query", r.IntN(4) > 0)
		if err := col.Scrape(); err != nil {
			t.Fatal(fmt.Errorf("scrape step %d: %w", i, err))
		}
	}
	offset.Store(0)
}
