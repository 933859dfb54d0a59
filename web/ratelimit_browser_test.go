package web

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// startLimitedLive is startLive with the rate limits o and no login.
func startLimitedLive(t *testing.T, o RateLimitOptions) *liveServer {
	t.Helper()
	return startLiveWith(t, Config{AllowedOrigins: []string{"https://shop.example"}, Auth: testAuth, RateLimits: o}, slog.New(slog.DiscardHandler))
}

// responses counts the page's answers by status and records exceptions.
type responses struct {
	mu         sync.Mutex
	limited    int
	exceptions []string
}

func (r *responses) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventResponseReceived:
			if ev.Response.Status == 429 {
				r.limited++
			}
		case *runtime.EventExceptionThrown:
			r.exceptions = append(r.exceptions, ev.ExceptionDetails.Text+exceptionText(ev.ExceptionDetails))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDashboardRidesOutRateLimits gives the dashboard's user a budget of 10
// requests every 2 s, far below one overview load (18 calls), and switches
// the range three times: the calls refused with 429 wait out Retry-After
// and try again, one notice says so meanwhile, and every panel ends up
// drawn or shown empty, none with an error.
func TestDashboardRidesOutRateLimits(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLimitedLive(t, RateLimitOptions{UserPerMinute: 300, Window: 2 * time.Second})
	if err := ls.s.access.AddUser("ana", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	seed(t, ls)
	var rs responses
	rs.listen(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/login"), chromedp.WaitVisible(`input[name=username]`))
	// Record every text the notice shows, and whether more than one ever shows.
	js[bool](t, ctx, `(() => {
		window.__notices = [];
		window.__manyNotices = false;
		new MutationObserver(() => {
			const shown = [...document.querySelectorAll('.rate-notice')].filter(n => !n.hidden);
			if (shown.length > 1) window.__manyNotices = true;
			if (shown.length) window.__notices.push(shown[0].textContent);
		}).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
		return true;
	})()`)
	run(t, ctx, 20*time.Second,
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview')`, 10*time.Second))
	for _, r := range []string{"1h", "6h", "24h"} {
		run(t, ctx, 10*time.Second, chromedp.Navigate(ls.url+"/#/overview?range="+r))
		js[bool](t, ctx, `window.__atroz.ready.then(() => true)`)
		states := js[string](t, ctx, `[...document.querySelectorAll('[data-panel]')].map(p => p.dataset.panel + ':' + p.dataset.state).join(' ')`)
		if n := strings.Count(states, ":"); n < 10 || strings.Contains(states, ":error") || strings.Contains(states, ":loading") {
			t.Errorf("range %s: %d panels: %s", r, n, states)
		}
		if bad := js[[]string](t, ctx, `[...document.querySelectorAll('[data-panel], main .error')].filter(p => /rate limit|429/i.test(p.innerText)).map(p => p.dataset.panel || p.innerText)`); len(bad) > 0 {
			t.Errorf("range %s: a rate-limit error shows in %v", r, bad)
		}
	}
	rs.mu.Lock()
	limited, exceptions := rs.limited, rs.exceptions
	rs.mu.Unlock()
	notices := js[[]string](t, ctx, `window.__notices`)
	t.Logf("%d answers were 429; the notice said %q … %q", limited, first(notices), last(notices))
	if limited == 0 {
		t.Error("no call was refused with 429: the test's budget does not bite")
	}
	if len(notices) == 0 || !strings.HasPrefix(notices[0], "Rate limited, retrying in ") || !strings.HasSuffix(notices[0], " s") {
		t.Errorf("notices %q, want \"Rate limited, retrying in N s\"", notices)
	}
	if js[bool](t, ctx, `window.__manyNotices`) {
		t.Error("more than one rate-limit notice showed at once")
	}
	run(t, ctx, 10*time.Second, poll(`document.querySelector('.rate-notice').hidden`, 8*time.Second))
	for _, e := range exceptions {
		t.Errorf("page exception: %s", e)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}
