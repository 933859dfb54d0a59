package web

import (
	"log/slog"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// setField sets a form control's value and tells the page, as typing or
// choosing would.
func setField(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.querySelector(` + jsString(sel) + `);
		el.value = ` + jsString(value) + `; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); })()`)
}

// TestDashboardSLOFormInBrowser has an admin create a latency SLO with the
// SLOs page's form (after the server's refusal of a 150 % objective shows
// under that field), find its card, edit its objective and delete it; the
// SLO of SLO_FILE offers neither, and a viewer gets no form at all.
func TestDashboardSLOFormInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	thrown := exceptions(t, ctx)
	ls := startLive(t, slog.New(slog.DiscardHandler))
	attachSLOs(t, ls.s)
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	pageSignIn(t, ctx, ls.url+"/", "ana", "dashboard password", "#/overview")
	card := func(name string) string { return `.slo-card[data-slo="` + name + `"]` }
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/slos"),
		poll(`!!document.querySelector('`+card("from-file")+`') && !!document.querySelector('#slo-new')`, 10*time.Second))
	if js[bool](t, ctx, `!!document.querySelector('button[aria-label="Edit SLO from-file"], button[aria-label="Delete SLO from-file"]')`) {
		t.Error("the page offers to change the SLO of SLO_FILE")
	}

	run(t, ctx, 20*time.Second,
		chromedp.Click(`#slo-new`),
		chromedp.WaitVisible(`dialog[open] #slo-name`),
		chromedp.SendKeys(`#slo-name`, "checkout-fast"),
		chromedp.SendKeys(`#slo-service`, "checkout"),
		chromedp.SendKeys(`#slo-routes`, "/api/pay, /api/cart"),
		setField(`#slo-indicator`, "latency"),
		chromedp.WaitVisible(`#slo-threshold`),
		setField(`#slo-threshold`, "250ms"),
		chromedp.SendKeys(`#slo-objective`, "150"),
		chromedp.Click(`#slo-form button[type=submit]`),
		poll(`document.querySelector('#slo-objective-error').textContent.includes('150 is not a percentage above 0 and below 100') &&
			document.querySelector('#slo-objective').getAttribute('aria-invalid') === 'true'`, 10*time.Second))
	if cat := ls.s.sloAdmin.catalog.Load(); len(cat.File().SLOs) != 1 {
		t.Fatalf("a refused SLO was stored: %+v", cat.File().SLOs)
	}
	run(t, ctx, 20*time.Second,
		setField(`#slo-objective`, "99.5"),
		chromedp.Click(`#slo-form button[type=submit]`),
		poll(`!document.querySelector('#slo-form') && document.body.innerText.includes('SLO checkout-fast created.') &&
			(document.querySelector('`+card("checkout-fast")+` .objective')?.textContent ?? '').includes('99.5')`, 10*time.Second))
	created := ls.s.sloAdmin.catalog.Load().File().SLOs[1]
	if created.Name != "checkout-fast" || created.Threshold.String() != "250ms" || len(created.Routes) != 2 || created.Service != "checkout" {
		t.Fatalf("stored SLO %+v", created)
	}

	run(t, ctx, 20*time.Second,
		chromedp.Click(`button[aria-label="Edit SLO checkout-fast"]`),
		chromedp.WaitVisible(`dialog[open] #slo-objective`),
		poll(`document.querySelector('#slo-name').readOnly && document.querySelector('#slo-threshold').value === '250ms'`, 5*time.Second),
		setField(`#slo-objective`, "99"),
		chromedp.Click(`#slo-form button[type=submit]`),
		poll(`document.body.innerText.includes('SLO checkout-fast saved.') &&
			(document.querySelector('`+card("checkout-fast")+` .objective')?.textContent ?? '').startsWith('99 %')`, 10*time.Second))

	run(t, ctx, 20*time.Second,
		chromedp.Click(`button[aria-label="Delete SLO checkout-fast"]`),
		chromedp.WaitVisible(`dialog[open]#slo-delete button[type=submit]`),
		chromedp.Click(`dialog[open]#slo-delete button[type=submit]`),
		poll(`document.body.innerText.includes('SLO checkout-fast deleted.') && !document.querySelector('`+card("checkout-fast")+`')`, 10*time.Second))
	if n := len(ls.s.sloAdmin.catalog.Load().File().SLOs); n != 1 {
		t.Fatalf("%d SLOs after the delete, want the file's alone", n)
	}

	run(t, ctx, 20*time.Second, chromedp.Evaluate[chromedp.Void](`fetch('/api/v1/auth/logout', {method: 'POST'})`, chromedp.EvalAwaitPromise))
	pageSignIn(t, ctx, ls.url+"/", "viewer", "a test password", "#/overview")
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/slos"),
		poll(`!!document.querySelector('`+card("from-file")+`')`, 10*time.Second))
	if js[bool](t, ctx, `!!document.querySelector('#slo-new, #slo-form, .slo-card-actions')`) {
		t.Error("a viewer is offered the SLO form")
	}
	if n := thrown.Load(); n > 0 {
		t.Errorf("%d exceptions on the page", n)
	}
}
