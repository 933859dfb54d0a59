package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/chromedp/chromedp"
)

// vitalsPage is a shop page that includes AtroZ's beacon.js with a beacon
// interval of a minute, longer than the test waits: only the beacon sent
// when the page is hidden can deliver its vitals in time.
const vitalsPage = `<!doctype html><title>checkout</title>
<p id="main" style="height:40vh;margin:0">order summary</p>
<button id="pay" onclick="const end = performance.now() + 350; while (performance.now() < end);">pay</button>
<script src="%s/beacon.js" data-service="shop" data-interval="60"></script>`

// TestVitalsReachTheStore loads a shop page in Chromium that includes
// AtroZ's beacon.js, shifts its layout and answers a click after 350 ms:
// when the page is hidden, its CLS and INP reach AtroZ's store, in
// frontend_cls and frontend_inp_seconds of the page, before the beacon
// interval has passed once.
func TestVitalsReachTheStore(t *testing.T) {
	t.Parallel()
	var atroz string // the AtroZ server's URL, once it runs
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, vitalsPage, atroz)
	}))
	t.Cleanup(shop.Close)
	ls := startLiveWith(t, Config{AllowedOrigins: []string{shop.URL}, MetricsOnMain: true, Auth: testAuth}, slog.New(slog.DiscardHandler))
	atroz = ls.url

	ctx := extserver.Chromium(t)
	extserver.FakeVisibility(t, ctx, "visible")
	loaded := time.Now()
	run(t, ctx, 20*time.Second, chromedp.Navigate(shop.URL+"/checkout/123"), poll(`!!window.atroz`, 10*time.Second))
	// The layout shift: a banner pushes the summary and the button down by
	// 30% of the viewport, with no input before it. Two frames later the
	// browser has laid it out.
	js[bool](t, ctx, `new Promise(done => {
		const b = document.createElement('div');
		b.style.height = '30vh';
		document.body.prepend(b);
		requestAnimationFrame(() => requestAnimationFrame(() => done(true)));
	})`)
	run(t, ctx, 10*time.Second, chromedp.Click(`#pay`))
	// The click's next paint, then the hide that makes CLS and INP final.
	js[bool](t, ctx, `new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))`)
	js[float64](t, ctx, `setVisibility('hidden')`)

	want := []string{`frontend_cls_count{service="shop",page="/checkout/:id"} 1`, `frontend_inp_seconds_count{service="shop",page="/checkout/:id"} 1`}
	deadline := time.Now().Add(30 * time.Second)
	for !containsAll(metricsText(t, ls), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no CLS and INP within 30 s of the hide:\n%s", grepLines(metricsText(t, ls), "frontend_"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if since := time.Since(loaded); since >= time.Minute {
		t.Fatalf("the vitals came %s after the load, past the beacon interval", since)
	}
	if err := ls.col.Scrape(); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	cls := sumOf(t, ls.db, "frontend_cls_sum", now)
	inp := sumOf(t, ls.db, "frontend_inp_seconds_sum", now)
	t.Logf("stored: CLS %.4f, INP %.3f s", cls, inp)
	// The summary and the button moved by 30% of the viewport.
	if cls < 0.05 || cls > 1 {
		t.Errorf("stored CLS %g, want the banner's shift, between 0.05 and 1", cls)
	}
	if inp < 0.3 || inp > 5 {
		t.Errorf("stored INP %g s, want the click's 350 ms handler, between 0.3 and 5 s", inp)
	}
}

// sumOf returns the value of the one series of metric in db at now.
func sumOf(t *testing.T, db *store.DB, metric string, now int64) float64 {
	t.Helper()
	got, err := db.Select(store.Query{MinT: now - 60_000, MaxT: now, Matchers: []*labels.Matcher{m("__name__", metric), m("service", "shop")}})
	if err != nil || len(got) != 1 || len(got[0].Samples) == 0 {
		t.Fatalf("%s in the store: %v %v", metric, got, err)
	}
	return got[0].Samples[len(got[0].Samples)-1].V
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
