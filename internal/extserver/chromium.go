package extserver

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumBin is where Debian's chromium package installs the browser.
const chromiumBin = "/usr/bin/chromium"

// Chromium starts Debian's Chromium headless, with a fresh profile and no
// background traffic, plus opts, and stops it when the test ends. A missing
// browser skips the test, unless the CI environment variable is set.
func Chromium(t *testing.T, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumBin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must install chromium: %v", err)
		}
		t.Skipf("no browser: %v", err)
	}
	all := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromiumBin), chromedp.UserDataDir(t.TempDir())}
	for _, f := range []string{"headless", "no-sandbox", "disable-gpu", "disable-quic", "no-first-run",
		"disable-background-networking", "disable-component-update", "disable-sync"} {
		all = append(all, chromedp.Flag(f, true))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(all, opts...)...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Tab opens a tab in the browser of ctx, closed when the test ends. The
// first action on a tab binds its life to its context, so a test runs its
// timed actions on contexts derived from the tab, never on the tab's own.
func Tab(t *testing.T, browser context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return tab
}

// Run runs actions on the tab of ctx within d, failing the test on error.
func Run(t testing.TB, ctx context.Context, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// Eval evaluates expr on the tab of ctx within d, awaiting a promise, and
// returns its value, failing the test on error.
func Eval[T any](t testing.TB, ctx context.Context, d time.Duration, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// FakeVisibility makes the visibility of the tab of ctx settable, as
// headless tabs are always visible: each page it loads starts in state
// start ("visible" or "hidden"), and setVisibility(s) in the page sets it,
// fires visibilitychange, and returns Date.now().
func FakeVisibility(t *testing.T, ctx context.Context, start string) {
	t.Helper()
	fake := page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		let v = '` + start + `';
		Object.defineProperty(document, 'visibilityState', {get: () => v});
		Object.defineProperty(document, 'hidden', {get: () => v == 'hidden'});
		window.setVisibility = s => (v = s, document.dispatchEvent(new Event('visibilitychange')), Date.now());
	})()`}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, fake); err != nil {
		t.Fatal(err)
	}
}

// EntrySeen is a JavaScript function, (type, pass) => Promise, that
// resolves to true once the page's performance timeline holds an entry of
// type (entries from before the call count) for which pass is true: a
// test waits with it for the browser to have timed a layout shift or an
// interaction, as web-vitals will see it, rather than for some frames.
const EntrySeen = `((type, pass) => new Promise(done => new PerformanceObserver((list, o) => {
	if (list.getEntries().some(pass)) o.disconnect(), done(true);
}).observe({type, buffered: true, durationThreshold: 16})))`
