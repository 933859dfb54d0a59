package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"
	"atroz/store"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// queryLog counts the query_range requests the page sends and the
// exceptions it throws.
type queryLog struct {
	mu         sync.Mutex
	queries    int
	exceptions []string
}

func (q *queryLog) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		q.mu.Lock()
		defer q.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			if strings.Contains(ev.Request.URL, "/api/v1/query_range") {
				q.queries++
			}
		case *runtime.EventExceptionThrown:
			q.exceptions = append(q.exceptions, ev.ExceptionDetails.Text+exceptionText(ev.ExceptionDetails))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (q *queryLog) count() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queries
}

// waitQueries waits until n query_range requests were sent in all.
func (q *queryLog) waitQueries(t *testing.T, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for q.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d query_range requests after %s, want %d", q.count(), d, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeChartData writes 40 minutes of points every 15 s: memory at 0.2 for
// the first 20 minutes and 0.6 since, CPU flat at 1, a flat test ratio at
// 1 and a counter rising by 15 a step.
func writeChartData(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	name := func(n string) store.Labels { return store.Labels{{Name: "__name__", Value: n}} }
	for i := 160; i >= 0; i-- {
		ts := now.Add(-time.Duration(i) * 15 * time.Second).UnixMilli()
		mem := 0.6
		if i > 80 {
			mem = 0.2
		}
		for _, p := range []struct {
			l store.Labels
			v float64
		}{{name("system_memory_usage_ratio"), mem}, {name("system_cpu_usage_ratio"), 1}, {name("test_flat_ratio"), 1}, {name("test_events_total"), float64(160-i) * 15}} {
			if err := db.Append(p.l, ts, p.v); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func pressed(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }

type rect struct{ Left, Top, Width, Height float64 }

func plotRect(t *testing.T, ctx context.Context, panel string) rect {
	t.Helper()
	// A panel redrawn after a range change replaces its plot: wait for the
	// drawn one rather than measure between the two.
	run(t, ctx, 30*time.Second, poll(fmt.Sprintf(`!!document.querySelector('[data-panel=%q][data-drawn="true"] .u-over')`, panel), 30*time.Second))
	return js[rect](t, ctx, fmt.Sprintf(`(() => { const o = document.querySelector('[data-panel=%q] .u-over');
		o.scrollIntoView({block: 'center'});
		const r = o.getBoundingClientRect();
		return {Left: r.left, Top: r.top, Width: r.width, Height: r.height}; })()`, panel))
}

func hashParam(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	h := js[string](t, ctx, `location.hash`)
	_, qs, _ := strings.Cut(h, "?")
	v, _ := url.ParseQuery(qs)
	return v.Get(name)
}

// TestChartsInBrowser digs into the charts as a person would: the tooltip
// and shared crosshair, legend statistics, drag to zoom and double-click
// out, a panel opened in Explore with its unit, autocomplete, auto-refresh,
// the range select stepped with the arrow keys, and what a point is on a
// day's range.
func TestChartsInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t, chromedp.WindowSize(1280, 900)))
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("ana", auth.RoleAdmin, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	writeChartData(t, ls.db, time.Now())
	var ql queryLog
	ql.listen(t, ctx)
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=1h"))
	run(t, ctx, 20*time.Second, chromedp.WaitVisible(`input[name=username]`),
		chromedp.SendKeys(`input[name=username]`, "ana"),
		chromedp.SendKeys(`input[name=password]`, "dashboard password"),
		chromedp.Click(`button[type=submit]`),
		poll(`location.hash.startsWith('#/overview') && document.querySelector('[data-panel="memory"][data-drawn="true"]') && document.querySelector('[data-panel="cpu"][data-drawn="true"]')`, 15*time.Second))

	t.Run("functions", func(t *testing.T) { chartFunctions(t, ctx) })
	t.Run("palette", func(t *testing.T) { palette(t, ctx) })
	t.Run("tooltip", func(t *testing.T) { tooltip(t, ctx) })
	t.Run("zoom", func(t *testing.T) { zoom(t, ctx) })
	t.Run("explore", func(t *testing.T) { explorePanel(t, ctx) })
	t.Run("autorefresh", func(t *testing.T) { autoRefresh(t, ctx, &ql) })
	t.Run("arrowkeys", func(t *testing.T) { arrowKeys(t, ctx, &ql) })
	t.Run("dayrange", func(t *testing.T) { dayRange(t, ctx) })

	ql.mu.Lock()
	defer ql.mu.Unlock()
	for _, e := range ql.exceptions {
		t.Errorf("page exception: %s", e)
	}
}

// chartFunctions checks the page's pure functions, as the page imports
// them: units inferred from metric names, what a point is at a step, span
// names, and the range a double-click goes back to.
func chartFunctions(t *testing.T, ctx context.Context) {
	f := func(expr, want string) {
		t.Helper()
		got := js[string](t, ctx, `Promise.all([import('./chart.js'), import('./range.js'), import('./explore.js')]).then(([c, r, e]) => String(`+expr+`))`)
		if got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	f(`c.inferUnit('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))')`, "s")
	f(`c.inferUnit('rate(http_request_duration_seconds_count[5m])')`, "")
	f(`c.inferUnit('process_resident_memory_bytes')`, "bytes")
	f(`c.inferUnit('system_memory_usage_ratio / process_resident_memory_bytes')`, "")
	f(`c.inferUnit('time() - data_last_sample_timestamp_seconds')`, "s")
	f(`c.pointMeaning('sum by (route) (rate(http_requests_total[1m]))', 8640)`, "avg per 2.4 h")
	f(`c.pointMeaning('histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m])))', 7200)`, "p95 per 2 h")
	f(`c.pointMeaning('sum(increase(websocket_disconnects_total[1m]))', 288)`, "1-min increase every 4.8 min")
	f(`c.pointMeaning('rate(x_total[5m])', 120)`, "5-min avg every 2 min")
	f(`c.pointMeaning('system_cpu_usage_ratio', 86400)`, "a sample every 24 h")
	f(`r.durationKey(7200) + ' ' + r.durationKey(1800) + ' ' + r.durationKey(1209600)`, "2h 30m 2w")
	f(`JSON.stringify(r.zoomOutParams(r.readRange(new URLSearchParams('range=6h'), '1h')))`, `{"range":"12h"}`)
	f(`(() => { const now = Math.floor(Date.now() / 1000), p = r.zoomOutParams(r.readRange(new URLSearchParams('range=custom&from=' + (now - 600) + '&to=' + now), '1h'));
		return p.range + ' ' + (p.to <= now + 1) + ' ' + (p.to - p.from); })()`, "custom true 1200")
	f(`JSON.stringify(e.word('sum(rate(http_req', 17))`, `{"kind":"metric","prefix":"http_req","start":9}`)
	f(`JSON.stringify(e.word('up{job="a", ser', 15))`, `{"kind":"label","prefix":"ser","start":12}`)
	f(`JSON.stringify(e.word('up{service="sh', 14))`, `{"kind":"value","label":"service","prefix":"sh","start":12}`)
}

// palette: at least 20 series colours a theme, no two closer than ΔE 20
// (CIELAB), none within ΔE 40 of the theme's threshold line.
func palette(t *testing.T, ctx context.Context) {
	got := js[string](t, ctx, `import('./chart.js').then(m => {
		const lin = c => (c /= 255) <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
		const lab = hex => {
			const [r, g, b] = [1, 3, 5].map(i => lin(parseInt(hex.slice(i, i + 2), 16)));
			const f = t => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
			const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047), y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
			const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
			return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
		};
		const d = (a, b) => Math.hypot(...lab(a).map((v, i) => v - lab(b)[i]));
		const thr = {light: getComputedStyle(document.documentElement).getPropertyValue('--threshold').trim(), dark: '#e6edf3'};
		const out = [];
		for (const [theme, pal] of Object.entries(m.PALETTE)) {
			if (pal.length < 20) out.push(theme + ': ' + pal.length + ' colours');
			pal.forEach((a, i) => pal.slice(i + 1).forEach(b => { if (d(a, b) < 20) out.push(theme + ': ' + a + ' near ' + b); }));
			pal.forEach(c => { if (d(c, thr[theme]) < 40) out.push(theme + ': threshold ' + thr[theme] + ' near ' + c); });
		}
		return out.join('; ');
	})`)
	if got != "" {
		t.Error(got)
	}
}

// tooltip: hovering the memory chart late in the hour floats the value of
// its series there (0.6, shown as 60%); the CPU chart shows the synced
// crosshair and no tooltip; the legend has min, max and average.
func tooltip(t *testing.T, ctx context.Context) {
	r := plotRect(t, ctx, "memory")
	run(t, ctx, 10*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r.Left+r.Width*0.9, r.Top+r.Height/2),
		poll(`!!document.querySelector('[data-panel="memory"] .tooltip:not([hidden])')`, 5*time.Second))
	if v := js[string](t, ctx, `document.querySelector('[data-panel="memory"] .tooltip').dataset.value`); v != "0.6" {
		t.Errorf("tooltip value %q, want 0.6", v)
	}
	if text := js[string](t, ctx, `document.querySelector('[data-panel="memory"] .tooltip').textContent`); !strings.Contains(text, "60%") {
		t.Errorf("tooltip says %q, want 60%%", text)
	}
	if js[bool](t, ctx, `!document.querySelector('[data-panel="cpu"] .tooltip').hidden`) {
		t.Error("the CPU chart shows a tooltip while the pointer is over memory")
	}
	cross := js[string](t, ctx, `document.querySelector('[data-panel="cpu"] .u-cursor-x').style.transform`)
	if !strings.HasPrefix(cross, "translate(") || strings.HasPrefix(cross, "translate(-10px") {
		t.Errorf("the CPU chart's crosshair is at %q, want it following the memory chart's", cross)
	}
	stats := js[[]string](t, ctx, `['min', 'max'].map(c => document.querySelector('[data-panel="memory"] .legend .stat.' + c).dataset.v)`)
	if stats[0] != "0.2" || stats[1] != "0.6" {
		t.Errorf("memory legend min, max = %v, want 0.2 0.6", stats)
	}
	run(t, ctx, 5*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5),
		poll(`document.querySelector('[data-panel="memory"] .tooltip').hidden`, 3*time.Second))
}

// zoom: a drag across 30 % of the hour shows those 18 minutes on every
// chart and in the URL; a double-click goes back to the hour, another one
// to two hours.
func zoom(t *testing.T, ctx context.Context) {
	r := plotRect(t, ctx, "memory")
	y := r.Top + r.Height/2
	run(t, ctx, 10*time.Second, markView,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r.Left+r.Width*0.4, y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, r.Left+r.Width*0.4, y, pressed, chromedp.ClickCount(1)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r.Left+r.Width*0.55, y, pressed),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, r.Left+r.Width*0.7, y, pressed),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, r.Left+r.Width*0.7, y, pressed, chromedp.ClickCount(1)),
		poll(fresh(`location.hash.includes('range=custom') && !!document.querySelector('[data-panel="cpu"][data-drawn="true"]')`), 10*time.Second))
	var from, to float64
	fmt.Sscan(hashParam(t, ctx, "from"), &from)
	fmt.Sscan(hashParam(t, ctx, "to"), &to)
	if span := to - from; math.Abs(span-0.3*3600) > 60 {
		t.Errorf("zoomed to %g s, want about 1080 s", span)
	}
	if js[string](t, ctx, `document.querySelector('select[id^=range-]').value`) != "custom" {
		t.Error("the range select does not say custom after a zoom")
	}
	dbl := func(want string) {
		t.Helper()
		r := plotRect(t, ctx, "memory")
		x, y := r.Left+r.Width/2, r.Top+r.Height/2
		// A zoom out redraws every panel of the overview over the longer
		// range; under the race detector beside the package's other tests
		// that took more than ten seconds.
		run(t, ctx, 30*time.Second, markView,
			chromedp.MouseClickXY(x, y),
			chromedp.MouseClickXY(x, y, chromedp.ClickCount(2)),
			poll(fresh(fmt.Sprintf(`new URLSearchParams(location.hash.split('?')[1]).get('range') === %q && !!document.querySelector('[data-panel="memory"][data-drawn="true"]')`, want)), 30*time.Second))
	}
	dbl("1h")
	dbl("2h")
}

// explorePanel: the memory panel's link opens Explore with its query, range
// and unit; the y axis is a ratio clamped at 100 % for a flat line at 1;
// typing completes a metric name, and Ctrl+Enter runs it.
func explorePanel(t *testing.T, ctx context.Context) {
	run(t, ctx, 10*time.Second, chromedp.Navigate("about:blank"), chromedp.Navigate(strings.Split(js[string](t, ctx, `location.href`), "#")[0]+"#/overview?range=1h"))
	run(t, ctx, 15*time.Second, poll(`!!document.querySelector('[data-panel="memory"][data-drawn="true"] .explore-link')`, 10*time.Second),
		chromedp.Click(`[data-panel="memory"] .explore-link`),
		poll(`location.hash.startsWith('#/explore') && !!document.querySelector('[data-panel="explore"][data-drawn="true"]')`, 10*time.Second))
	if q := hashParam(t, ctx, "query"); q != "system_memory_usage_ratio" {
		t.Errorf("Explore opened with query %q", q)
	}
	if got := js[string](t, ctx, `document.querySelector('#q').value + ' | ' + document.querySelector('#q-unit').textContent`); got != "system_memory_usage_ratio | Y axis in percent (from the panel)." {
		t.Errorf("Explore shows %q", got)
	}
	if hint := js[string](t, ctx, `document.querySelector('#q-hint').innerText`); !strings.Contains(hint, "Ctrl + Enter") {
		t.Errorf("the hint says %q", hint)
	}
	run(t, ctx, 15*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = ''`),
		chromedp.SendKeys(`#q`, "test_fl"),
		poll(`[...document.querySelectorAll('#q-suggest li')].map(li => li.textContent).join() === 'test_flat_ratio'`, 5*time.Second),
		chromedp.KeyEvent(kb.Tab),
		poll(`document.querySelector('#q').value === 'test_flat_ratio'`, 3*time.Second),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		poll(`new URLSearchParams(location.hash.split('?')[1]).get('query') === 'test_flat_ratio' && !!document.querySelector('[data-panel="explore"][data-drawn="true"]')`, 10*time.Second))
	if u := js[string](t, ctx, `document.querySelector('#q-unit').textContent`); u != "Y axis in percent (from the metric name)." {
		t.Errorf("unit note %q", u)
	}
	var lo, hi float64
	fmt.Sscan(js[string](t, ctx, `document.querySelector('[data-panel="explore"]').dataset.y`), &lo, &hi)
	if lo < -0.05 || hi < 1 || hi > 1.05 {
		t.Errorf("a flat ratio at 1 is drawn on %g..%g, want 0..1 with a sliver", lo, hi)
	}
	if !js[bool](t, ctx, `document.querySelector('#q-notes').hidden`) {
		t.Errorf("notes shown for a plain selector: %q", js[string](t, ctx, `document.querySelector('#q-notes').textContent`))
	}

	// The engine's notes on a query are shown under it: rate() of a name
	// that is not a counter's.
	run(t, ctx, 15*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = 'rate(test_flat_ratio[5m])'`),
		chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)),
		poll(`!document.querySelector('#q-notes').hidden`, 10*time.Second))
	if got := js[string](t, ctx, `[...document.querySelectorAll('#q-notes li')].map(li => li.dataset.level + ': ' + li.textContent).join('; ')`); !strings.HasPrefix(got, "info: Note: PromQL info: metric might not be a counter") || !strings.Contains(got, "test_flat_ratio") {
		t.Errorf("Explore's notes for rate() of a ratio: %q", got)
	}
}

// autoRefresh: at 10 s the Explore query is sent again, twice, without a
// click.
func autoRefresh(t *testing.T, ctx context.Context, ql *queryLog) {
	run(t, ctx, 5*time.Second, chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('select[id$="-refresh"]');
		s.value = '10s';
		s.dispatchEvent(new Event('change'));
	})()`))
	if r := hashParam(t, ctx, "refresh"); r != "10s" {
		t.Errorf("the URL keeps refresh=%q, want 10s", r)
	}
	n := ql.count()
	ql.waitQueries(t, n+2, 40*time.Second)
	run(t, ctx, 5*time.Second, chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector('select[id$="-refresh"]');
		s.value = '';
		s.dispatchEvent(new Event('change'));
	})()`))

	// The overview keeps the interval in its URL when the service filter changes.
	run(t, ctx, 15*time.Second, markView, chromedp.Evaluate[chromedp.Void](`location.hash = '#/overview?range=1h&refresh=30s'`),
		poll(fresh(`document.querySelector('select[id$="-refresh"]')?.value === '30s'`), 10*time.Second),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#service').dispatchEvent(new Event('change'))`))
	if r := hashParam(t, ctx, "refresh"); r != "30s" {
		t.Errorf("after the service filter changed the URL has refresh=%q, want 30s", r)
	}
}

// arrowKeys: stepping the range select with the arrow keys leaves the view
// as it is (no new render, no query) until Enter, which applies the last
// choice once; the page itself is never reloaded.
func arrowKeys(t *testing.T, ctx context.Context, ql *queryLog) {
	run(t, ctx, 15*time.Second, markView, chromedp.Evaluate[chromedp.Void](`location.hash = '#/overview?range=1h'`),
		poll(fresh(`!!document.querySelector('[data-panel="memory"][data-drawn="true"]')`), 10*time.Second),
		chromedp.Evaluate[chromedp.Void](`window.__marker = 'kept'; document.querySelector('main h1').dataset.mark = 'same'`),
		chromedp.Focus(`select[id^=range-]:not([id$=refresh])`))
	n, entries := ql.count(), js[int](t, ctx, `history.length`)
	run(t, ctx, 5*time.Second, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown))
	if v := js[string](t, ctx, `document.activeElement.value`); v != "24h" {
		t.Fatalf("two arrows down from 1h chose %q, want 24h", v)
	}
	if got := js[string](t, ctx, `(document.querySelector('main h1').dataset.mark ?? 'gone') + ' ' + location.hash`); got != "same #/overview?range=1h" {
		t.Errorf("after the arrow keys the view is %q, want it unchanged", got)
	}
	if ql.count() != n {
		t.Errorf("the arrow keys sent %d queries", ql.count()-n)
	}
	run(t, ctx, 15*time.Second, markView, chromedp.KeyEvent(kb.Enter),
		poll(fresh(`location.hash.includes('range=24h') && !!document.querySelector('[data-panel="memory"][data-drawn="true"]')`), 10*time.Second))
	if got := js[string](t, ctx, `window.__marker`); got != "kept" {
		t.Error("the page was reloaded")
	}
	if d := js[int](t, ctx, `history.length`) - entries; d != 1 {
		t.Errorf("the arrow keys and Enter made %d history entries, want 1", d)
	}
}

// dayRange: on 24 hours the legend says what a point is: a gauge's sample
// per step, a rate's average over it.
func dayRange(t *testing.T, ctx context.Context) {
	if got := js[string](t, ctx, `document.querySelector('[data-panel="memory"] .per').textContent`); got != "Each point: a sample every 4.8 min" {
		t.Errorf("24-hour memory legend says %q", got)
	}
	run(t, ctx, 15*time.Second, markView, chromedp.Evaluate[chromedp.Void](`location.hash = '#/explore?query=' + encodeURIComponent('rate(test_events_total[1m])') + '&range=24h'`),
		poll(fresh(`!!document.querySelector('[data-panel="explore"][data-drawn="true"]')`), 10*time.Second))
	if got := js[string](t, ctx, `document.querySelector('[data-panel="explore"] .per').textContent`); got != "Each point: avg per 4.8 min" {
		t.Errorf("24-hour rate legend says %q", got)
	}
}
