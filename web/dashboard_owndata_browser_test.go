package web

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// TestOverviewPutsYourDataFirst: AtroZ's own requests, written by its
// self-scrape, stay out of the product's "Request rate by route" and the
// service filter, and show in the "AtroZ itself" section; the filter says
// so on the panels it cannot filter; a rules file's HighLatency threshold
// is the one the latency panel names.
func TestOverviewPutsYourDataFirst(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: mine\n  rules:\n  - alert: HighLatency\n    expr: histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket[5m]))) > 0.25\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	groups, err := alert.LoadRules(rules, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	am, err := alert.NewManager(ls.db, ls.s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	seed(t, ls) // shop's requests, and AtroZ's own from its scrapes
	var pl pageLog
	pl.listen(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=1h"))
	run(t, ctx, 20*time.Second, chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second),
		poll(`['requests', 'atroz_requests'].every(id => document.querySelector('[data-panel="' + id + '"][data-drawn="true"]')) && document.querySelectorAll('#service option').length > 1`, 15*time.Second))

	keys := func(panel string) string {
		return js[string](t, ctx, `[...document.querySelectorAll('[data-panel="`+panel+`"] .legend .key')].map(k => k.title).join(' ')`)
	}
	if got := keys("requests"); strings.Contains(got, `service="atroz`) || !strings.Contains(got, `service="shop"`) {
		t.Errorf("product request rate shows %s, want shop's series and none of AtroZ's", got)
	}
	if got := js[string](t, ctx, `document.querySelector('[data-group="atroz"] h2')?.textContent ?? ''`); got != "AtroZ itself" {
		t.Errorf("AtroZ section titled %q", got)
	}
	if !js[bool](t, ctx, `!!document.querySelector('[data-group="atroz"] [data-panel="atroz_requests"]')`) {
		t.Error("the AtroZ section has no request-rate panel")
	}
	if got := keys("atroz_requests"); !strings.Contains(got, `service="atroz"`) || strings.Contains(got, `service="shop"`) {
		t.Errorf("AtroZ request rate shows %s, want AtroZ's own series only", got)
	}
	if got := js[string](t, ctx, `[...document.querySelectorAll('#service option')].map(o => o.value).join(',')`); got != ",shop" {
		t.Errorf("service filter lists %q, want All services and shop", got)
	}
	if got := js[string](t, ctx, `document.querySelector('[data-panel="latency"] .sub:not(.resolution)')?.textContent ?? ''`); !strings.Contains(got, "HighLatency") || !strings.Contains(got, "250") {
		t.Errorf("latency panel says %q, want the rules file's HighLatency threshold, 250 ms", got)
	}

	// Filtering by shop: the memory panel says it is not filtered, the
	// latency panel is filtered and says nothing.
	if n := js[int](t, ctx, `document.querySelectorAll('.filter-note:not([hidden])').length`); n != 0 {
		t.Errorf("%d filter notes shown with all services", n)
	}
	run(t, ctx, 10*time.Second, chromedp.SetValue(`#service`, "shop"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#service').dispatchEvent(new Event('change'))`),
		poll(`!!document.querySelector('[data-panel="memory"] .filter-note:not([hidden])')`, 5*time.Second))
	if js[bool](t, ctx, `!!document.querySelector('[data-panel="latency"] .filter-note')`) {
		t.Error("the latency panel, filtered by service, says it is not")
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, p := range pl.problems {
		t.Errorf("page problem: %s", p)
	}
}
