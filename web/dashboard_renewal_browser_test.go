package web

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/chromedp"
)

// TestLiveSocketOutlivesTokens keeps the live overview open across several
// renewals of 4-second tokens, with the hub checking expiry every second:
// each renewal replaces the WebSocket before the server would close it at
// the old token's expiry, so the server never closes one as expired and
// the page never says "Reconnecting…", while pushes keep arriving.
func TestLiveSocketOutlivesTokens(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	errs := exceptions(t, ctx)
	var logs syncBuffer
	cfg := Config{MetricsOnMain: true, Auth: testAuth, WS: WSOptions{PingInterval: time.Second}}
	cfg.Auth.Expiration, cfg.Auth.MaxRefresh = 4*time.Second, time.Minute
	ls := startLiveWith(t, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err := ls.s.access.AddUser("ana", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	view := "#/overview?range=live"
	pageSignIn(t, ctx, ls.url+"/"+view, "ana", "dashboard password", "#/overview")
	run(t, ctx, 20*time.Second, poll(`document.querySelector('.status')?.textContent === 'Live'`, 15*time.Second))
	js[bool](t, ctx, `(() => {
		const el = document.querySelector('.status');
		window.__statuses = [];
		new MutationObserver(() => window.__statuses.push(el.textContent)).observe(el, {childList: true, characterData: true, subtree: true});
		return true;
	})()`)
	// Three token lifetimes: without the swap the first token's socket is
	// closed within a second of its expiry.
	t0 := js[float64](t, ctx, `performance.now()`)
	run(t, ctx, 25*time.Second, poll(fmt.Sprintf(`performance.now() > %f`, t0+12000), 20*time.Second))
	if got := js[[]string](t, ctx, `window.__statuses`); strings.Contains(strings.Join(got, "|"), "Reconnecting") {
		t.Errorf("the overview's status went %q across renewals", got)
	}
	if n := strings.Count(logs.String(), "websocket session expired"); n > 0 {
		t.Errorf("the server closed %d sockets as expired; a renewal should have replaced them:\n%s", n, logs.String())
	}
	// The test server runs no alerting, so the status also reports the
	// alert bands missing after each back-fill; the connection's own
	// statuses must end at Live.
	if got := js[string](t, ctx, `(window.__statuses.filter(s => !s.startsWith('Alert bands')).pop() ?? 'Live') + ' ' + location.hash`); got != "Live "+view {
		t.Errorf("after 12 s of 4-second tokens the page shows %q, want Live on %s", got, view)
	}
	if n := errs.Load(); n > 0 {
		t.Errorf("%d page exceptions", n)
	}
}
