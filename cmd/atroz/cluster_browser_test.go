package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atroz/internal/extserver"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// exploreRows opens Explore on the page at base with query and returns
// its result table, a row per series: its labels and last value.
func exploreRows(t *testing.T, ctx context.Context, base, query string) string {
	t.Helper()
	extserver.Run(t, ctx, 20*time.Second, chromedp.Navigate(base+"/#/explore?range=1h&query="+url.QueryEscape(query)))
	tctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Poll[chromedp.Void](`!!document.querySelector('[data-panel="explore"][data-drawn="true"]')`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("Explore at %s: %v\n%s", base, err, extserver.Eval[string](t, ctx, 20*time.Second, `location.href + '\n' + document.body.innerText`))
	}
	return extserver.Eval[string](t, ctx, 20*time.Second, `[...document.querySelectorAll('tbody tr')].map(r => r.cells[0].textContent + ' = ' + r.cells[1].textContent).sort().join('\n')`)
}

// balancer is the load balancer in front of the instances: one origin
// for the browser, passing each request to the instance it points at.
type balancer struct {
	target atomic.Pointer[httputil.ReverseProxy]
}

func (lb *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	lb.target.Load().ServeHTTP(w, r)
}

// to points the balancer at the instance at base.
func (lb *balancer) to(t *testing.T, base string) {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	lb.target.Store(httputil.NewSingleHostReverseProxy(u))
}

// twoDashboards logs a viewer in through a load balancer that points at
// the first instance, and reads a query in Explore; pointed at the second,
// the page, reloaded, keeps the login (one key, one Redis) and shows the
// same series with the same values.
func twoDashboards(t *testing.T, a, b *clusterClient) {
	req, _ := http.NewRequest(http.MethodPost, a.base+"/api/v1/admin/users", strings.NewReader(`{"name":"nina","role":"viewer","password":"viewer password 1"}`))
	req.Header.Set("Authorization", "Bearer "+a.admin)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add a viewer: %d", resp.StatusCode)
	}
	var lb balancer
	lb.to(t, a.base)
	front := httptest.NewServer(&lb)
	defer front.Close()
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	extserver.Run(t, ctx, 20*time.Second, chromedp.Navigate(front.URL+"/"), chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "nina"), chromedp.SendKeys(`input[name=password]`, "viewer password 1"),
		chromedp.Click(`button[type=submit]`),
		chromedp.Poll[chromedp.Void](`location.hash.startsWith('#/overview')`, chromedp.WithPollingTimeout(10*time.Second)))
	const q = `sum by (source) (cluster_test_total)`
	first := exploreRows(t, ctx, front.URL, q)
	lb.to(t, b.base)
	extserver.Run(t, ctx, 10*time.Second, chromedp.Navigate("about:blank"))
	second := exploreRows(t, ctx, front.URL, q)
	if first != second || !strings.Contains(first, `source="push"`) || !strings.Contains(first, `source="b"`) {
		t.Errorf("the two dashboards differ:\nfirst:\n%s\nsecond:\n%s", first, second)
	}
	livePush(t, ctx, front.URL)
}

// livePush opens the live overview at base and waits for the memory
// panel's push over the WebSocket: from whichever instance the page
// reached, it carries the cluster's series, both instances' own.
func livePush(t *testing.T, ctx context.Context, base string) {
	frames := make(chan string, 16)
	err := chromedp.Listen(ctx, func(ev any) {
		if f, ok := ev.(*network.EventWebSocketFrameReceived); ok && strings.Contains(string(f.Response.PayloadData), `"topic":"panel:memory"`) {
			select {
			case frames <- string(f.Response.PayloadData):
			default:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	extserver.Run(t, ctx, 20*time.Second, chromedp.Navigate(base+"/#/overview?range=live"))
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f := <-frames:
			if strings.Contains(f, `"atroz_instance":"a"`) && strings.Contains(f, `"atroz_instance":"b"`) {
				return
			}
			t.Logf("a push without both instances' memory series yet: %s", f)
		case <-timeout:
			t.Fatal("no live push of the memory panel with both instances' series through the balancer in 20 s")
		}
	}
}
