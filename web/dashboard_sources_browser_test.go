package web

import (
	"log/slog"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// TestDashboardSourcesInBrowser has an admin find a service's data source
// on the admin page, not yet watched after one event, and retire it
// there: the page says so, the row goes, and the collector no longer
// keeps the source.
func TestDashboardSourcesInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	ev := collector.RequestEvent{Service: "billing", Route: "/invoices/:id", Method: "GET", Status: 200, DurationMs: 12, Timestamp: time.Now().UnixMilli()}
	if err := ls.col.RecordRequests([]collector.RequestEvent{ev}); err != nil {
		t.Fatal(err)
	}
	const row = `[...document.querySelectorAll('#sources tbody tr')].find(r => r.cells[0].textContent === 'requests:billing')`
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/"),
		chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second),
		chromedp.Navigate(ls.url+"/#/admin"),
		poll(`!!`+row, 10*time.Second))
	if watched := js[string](t, ctx, row+`.cells[1].textContent`); watched != "not yet steady" {
		t.Errorf("a source that reported once shows watched %q, want not yet steady", watched)
	}
	run(t, ctx, 20*time.Second,
		chromedp.Click(`button[aria-label="Retire requests:billing"]`),
		chromedp.WaitVisible(`dialog[open] button[type=submit]`),
		chromedp.Click(`dialog[open] button[type=submit]`),
		poll(`document.body.innerText.includes('Source requests:billing retired.') && !`+row, 10*time.Second))
	for _, s := range ls.col.Sources() {
		if s.Name == "requests:billing" {
			t.Fatal("the source retired on the page is still kept")
		}
	}
}
