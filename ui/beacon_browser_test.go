package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"atroz/internal/extserver"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	// beaconWait bounds every wait for a beacon or a page condition.
	beaconWait = 15 * time.Second
	// baseAttrs are the script attributes of a page that sends every second.
	baseAttrs = `data-service="shop" data-interval="1"`
	// settled is true once the page has run long enough to count two
	// seconds of frames and to reach two data-interval flushes.
	settled = `window.atroz && performance.now() > 3000`
)

// beacon is the payload of beacon.js.
type beacon struct {
	Service    string             `json:"service"`
	Page       string             `json:"page"`
	FPS        []float64          `json:"fps"`
	LongFrames int                `json:"long_frames"`
	DurationMS int64              `json:"duration_ms"`
	Vitals     map[string]float64 `json:"vitals"`
	TS         int64              `json:"ts"`
}

// received is one POST to /api/v1/beacons as the test server saw it.
type received struct {
	body        []byte
	contentType string
	cookie      bool
	at          time.Time
}

// beaconServer serves test pages, beacon.js and the beacon endpoint, and
// records every beacon it receives.
type beaconServer struct {
	*httptest.Server
	beacons chan received
}

// newBeaconServer serves a page at each path of pages whose beacon.js script
// tag has the attributes given for that path.
func newBeaconServer(t *testing.T, pages map[string]string) *beaconServer {
	t.Helper()
	s := &beaconServer{beacons: make(chan received, 256)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /beacon.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		_, _ = w.Write(BeaconJS())
	})
	mux.HandleFunc("POST /api/v1/beacons", s.record)
	mux.HandleFunc("GET /sync", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	for path, attrs := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprintf(w, "<!doctype html><title>beacon test</title><p>test page</p>"+
				`<script src="/beacon.js" %s></script>`, attrs)
		})
	}
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *beaconServer) record(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case s.beacons <- received{
		body:        body,
		contentType: r.Header.Get("Content-Type"),
		cookie:      r.Header.Get("Cookie") != "",
		at:          time.Now(),
	}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// next returns the next beacon, failing the test when none arrives in time.
func (s *beaconServer) next(t *testing.T) received {
	t.Helper()
	select {
	case r := <-s.beacons:
		return r
	case <-time.After(beaconWait):
		t.Fatalf("no beacon within %s", beaconWait)
		return received{}
	}
}

// drain returns the beacons that have arrived and not been read yet.
func (s *beaconServer) drain() []received {
	var rs []received
	for {
		select {
		case r := <-s.beacons:
			rs = append(rs, r)
		default:
			return rs
		}
	}
}

// flushNext calls atroz.flush() on the tab of ctx every 100 ms until a
// beacon arrives, and returns it.
func (s *beaconServer) flushNext(t *testing.T, ctx context.Context) received {
	t.Helper()
	deadline := time.After(beaconWait)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		eval[any](t, ctx, `atroz.flush(), null`)
		select {
		case r := <-s.beacons:
			return r
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no beacon within %s", beaconWait)
		}
	}
}

// decodeBeacon decodes body strictly: the six fields of beacon, and
// vitals when the beacon has some.
func decodeBeacon(t *testing.T, body []byte) beacon {
	t.Helper()
	var fields map[string]json.RawMessage
	err := json.Unmarshal(body, &fields)
	if _, ok := fields["vitals"]; err != nil || len(fields) != 6 && !(ok && len(fields) == 7) {
		t.Fatalf("beacon %s: want an object with 6 fields, or 7 with vitals (err %v)", body, err)
	}
	var b beacon
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("decode beacon %s: %v", body, err)
	}
	return b
}

// do runs the actions on the tab of ctx, within beaconWait.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	extserver.Run(t, ctx, beaconWait, actions...)
}

// eval evaluates the expression on the tab of ctx, awaiting a promise.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	return extserver.Eval[T](t, ctx, beaconWait, expr)
}

// waitFor polls the expression in the page until it is true.
func waitFor(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(beaconWait))
}

// waitUntil waits until the page's Date.now() passes ms.
func waitUntil(t *testing.T, ctx context.Context, ms float64) {
	t.Helper()
	do(t, ctx, waitFor(fmt.Sprintf(`Date.now() > %.0f`, ms)))
}

// flushAndSync flushes the beacon and then makes one round trip to the
// server, so a beacon sent by the flush has reached the server by the time
// it returns.
func flushAndSync(t *testing.T, ctx context.Context) {
	t.Helper()
	eval[int](t, ctx, `atroz.flush(), fetch('/sync').then(r => r.status)`)
}

func TestBeaconSends(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	srv := newBeaconServer(t, map[string]string{"/page/42": baseAttrs})
	do(t, ctx, chromedp.Navigate(srv.URL+"/page/42?secret=1#frag"))

	// The first beacon may hold TTFB alone, sent before a second is counted.
	r := srv.next(t)
	for decodeBeacon(t, r.body).Vitals != nil && len(decodeBeacon(t, r.body).FPS) == 0 {
		t.Logf("beacon of vitals alone: %s", r.body)
		r = srv.next(t)
	}
	t.Logf("beacon: %s", r.body)
	b := decodeBeacon(t, r.body)
	if b.Service != "shop" || b.Page != "/page/42" {
		t.Errorf("service, page = %q, %q; want shop, /page/42", b.Service, b.Page)
	}
	if len(b.FPS) == 0 {
		t.Error("fps is empty")
	}
	for _, v := range b.FPS {
		if v < 0 || v > 1000 {
			t.Errorf("fps %v out of [0, 1000]", v)
		}
	}
	if b.LongFrames < 0 || b.DurationMS <= 0 {
		t.Errorf("long_frames, duration_ms = %d, %d", b.LongFrames, b.DurationMS)
	}
	if d := time.Since(time.UnixMilli(b.TS)); d < -time.Minute || d > time.Minute {
		t.Errorf("ts %d is %s from now", b.TS, d)
	}
	if mt, _, err := mime.ParseMediaType(r.contentType); err != nil || mt != "text/plain" {
		t.Errorf("Content-Type %q, want text/plain", r.contentType)
	}
	if r.cookie {
		t.Error("beacon carries a Cookie header")
	}

	// Block the main thread for longer than a long frame; a later beacon
	// counts it.
	eval[any](t, ctx, `(() => { const end = performance.now() + 120; while (performance.now() < end); })()`)
	for deadline := time.Now().Add(beaconWait); decodeBeacon(t, srv.next(t).body).LongFrames == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no long frame counted within %s", beaconWait)
		}
	}
}

func TestBeaconHidden(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	srv := newBeaconServer(t, map[string]string{"/hidden/3": `data-service="shop" data-interval="60"`})
	extserver.FakeVisibility(t, ctx, "visible")
	do(t, ctx, chromedp.Navigate(srv.URL+"/hidden/3"), waitFor(settled))

	hiddenMS := eval[float64](t, ctx, `setVisibility('hidden')`)
	if b := decodeBeacon(t, srv.next(t).body); len(b.FPS) == 0 {
		t.Fatal("beacon on hide has no samples")
	}
	waitUntil(t, ctx, hiddenMS+1500)
	flushAndSync(t, ctx)
	for _, r := range srv.drain() {
		t.Fatalf("beacon while hidden: %s", r.body)
	}

	visibleMS := eval[float64](t, ctx, `setVisibility('visible')`)
	b := decodeBeacon(t, srv.flushNext(t, ctx).body)
	if float64(b.DurationMS) > float64(b.TS)-visibleMS+50 {
		t.Fatalf("beacon %+v covers time hidden before %.0f", b, visibleMS)
	}
}

func TestBeaconConsent(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	srv := newBeaconServer(t, map[string]string{
		"/consent/7": `data-service="shop" data-interval="60" data-consent="required"`,
	})
	do(t, ctx, chromedp.Navigate(srv.URL+"/consent/7"), waitFor(settled))
	flushAndSync(t, ctx)
	for _, r := range srv.drain() {
		t.Fatalf("beacon before consent: %s", r.body)
	}

	consentAt := time.Now()
	consentMS := eval[float64](t, ctx, `atroz.consent(true), Date.now()`)
	r := srv.flushNext(t, ctx)
	b := decodeBeacon(t, r.body)
	if r.at.Before(consentAt) {
		t.Fatalf("beacon received at %s, before consent at %s", r.at, consentAt)
	}
	// Frames before consent are not measured, so the samples fit between
	// consent and send (with a frame of slack for the rAF timestamp).
	if float64(b.TS) < consentMS || float64(b.DurationMS) > float64(b.TS)-consentMS+50 {
		t.Fatalf("beacon %s covers time before consent at %.0f", r.body, consentMS)
	}

	// Withdrawing consent drops the buffered second and stops measuring, so
	// consenting again and flushing at once has nothing to send.
	waitUntil(t, ctx, float64(b.TS)+1500)
	withdrawnMS := eval[float64](t, ctx, `atroz.consent(false), Date.now()`)
	waitUntil(t, ctx, withdrawnMS+1500)
	eval[int](t, ctx, `atroz.consent(true), atroz.flush(), fetch('/sync').then(r => r.status)`)
	for _, r := range srv.drain() {
		t.Fatalf("beacon after consent was withdrawn: %s", r.body)
	}
}

func TestBeaconSilent(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	gpc := `Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})`
	silent := []struct{ path, attrs, inject string }{
		{"/gpc/1", baseAttrs, gpc},
		{"/sampled-out/1", baseAttrs + ` data-sample-rate="0"`, ""},
		{"/no-service/1", `data-interval="1"`, ""},
	}
	pages := map[string]string{"/page/2": baseAttrs}
	for _, p := range silent {
		pages[p.path] = p.attrs
	}
	srv := newBeaconServer(t, pages)

	tabs := make([]context.Context, len(silent))
	for i, p := range silent {
		tabs[i] = extserver.Tab(t, ctx)
		if p.inject != "" {
			params := page.AddScriptToEvaluateOnNewDocumentParams{Source: p.inject}
			if _, err := chromedp.Call(tabs[i], page.AddScriptToEvaluateOnNewDocument, params); err != nil {
				t.Fatal(err)
			}
		}
		do(t, tabs[i], chromedp.Navigate(srv.URL+p.path))
	}
	for _, tab := range tabs {
		do(t, tab, waitFor(settled))
		eval[any](t, tab, `atroz.flush(), null`)
	}

	// A page that does send, in the same browser, bounds the wait.
	do(t, extserver.Tab(t, ctx), chromedp.Navigate(srv.URL+"/page/2"))
	first := srv.next(t)
	for _, r := range append([]received{first}, srv.drain()...) {
		if b := decodeBeacon(t, r.body); b.Page != "/page/2" {
			t.Fatalf("silent page sent %+v", b)
		}
	}
}

// TestBeaconNeverVisible loads a page in a tab that stays hidden, as a
// background tab or a prerender: it sends nothing, not even the TTFB that
// web-vitals measures meanwhile, until it is shown.
func TestBeaconNeverVisible(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	srv := newBeaconServer(t, map[string]string{"/background/1": baseAttrs})
	extserver.FakeVisibility(t, ctx, "hidden")
	do(t, ctx, chromedp.Navigate(srv.URL+"/background/1"), waitFor(settled))
	flushAndSync(t, ctx)
	for _, r := range srv.drain() {
		t.Fatalf("beacon from a page never visible: %s", r.body)
	}
	// Once shown, it sends: TTFB first, then frame rates.
	eval[float64](t, ctx, `setVisibility('visible')`)
	for i := 0; len(decodeBeacon(t, srv.flushNext(t, ctx).body).FPS) == 0; i++ {
		if i == 3 {
			t.Fatal("no frame rates in three beacons after the page was shown")
		}
	}
}

// TestBeaconVitalsOncePerView shifts a page's layout and hides it: the
// beacon sent at the hide carries the page view's CLS. Shown again,
// shifted again and hidden again, the page sends no second CLS, as a page
// view has one.
func TestBeaconVitalsOncePerView(t *testing.T) {
	t.Parallel()
	ctx := extserver.Chromium(t)
	srv := newBeaconServer(t, map[string]string{"/shift/1": `data-service="shop" data-interval="60"`})
	extserver.FakeVisibility(t, ctx, "visible")
	do(t, ctx, chromedp.Navigate(srv.URL+"/shift/1"), waitFor(settled))
	// A banner shifts the page, and the browser has timed it: at a first
	// shift an entry is new; at the second, a second entry is.
	shift := `(() => {
		const b = document.createElement('div'), n = performance.now();
		b.style.height = '30vh';
		document.body.prepend(b);
		return ` + extserver.EntrySeen + `('layout-shift', e => e.startTime >= n);
	})()`
	clsOf := func() (float64, bool) {
		eval[float64](t, ctx, `setVisibility('hidden')`)
		eval[int](t, ctx, `fetch('/sync').then(r => r.status)`)
		found, cls := false, 0.0
		for _, r := range srv.drain() {
			if v, ok := decodeBeacon(t, r.body).Vitals["cls"]; ok {
				found, cls = true, v
			}
		}
		return cls, found
	}
	eval[bool](t, ctx, shift)
	if cls, ok := clsOf(); !ok || cls <= 0 {
		t.Fatalf("no CLS sent at the hide after a shift (found %v, %g)", ok, cls)
	}
	eval[float64](t, ctx, `setVisibility('visible')`)
	eval[bool](t, ctx, shift)
	if cls, ok := clsOf(); ok {
		t.Fatalf("a second CLS, %g, sent for one page view", cls)
	}
}
