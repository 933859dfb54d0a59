package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"atroz/alert"
	"atroz/alert/notify"
	"atroz/auth"
	"atroz/internal/extserver"
	"atroz/store"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageSignIn opens url, which shows the login, signs in and waits for the
// hash to start with want.
func pageSignIn(t *testing.T, ctx context.Context, url, user, pass, want string) {
	t.Helper()
	run(t, ctx, 20*time.Second, chromedp.Navigate(url), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, user),
		chromedp.SendKeys(`input[name=password]`, pass),
		chromedp.Click(`form.login button[type=submit]`),
		poll(`location.hash.startsWith(`+jsString(want)+`)`, 10*time.Second))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + `'`
}

// exceptions collects the page's uncaught exceptions.
func exceptions(t *testing.T, ctx context.Context) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			n.Add(1)
			t.Logf("page exception: %s%s", e.ExceptionDetails.Text, exceptionText(e.ExceptionDetails))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestAlertsPageInBrowser checks the alerts page on a 390 px wide phone: a
// silenced alert looks silenced, on the page and on its chart's badge, and
// offers "Expire silence", not "Silence"; each stacked cell shows its
// column's name; an admin sends a receiver a test notification and reads
// that it was delivered.
func TestAlertsPageInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t))
	errs := exceptions(t, ctx)
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	hook, bodies := hookServer(t, http.StatusOK)
	rules := filepath.Join(t.TempDir(), "rules.yml")
	_ = os.WriteFile(rules, []byte("groups:\n- name: test\n  rules:\n  - alert: HighMemory\n    expr: system_memory_usage_ratio > 0.9\n    labels: {severity: critical}\n    annotations: {summary: memory high}\n"), 0o600)
	groups, err := alert.LoadRules(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	disp := notify.NewDispatcher([]notify.Receiver{webhook(t, "ops", hook.URL)}, &notify.DispatcherOptions{MaxRetries: -1, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(disp.Close)
	am, err := alert.NewManager(ls.db, ls.s.Query(), groups, disp, &alert.Options{OnEvent: func(e alert.Event) { ls.s.AlertEvent(e) }})
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	now := time.Now()
	if err := ls.db.Append(store.Labels{{Name: "__name__", Value: "system_memory_usage_ratio"}}, now.UnixMilli(), 0.95); err != nil {
		t.Fatal(err)
	}
	am.EvalAt(context.Background(), now)
	if _, err := am.AddSilence(alert.Silence{Matchers: []alert.Matcher{{Name: "alertname", Value: "HighMemory"}}, EndsAt: now.Add(time.Hour), Comment: "resizing"}); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, 10*time.Second, chromedp.EmulateViewport(390, 844))
	pageSignIn(t, ctx, ls.url+"/#/alerts", "ana", "dashboard password", "#/alerts")
	row := `[...document.querySelectorAll('#h-active ~ div tbody tr')].find(r => r.textContent.includes('HighMemory'))`
	run(t, ctx, 10*time.Second, poll(`!!`+row, 8*time.Second))
	if got := js[string](t, ctx, `(() => { const r = `+row+`; return [r.className, !!r.querySelector('.badge.state-silenced'),
		[...r.querySelectorAll('button')].map(b => b.textContent).join('|')].join(' ') })()`); got != "silenced true Expire silence" {
		t.Errorf("the silenced alert's row: %q, want class silenced, a silenced badge and only an Expire silence button", got)
	}
	// At 390 px the rows stack: no cell leaves the screen, each shows its
	// column's name, and the labels are text in the row, not a tooltip.
	if w := js[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the alerts page is %d px wide at a 390 px viewport", w)
	}
	cells := js[string](t, ctx, `[...(`+row+`).cells].map(td => {
		const r = td.getBoundingClientRect();
		return (r.right <= 390 && r.width > 0 ? '' : 'OFF:') + getComputedStyle(td, '::before').content.replaceAll('"', '') + '=' + td.innerText.trim();
	}).join(' | ')`)
	for _, want := range []string{"Alert=HighMemory", `Labels={severity="critical"}`, "State=firing", "Value=95%", "Action=Expire silence"} {
		if !strings.Contains(cells, want) {
			t.Errorf("stacked cells %q lack %q", cells, want)
		}
	}
	if strings.Contains(cells, "OFF:") {
		t.Errorf("cells off the screen: %s", cells)
	}

	// A test notification through the receiver is delivered and says so.
	run(t, ctx, 10*time.Second, chromedp.Click(`button[aria-label="Send a test notification to ops"]`),
		poll(`document.querySelector('.test-result')?.textContent === 'Delivered'`, 8*time.Second))
	found := false
	for _, b := range bodies() {
		found = found || strings.Contains(b, notify.TestAlertName)
	}
	if !found {
		t.Errorf("the webhook never got the test notification: %q", bodies())
	}

	// The memory chart's badge says the alert is silenced.
	run(t, ctx, 15*time.Second, chromedp.Navigate(ls.url+"/#/overview"),
		poll(`document.querySelector('[data-panel="memory"] .badge.state-firing.silenced:not([hidden])')?.textContent === 'HighMemory firing (silenced)'`, 12*time.Second),
		chromedp.Navigate(ls.url+"/#/alerts"), poll(`!!`+row, 8*time.Second))

	// Expiring the silence brings the Silence button back.
	run(t, ctx, 10*time.Second, chromedp.Click(`button[aria-label^="Expire the silence of"]`),
		poll(`(() => { const r = `+row+`; return !!r && !r.classList.contains('silenced') && r.querySelector('button')?.textContent === 'Silence' })()`, 8*time.Second))
	if n := errs.Load(); n > 0 {
		t.Errorf("%d page exceptions", n)
	}
}

// TestSessionRenewalInBrowser signs in with 6-second tokens and a 24-second
// refresh cap: the open page renews its token before each expiry and
// stays signed in past it; at the cap it says the session expired, and
// signing in again returns to the same view and range.
func TestSessionRenewalInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	errs := exceptions(t, ctx)
	cfg := testAuth
	cfg.Expiration, cfg.MaxRefresh = 6*time.Second, 24*time.Second
	ls := startLiveWith(t, Config{MetricsOnMain: true, Auth: cfg}, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	var refreshes, refused atomic.Int64
	var mu sync.Mutex
	refreshIDs := map[network.RequestID]bool{}
	err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.HasSuffix(ev.Request.URL, "/api/v1/auth/refresh") {
				refreshes.Add(1)
				refreshIDs[ev.RequestID] = true
			}
		case *network.EventResponseReceived:
			if refreshIDs[ev.RequestID] && ev.Response.Status == http.StatusUnauthorized {
				refused.Add(1)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	view := "#/alerts?range=6h"
	pageSignIn(t, ctx, ls.url+"/"+view, "ana", "dashboard password", view)
	signedIn := time.Now()
	// Past the first token's expiry, the page is still signed in: it has
	// renewed, and its calls are answered.
	t0 := js[float64](t, ctx, `performance.now()`)
	run(t, ctx, 20*time.Second, poll(fmt.Sprintf(`performance.now() > %f`, t0+9000), 15*time.Second))
	if got := js[string](t, ctx, `fetch('/api/v1/auth/me').then(r => location.hash + ' ' + r.status)`); got != view+" 200" {
		t.Fatalf("%s after signing in with 6-second tokens: %q, want still on %s and answered 200", time.Since(signedIn).Round(time.Second), got, view)
	}
	if n := refreshes.Load(); n < 2 || refused.Load() != 0 {
		t.Errorf("%d refreshes (%d refused) in the first 9 s of 6-second tokens, want at least 2, none refused", n, refused.Load())
	}
	// At the cap the page says the session expired, and signing in returns to the view.
	run(t, ctx, 30*time.Second, poll(`location.hash.startsWith('#/login') && !!document.querySelector('#session-note')`, 28*time.Second))
	// The login's time is kept in whole seconds, so the cap may come up to
	// a second early; ending at a token's 6 s would mean no renewal.
	if d := time.Since(signedIn); d < 22*time.Second {
		t.Errorf("the session ended %s after signing in, well before its 24 s cap", d)
	}
	if note := js[string](t, ctx, `document.querySelector('#session-note').textContent`); !strings.Contains(note, "session expired, sign in again") {
		t.Errorf("the login says %q", note)
	}
	run(t, ctx, 20*time.Second,
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`form.login button[type=submit]`),
		poll(`location.hash === `+jsString(view), 10*time.Second))
	if n := errs.Load(); n > 0 {
		t.Errorf("%d page exceptions", n)
	}
}

// TestWallScreenTokenInBrowser signs a wall screen in with an API token:
// a token with more than the read scope is refused, a read-only one is
// kept in sessionStorage alone and shows the overview, polled without a
// WebSocket.
func TestWallScreenTokenInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	errs := exceptions(t, ctx)
	ls := startLive(t, slog.New(slog.DiscardHandler))
	seed(t, ls)
	am, err := alert.NewManager(ls.db, ls.s.Query(), nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	read, err := ls.s.access.CreateToken("wall", auth.ScopeRead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := ls.s.access.CreateToken("ops", auth.ScopeRead|auth.ScopeAdmin, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var sockets atomic.Int64
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*network.EventWebSocketCreated); ok {
			sockets.Add(1)
		}
	}); err != nil {
		t.Fatal(err)
	}
	useToken := func(token string) {
		t.Helper()
		run(t, ctx, 10*time.Second,
			chromedp.Evaluate[chromedp.Void](`document.querySelector('.token-mode').open = true; document.querySelector('#api-token').value = ''`),
			chromedp.SendKeys(`#api-token`, token),
			chromedp.Click(`.api-token-form button[type=submit]`))
	}
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=live"), chromedp.WaitReady(`.token-mode`))
	useToken(admin)
	run(t, ctx, 10*time.Second, poll(`document.querySelector('#token-error').textContent.includes('only scope is read')`, 8*time.Second))
	if kept := js[string](t, ctx, `sessionStorage.getItem('atroz.apiToken') ?? ''`); kept != "" {
		t.Errorf("an admin token was kept: %q", kept)
	}
	useToken(read)
	run(t, ctx, 20*time.Second, poll(`location.hash.startsWith('#/overview') && document.querySelectorAll('[data-panel][data-drawn="true"]').length >= 6`, 15*time.Second))
	if st := js[string](t, ctx, `document.querySelector('main .status').textContent`); st != "Live, polled every 15 s" {
		t.Errorf("the overview's status says %q", st)
	}
	if who := js[string](t, ctx, `document.querySelector('.user span').textContent`); who != "token wall read-only" {
		t.Errorf("the header says %q", who)
	}
	if got := js[string](t, ctx, `[sessionStorage.getItem('atroz.apiToken') === `+jsString(read)+`, Object.keys(localStorage).some(k => localStorage.getItem(k).includes('atz_'))].join(' ')`); got != "true false" {
		t.Errorf("token kept in sessionStorage, and in localStorage: %s, want true false", got)
	}
	if n := sockets.Load(); n != 0 {
		t.Errorf("a page on an API token opened %d WebSockets, want polling", n)
	}
	if n := errs.Load(); n > 0 {
		t.Errorf("%d page exceptions", n)
	}
}
