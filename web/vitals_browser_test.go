package web

import (
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/auth"
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
	// 30% of the viewport, with no input before it, once the browser has
	// timed it.
	js[bool](t, ctx, `(() => {
		const b = document.createElement('div'), n = performance.now();
		b.style.height = '30vh';
		document.body.prepend(b);
		return `+extserver.EntrySeen+`('layout-shift', e => e.startTime >= n && !e.hadRecentInput);
	})()`)
	run(t, ctx, 10*time.Second, chromedp.Click(`#pay`))
	// The click, once the browser has timed it to its next paint, then the
	// hide that makes CLS and INP final.
	js[bool](t, ctx, extserver.EntrySeen+`('event', e => e.name == 'click' && e.interactionId > 0)`)
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

// writeVitals writes 40 minutes of the collector's histograms for shop's
// /checkout, every 15 s: eight page views a step, LCP of five at 1.8 s and
// of three at 5.2 s (p75 4 + 2/3 s, interpolated in the (4, 6] bucket:
// poor, as only 5 of 8 are within 4 s), and INP of all eight at 80 ms
// (p75 87.5 ms: good); and frame rates and request durations beside them.
func writeVitals(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	lcp := map[string]float64{"0.5": 0, "1": 0, "1.5": 0, "2": 5, "2.5": 5, "3": 5, "4": 5, "6": 8, "10": 8, "+Inf": 8}
	inp := map[string]float64{"0.05": 0, "0.1": 8, "0.2": 8, "0.3": 8, "0.5": 8, "1": 8, "2": 8, "+Inf": 8}
	page := store.Labels{{Name: "page", Value: "/checkout"}, {Name: "service", Value: "shop"}}
	add := func(metric string, ts int64, v float64, extra ...store.Label) {
		ls := append(store.Labels{{Name: "__name__", Value: metric}}, extra...)
		ls = append(ls, page...)
		if err := db.Append(ls, ts, v); err != nil {
			t.Fatal(err)
		}
	}
	for i := 160; i >= 0; i-- {
		ts, k := now.Add(-time.Duration(i)*15*time.Second).UnixMilli(), float64(161-i)
		for metric, buckets := range map[string]map[string]float64{"frontend_lcp_seconds": lcp, "frontend_inp_seconds": inp} {
			for le, n := range buckets {
				add(metric+"_bucket", ts, k*n, store.Label{Name: "le", Value: le})
			}
			add(metric+"_count", ts, k*8)
		}
		// Frame rates at 60 fps, and the page's API answering in 0.1 s.
		for le, n := range map[string]float64{"50": 0, "60": 10, "+Inf": 10} {
			add("frontend_fps_bucket", ts, k*n, store.Label{Name: "le", Value: le})
		}
		for le, n := range map[string]float64{"0.05": 0, "0.1": 10, "+Inf": 10} {
			add("http_request_duration_seconds_bucket", ts, k*n, store.Label{Name: "le", Value: le}, store.Label{Name: "route", Value: "/api/pay"})
		}
	}
}

// TestVitalsChartsInBrowser opens the overview on a viewer's session with
// an hour of Web Vitals for one page: the LCP and INP charts draw the p75
// the API computes, over the same time axis as latency and frame rate,
// shaded by Google's ratings, with the page rated poor for LCP and good
// for INP; CLS and TTFB, with no data, show the beacon snippet.
func TestVitalsChartsInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("vera", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	writeVitals(t, ls.db, now)
	exc := exceptions(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=1h"))
	run(t, ctx, 20*time.Second, chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "vera"), chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`form.login button[type=submit]`),
		poll(`['lcp', 'inp', 'cls', 'ttfb', 'latency', 'fps'].every(p => (document.querySelector('[data-panel="' + p + '"]')?.dataset.state ?? 'loading') !== 'loading')`, 20*time.Second))

	for _, c := range []struct {
		panel, rating string
		p75           float64
	}{{"lcp", "poor", 4 + 2.0/3}, {"inp", "good", 0.0875}} {
		sel := fmt.Sprintf(`document.querySelector('[data-panel=%q]')`, c.panel)
		if drawn := js[string](t, ctx, sel+`.dataset.drawn`); drawn != "true" {
			t.Fatalf("%s panel not drawn (state %s)", c.panel, js[string](t, ctx, sel+`.dataset.state`))
		}
		last := js[float64](t, ctx, `parseFloat(`+sel+`.querySelector('[data-last]').dataset.last)`)
		api := instantValue(t, ls, fmt.Sprintf(`histogram_quantile(0.75, sum by (le, service, page) (rate(frontend_%s_seconds_bucket[30m])))`, c.panel))
		if math.Abs(last-c.p75) > 1e-9 || math.Abs(api-c.p75) > 1e-9 {
			t.Errorf("%s p75: legend %g, API %g, want %g", c.panel, last, api, c.p75)
		}
		if got := js[string](t, ctx, sel+`.querySelector('[data-last]').dataset.rating`); got != c.rating {
			t.Errorf("%s rated %q, want %q", c.panel, got, c.rating)
		}
		// Each rating's band is shaded, the poor one in view as the alert's line.
		if zones := js[string](t, ctx, sel+`.dataset.zones`); zones != "good ni poor" {
			t.Errorf("%s shades %q, want good ni poor", c.panel, zones)
		}
	}
	// One time axis for the backend, frame rate and vitals.
	axes := js[[]string](t, ctx, `['latency', 'fps', 'lcp', 'inp'].map(p => document.querySelector('[data-panel="' + p + '"]').dataset.x ?? 'none')`)
	for _, x := range axes[1:] {
		if x != axes[0] || x == "none" {
			t.Fatalf("time axes differ: %v", axes)
		}
	}
	// No data yet: the panels say how to send it.
	for _, p := range []string{"cls", "ttfb"} {
		if !js[bool](t, ctx, fmt.Sprintf(`document.querySelector('[data-panel=%q]').textContent.includes('beacon.js')`, p)) {
			t.Errorf("the empty %s panel does not show the beacon snippet", p)
		}
	}
	if exc.Load() != 0 {
		t.Fatalf("%d page exceptions", exc.Load())
	}
}
