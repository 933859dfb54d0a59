package web

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
	"atroz/internal/extserver"
	"atroz/store"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "write the overview over the demo's data to docs/dashboard.png (TestDashboardWeightInBrowser)")

// run runs actions on the tab of ctx within d.
func run(t *testing.T, ctx context.Context, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	extserver.Run(t, ctx, d, actions...)
}

// js is the value of expr on the tab of ctx, awaited up to 20 s.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return extserver.Eval[T](t, ctx, 20*time.Second, expr)
}

func poll(expr string, d time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(d))
}

// markView tags the elements of the view on screen. A navigation by the
// URL's hash is drawn at the hashchange event, after the action that set
// it returns, so a condition polled at once may still hold on the view
// being left; fresh waits for the next one.
var markView = chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('#main > *').forEach(e => { e.dataset.stale = ''; })`)

// fresh is cond on a view drawn since markView.
func fresh(cond string) string {
	return `!document.querySelector('#main > [data-stale]') && (` + cond + `)`
}

// pageLog collects what the page reports: console errors, exceptions and
// the bytes transferred.
type pageLog struct {
	mu       sync.Mutex
	problems []string
	bytes    float64
}

func (p *pageLog) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		p.mu.Lock()
		defer p.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning {
				p.problems = append(p.problems, fmt.Sprintf("console %s: %s", ev.Type, argsText(ev.Args)))
			}
		case *runtime.EventExceptionThrown:
			p.problems = append(p.problems, "exception: "+ev.ExceptionDetails.Text+exceptionText(ev.ExceptionDetails))
		case *cdplog.EventEntryAdded: // CSP violations and failed loads are reported here
			// The page asks who is logged in before the login; its 401 is expected.
			if ev.Entry.Level == cdplog.EntryLevelError && !strings.HasSuffix(ev.Entry.URL, "/api/v1/auth/me") {
				p.problems = append(p.problems, "log: "+ev.Entry.Text)
			}
		case *network.EventLoadingFinished:
			p.bytes += ev.EncodedDataLength
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func argsText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		parts = append(parts, string(a.Value)+a.Description)
	}
	return strings.Join(parts, " ")
}

// TestDashboardInBrowser runs the real server with data from every source,
// logs in through the page, and checks what a person would see.
func TestDashboardInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules.yml")
	_ = os.WriteFile(rules, []byte("groups:\n- name: test\n  rules:\n  - alert: HighMemory\n    expr: system_memory_usage_ratio > 0.9\n    labels: {severity: critical}\n    annotations: {summary: memory high}\n"), 0o600)
	groups, err := alert.LoadRules(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	am, err := alert.NewManager(ls.db, ls.s.Query(), groups, nil, &alert.Options{OnEvent: func(e alert.Event) { ls.s.AlertEvent(e) }})
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	seed(t, ls)
	liveCtx, stopLive := context.WithCancel(context.Background())
	liveDone := make(chan struct{})
	go func() { defer close(liveDone); ls.s.RunLive(liveCtx, time.Second) }()
	t.Cleanup(func() { stopLive(); <-liveDone })

	var pl pageLog
	pl.listen(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/"))
	run(t, ctx, 20*time.Second, chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`), // a click fires the form's submit handler; form.submit() would bypass it
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second))
	start := time.Now()
	run(t, ctx, 20*time.Second, poll(`document.querySelectorAll('[data-panel][data-drawn="true"]').length >= 6`, 15*time.Second))
	pl.mu.Lock()
	cold := pl.bytes
	pl.mu.Unlock()
	t.Logf("cold load to a drawn overview: %.0f KB transferred (goal < 150 KB)", cold/1024)
	if cold > 150*1024 {
		t.Errorf("cold load transferred %.0f KB", cold/1024)
	}
	drawnMs := js[float64](t, ctx, `(window.__atroz && window.__atroz.timings && window.__atroz.timings.overviewDrawn) || -1`)
	t.Logf("overview: %d charts drawn, %.0f ms after navigation (page timing), %s after login", js[int](t, ctx, `document.querySelectorAll('[data-panel][data-drawn="true"]').length`), drawnMs, time.Since(start))

	// Every drawn chart has pixels of its series' colours on its canvas.
	blank := js[[]string](t, ctx, `[...document.querySelectorAll('[data-panel][data-drawn="true"]')].filter(p => {
		const cv = p.querySelector('canvas');
		if (!cv) return true;
		const cols = [...p.querySelectorAll('.swatch')].map(s => getComputedStyle(s).backgroundColor.match(/\d+/g).slice(0, 3).map(Number));
		const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
		for (let i = 0; i < d.length; i += 4) {
			if (d[i + 3] < 24) continue; // the canvas is transparent and unpremultiplied: an antialiased edge keeps its colour
			if (cols.some(c => Math.abs(d[i] - c[0]) < 24 && Math.abs(d[i + 1] - c[1]) < 24 && Math.abs(d[i + 2] - c[2]) < 24)) return false;
		}
		return true;
	}).map(p => p.dataset.panel)`)
	if len(blank) > 0 {
		t.Errorf("charts marked drawn with no series pixels: %v", blank)
	}

	// A legend equals the API's answer for the same query.
	apiMem := instantValue(t, ls, `system_memory_usage_ratio`)
	pageMem := js[float64](t, ctx, `parseFloat(document.querySelector('[data-panel="memory"] [data-last]').dataset.last)`)
	if math.Abs(apiMem-pageMem) > 1e-9 {
		t.Fatalf("memory legend %g, API %g", pageMem, apiMem)
	}

	// A new sample reaches the chart over the WebSocket.
	pushed := time.Now()
	if err := ls.db.Append(store.Labels{{Name: "__name__", Value: "system_memory_usage_ratio"}}, pushed.UnixMilli(), 0.95); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, 5*time.Second, poll(`parseFloat(document.querySelector('[data-panel="memory"] [data-last]').dataset.last) === 0.95`, 4*time.Second))
	t.Logf("live update: sample to chart in %s", time.Since(pushed))
	if d := time.Since(pushed); d > 2*time.Second {
		t.Errorf("a new sample took %s to reach the chart", d)
	}

	// An alert fires and shows on the alerts page.
	am.EvalAt(context.Background(), time.Now())
	run(t, ctx, 10*time.Second, chromedp.Navigate(ls.url+"/#/alerts"),
		poll(`document.body.innerText.includes('HighMemory') && document.body.innerText.toLowerCase().includes('firing')`, 8*time.Second))

	// ... and on its chart, as a firing band with its badge.
	run(t, ctx, 10*time.Second, chromedp.Navigate(ls.url+"/#/overview"),
		poll(`!!document.querySelector('[data-panel="memory"] .badge.state-firing:not([hidden])') && !!document.querySelector('[data-panel="memory"] [data-bands~="firing"], [data-panel="memory"][data-bands~="firing"]')`, 8*time.Second))

	// Charts under a day are exact: none names a resolution.
	if shown := js[int](t, ctx, `[...document.querySelectorAll('[data-panel] .resolution')].filter(e => !e.hidden).length`); shown != 0 {
		t.Errorf("%d charts of the default range name a rollup resolution", shown)
	}

	// A 30-day range settles as fast, every panel drawn or shown empty, none
	// failing: it asks for max_source_resolution=auto, so at its 2.4 h step
	// the 1-minute rollups serve it, and its charts say so. (This store's
	// data is seconds old, so most 30-day steps miss it.)
	run(t, ctx, 10*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(ls.url+"/#/overview?range=30d"))
	longMs := js[float64](t, ctx, `window.__atroz.ready.then(() => window.__atroz.timings.overviewDrawn)`)
	if states := js[string](t, ctx, `[...document.querySelectorAll('[data-panel]')].map(p => p.dataset.panel + ':' + p.dataset.state).join(' ')`); strings.Contains(states, ":error") || strings.Contains(states, ":loading") {
		t.Errorf("30-day overview panels: %s", states)
	}
	t.Logf("overview over 30 days: settled %.0f ms after navigation (page timing)", longMs)
	if res := js[string](t, ctx, `document.querySelector('[data-panel="memory"] .resolution:not([hidden])')?.textContent ?? ''`); res != "1-minute resolution" {
		t.Errorf("30-day memory chart says %q under its title, want 1-minute resolution", res)
	}

	// The page's own frame-rate beacon arrives.
	js[bool](t, ctx, `(window.atroz && window.atroz.flush && (window.atroz.flush(), true)) || false`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(metricsText(t, ls), `frontend_beacons_total{service="atroz-dashboard"`) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(metricsText(t, ls), `frontend_beacons_total{service="atroz-dashboard"`) {
		t.Error("the dashboard's own beacon never arrived")
	}

	adminPage(t, ctx, ls)

	pl.mu.Lock()
	defer pl.mu.Unlock()
	t.Logf("whole session: %.0f KB transferred", pl.bytes/1024)
	for _, p := range pl.problems {
		t.Errorf("page problem: %s", p)
	}
}

// seed writes request events, beacons and host samples, and scrapes twice.
func seed(t *testing.T, ls *liveServer) {
	t.Helper()
	now := time.Now()
	events := `[{"service":"shop","route":"/cart","method":"GET","status":200,"duration_ms":40},{"service":"shop","route":"/pay","method":"POST","status":500,"duration_ms":900}]`
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	// Three hours of memory history, a sample every 10 s, give the 1-minute
	// rollup tier closed intervals to serve whenever the test runs (a
	// series sampled once a minute would keep its raw samples there); the
	// scrapes' own minutes may not have closed by the 30-day check.
	memory := store.Labels{{Name: "__name__", Value: "system_memory_usage_ratio"}}
	for i := 3 * 360; i >= 12; i-- {
		if err := ls.db.Append(memory, now.Add(-time.Duration(i)*10*time.Second).UnixMilli(), 0.5); err != nil {
			t.Fatal(err)
		}
	}
	if err := ls.db.Flush(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		ls.post(t, c, "/api/v1/ingest/requests", events, "Authorization", "Bearer "+ls.token)
		ls.post(t, c, "/api/v1/beacons", fmt.Sprintf(`{"service":"shop","page":"/checkout","fps":[60,58,41],"long_frames":1,"duration_ms":3000,"ts":%d}`, now.UnixMilli()), "Origin", "https://shop.example")
		if err := ls.col.Scrape(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // scrapes need distinct timestamps; this is data, not a wait for a result
	}
}

func instantValue(t *testing.T, ls *liveServer, q string) float64 {
	t.Helper()
	v, _, err := ls.s.Query().Instant(context.Background(), q, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	var vec []struct {
		Value [2]any `json:"value"`
	}
	if err := json.Unmarshal(b, &vec); err != nil || len(vec) == 0 {
		t.Fatalf("query %s: %s", q, b)
	}
	var f float64
	fmt.Sscan(vec[0].Value[1].(string), &f)
	return f
}

func metricsText(t *testing.T, ls *liveServer) string {
	t.Helper()
	req, _ := http.NewRequest("GET", ls.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+ls.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil {
		return " " + d.Exception.Description
	}
	return ""
}

// adminPage creates a read token on the admin page, queries with it by
// bearer, then revokes it there and finds it refused.
func adminPage(t *testing.T, ctx context.Context, ls *liveServer) {
	t.Helper()
	run(t, ctx, 10*time.Second, chromedp.Navigate(ls.url+"/#/admin"),
		poll(`!!document.querySelector('nav a[href="#/admin"]') && !!document.querySelector('#token-name')`, 8*time.Second),
		chromedp.SendKeys(`#token-name`, "grafana-page"),
		chromedp.Click(`.token-form button[type=submit]`),
		poll(`(document.querySelector('#token-secret')?.value ?? '').startsWith('atz_') && [...document.querySelectorAll('tbody tr')].some(r => r.cells[0].textContent === 'grafana-page')`, 8*time.Second))
	secret := js[string](t, ctx, `document.querySelector('#token-secret').value`)
	if scopes := js[string](t, ctx, `[...document.querySelectorAll('tbody tr')].find(r => r.cells[0].textContent === 'grafana-page')?.cells[1].textContent ?? ''`); scopes != "read" {
		t.Errorf("the list shows scopes %q for the new token, want read", scopes)
	}
	query := func() int {
		req, _ := http.NewRequest("GET", ls.url+"/api/v1/query?query=up", nil)
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if code := query(); code != http.StatusOK {
		t.Fatalf("query with the token made on the page: %d", code)
	}
	run(t, ctx, 10*time.Second,
		chromedp.Click(`button[aria-label="Revoke grafana-page"]`),
		chromedp.WaitVisible(`dialog[open] button[type=submit]`),
		chromedp.Click(`dialog[open] button[type=submit]`),
		poll(`document.body.innerText.includes('Token grafana-page revoked.')`, 8*time.Second))
	if code := query(); code != http.StatusUnauthorized {
		t.Errorf("query with the revoked token: %d, want 401", code)
	}
}
