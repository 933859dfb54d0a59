package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// legendRow is one series of a chart's legend: its labels as PromQL
// writes them, and its last value.
type legendRow struct {
	Title string  `json:"title"`
	Last  float64 `json:"last"`
}

// legend returns the rows of panel's legend, by title.
func legend(t *testing.T, ctx context.Context, panel string) map[string]float64 {
	t.Helper()
	rows := js[[]legendRow](t, ctx, fmt.Sprintf(`[...document.querySelectorAll('[data-panel=%q] .legend li:not(.head)')]
		.map(li => ({title: li.querySelector('.key').title, last: parseFloat(li.querySelector('[data-last]').dataset.last)}))`, panel))
	out := map[string]float64{}
	for _, r := range rows {
		out[r.Title] = r.Last
	}
	return out
}

// TestOTLPServiceOnTheOverview exports the HTTP server duration histogram
// of service billing-otel through the OpenTelemetry SDK, three times a
// second apart, each time the same traffic: GET /invoices/:id six times
// in 20 ms and twice failing (500) in 1.5 s, POST /pay four times in
// 40 ms. Nothing else is written or scraped. On a viewer's overview, the
// request rate panel shows billing-otel by its routes, 8 to 4 a round;
// the latency p95 panel too, at the p95 the API computes (2.2 s and
// 48.75 ms, interpolated in the semantic conventions' buckets); and the
// error ratio panel its 5xx ratio, 2 of 12.
func TestOTLPServiceOnTheOverview(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("vera", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	mp := otlpProvider(t, ls, serviceResource("billing-otel"))
	dur := serverDuration(t, mp)
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second) // the exports need distinct timestamps for a rate; this is data, not a wait for a result
		}
		served(dur, request{"/invoices/:id", "GET", 200, 6, 0.02}, request{"/invoices/:id", "GET", 500, 2, 1.5}, request{"/pay", "POST", 200, 4, 0.04})
		flush(t, mp)
	}
	exc := exceptions(t, ctx)
	pageSignIn(t, ctx, ls.url+"/#/overview", "vera", "dashboard password", "#/overview")
	run(t, ctx, 20*time.Second, poll(`['requests', 'errors', 'latency'].every(p => document.querySelector('[data-panel="' + p + '"]')?.dataset.drawn === 'true')`, 15*time.Second))

	const invoices, pay = `{route="/invoices/:id", service="billing-otel"}`, `{route="/pay", service="billing-otel"}`
	rates := legend(t, ctx, "requests")
	if len(rates) != 2 || !(rates[pay] > 0) || math.Abs(rates[invoices]/rates[pay]-2) > 1e-9 {
		t.Errorf("request rate legend %v, want billing-otel's two routes, /invoices/:id at twice /pay's rate", rates)
	}
	p95 := legend(t, ctx, "latency")
	for route, want := range map[string]float64{"/invoices/:id": 2.2, "/pay": 0.04875} {
		title := fmt.Sprintf(`{route=%q, service="billing-otel"}`, route)
		api := instantValue(t, ls, fmt.Sprintf(`histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket{service="billing-otel", route=%q}[5m])))`, route))
		if got, ok := p95[title]; !ok || math.Abs(got-api) > 1e-9 || math.Abs(api-want) > 1e-9 {
			t.Errorf("latency p95 of %s: legend %v (%v), API %g, want %g", route, got, p95, api, want)
		}
	}
	if len(p95) != 2 {
		t.Errorf("latency legend %v, want billing-otel's two routes", p95)
	}
	errs := legend(t, ctx, "errors")
	api := instantValue(t, ls, `sum by (service) (rate(http_requests_total{code=~"5..", service="billing-otel"}[5m])) / sum by (service) (rate(http_requests_total{service="billing-otel"}[5m]))`)
	if got, ok := errs[`{service="billing-otel"}`]; len(errs) != 1 || !ok || math.Abs(got-api) > 1e-9 || math.Abs(api-2.0/12) > 1e-9 {
		t.Errorf("error ratio legend %v, API %g, want billing-otel at %g", errs, api, 2.0/12)
	}
	t.Logf("legends: request rate %v, latency p95 %v, error ratio %v", rates, p95, errs)
	if exc.Load() != 0 {
		t.Fatalf("%d page exceptions", exc.Load())
	}
}
