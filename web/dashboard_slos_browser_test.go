package web

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
	"atroz/internal/extserver"
	"atroz/slo"
	"atroz/store"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"
)

// sloTestFile declares three SLOs of service shop over the traffic
// seedSLOTraffic writes, whose window's error ratio is 0.25 % and last
// hour's 0.5 %: against a 1 % budget it is ok (75 % left, burning at
// 0.5×), against 0.4 % burning (37.5 % left, at 1.25×), against 0.2 %
// exhausted (−25 %, over a 7-day window whose alerts scale down).
func sloTestFile() *slo.File {
	return &slo.File{SLOs: []slo.SLO{
		{Name: "shop-ok", Service: "shop", Objective: 99, Window: slo.DefaultWindow, Indicator: slo.Availability},
		{Name: "shop-burning", Service: "shop", Objective: 99.6, Window: slo.DefaultWindow, Indicator: slo.Availability},
		{Name: "shop-spent", Service: "shop", Objective: 99.8, Window: model.Duration(7 * 24 * time.Hour), Indicator: slo.Availability},
	}}
}

// seedSLOTraffic writes three hours of shop's request counters, a sample a
// minute up to now: 400 requests a minute, of which 2 answered 500 in the
// last 90 minutes. The window holds 180 bad of 72,000 (0.25 %), and any
// last hour 0.5 % bad, whenever within the next half hour it is counted.
func seedSLOTraffic(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	labels := func(code string) store.Labels {
		return store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: code}, {Name: "service", Value: "shop"}}
	}
	for i := 0; i <= 180; i++ {
		ts := now.Add(time.Duration(i-180) * time.Minute).UnixMilli()
		bad := 2 * float64(max(0, i-90))
		for code, v := range map[string]float64{"200": 400*float64(i) - bad, "500": bad} {
			if err := db.Append(labels(code), ts, v); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// evalSLORules loads the rules of f and evaluates them once a minute over
// the seeded three hours (from the first five minutes' end, the first
// 5-minute rate), as the alert engine would have, so the recorded error
// ratios the burn charts read are there.
func evalSLORules(t *testing.T, ls *liveServer, f *slo.File, now time.Time) {
	t.Helper()
	groups, err := slo.RuleGroups(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	am, err := alert.NewManager(ls.db, ls.s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	for i := 175; i >= 0; i-- {
		am.EvalAt(context.Background(), now.Add(-time.Duration(i)*time.Minute))
	}
}

// ruleFactors reads from the rules slo.Rules makes for the SLO named name
// each alert condition's burn factor (its threshold over the budget), by
// its long window, in the rules' order: the lines the chart must draw.
func ruleFactors(t *testing.T, f *slo.File, name string, budget float64) []string {
	t.Helper()
	b, err := slo.Rules(f)
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string
			Rules []struct{ Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatal(err)
	}
	cond := regexp.MustCompile(`\(` + regexp.QuoteMeta(slo.RatioPrefix) + `(\w+)\{[^}]*\} > ([0-9.e+-]+) and`)
	var out []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if g.Name != "slo:"+name || r.Alert == "" {
				continue
			}
			for _, m := range cond.FindAllStringSubmatch(r.Expr, -1) {
				th, _ := strconv.ParseFloat(m[2], 64)
				out = append(out, m[1]+"="+strconv.FormatFloat(th/budget, 'g', 10, 64))
			}
		}
	}
	if len(out) != 4 {
		t.Fatalf("the rules of %s hold %d burn conditions, want 4: %s", name, len(out), b)
	}
	return out
}

// sameFactors reports whether the page's WINDOW=FACTOR list names the
// rules' windows in order, each factor equal to ten significant digits
// (the rules print their thresholds so).
func sameFactors(page, rules []string) bool {
	if len(page) != len(rules) {
		return false
	}
	for i := range page {
		pw, pf, _ := strings.Cut(page[i], "=")
		rw, rf, _ := strings.Cut(rules[i], "=")
		p, err1 := strconv.ParseFloat(pf, 64)
		r, err2 := strconv.ParseFloat(rf, 64)
		if pw != rw || err1 != nil || err2 != nil || math.Abs(p-r) > 1e-9*r {
			return false
		}
	}
	return true
}

// TestSLOsPageInBrowser checks the SLOs page as a viewer sees it on a
// 390 px phone: each card's objective, SLIs, budget, burn rate and when the
// budget runs out, hand-computed from the seeded counters; the burn chart
// drawn from the recorded ratios with a dashed line at each factor the
// alert rules use; the overview's budget strip linking to a card; and the
// empty state once no SLO is declared.
func TestSLOsPageInBrowser(t *testing.T) {
	ctx := extserver.Tab(t, extserver.Chromium(t))
	errs := exceptions(t, ctx)
	ls := startLive(t, slog.New(slog.DiscardHandler))
	if err := ls.s.access.AddUser("vera", auth.RoleViewer, "dashboard password"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seedSLOTraffic(t, ls.db, now)
	f := sloTestFile()
	evalSLORules(t, ls, f, now)
	ls.s.SetSLOs(f)

	run(t, ctx, 10*time.Second, chromedp.EmulateViewport(390, 844))
	pageSignIn(t, ctx, ls.url+"/#/slos?range=6h", "vera", "dashboard password", "#/slos")
	run(t, ctx, 20*time.Second, poll(`document.querySelectorAll('.slo-card').length === 3 && window.__atroz.view === 'slos'`, 15*time.Second))
	if admin := js[bool](t, ctx, `!!document.querySelector('nav a[href="#/admin"]')`); admin {
		t.Error("a viewer's header links to the admin page")
	}
	if cur := js[string](t, ctx, `document.querySelector('nav a[aria-current="page"]')?.getAttribute('href') ?? ''`); cur != "#/slos" {
		t.Errorf("the nav marks %q as the current page, want #/slos", cur)
	}
	t.Run("cards", func(t *testing.T) { sloCards(t, ctx) })
	t.Run("functions", func(t *testing.T) { sloFunctions(t, ctx) })
	t.Run("burnchart", func(t *testing.T) { burnChart(t, ctx, f) })
	t.Run("phone", func(t *testing.T) { fitsPhone(t, ctx, "the SLOs page") })
	t.Run("strip", func(t *testing.T) { budgetStrip(t, ctx, ls) })
	t.Run("empty", func(t *testing.T) { sloEmpty(t, ctx, ls) })
	if n := errs.Load(); n > 0 {
		t.Errorf("%d page exceptions", n)
	}
}

// cardFigure is the value and the note under it of the figure field of
// the card of SLO name.
func cardFigure(t *testing.T, ctx context.Context, name, field string) (value, note string) {
	t.Helper()
	got := js[[]string](t, ctx, fmt.Sprintf(`(dd => dd ? [dd.querySelector('.value').textContent, dd.querySelector('.sub')?.textContent ?? ''] : ['missing', ''])(document.querySelector('.slo-card[data-slo=%q] [data-field=%q]'))`, name, field))
	return got[0], got[1]
}

// sloCards checks every card's figures against the hand-computed ones.
func sloCards(t *testing.T, ctx context.Context) {
	// The SLIs: 180 bad of 72,000 over the window, 0.5 % bad in the hour.
	for _, c := range []struct{ name, objective, state, badge, budget, budgetNote, burn, runsOut string }{
		{"shop-ok", "99 % over 30 d", "ok", "OK", "75 %", "22 d 12 h of total outage", "0.5×", "In 45 d"},
		{"shop-burning", "99.6 % over 30 d", "burning", "Burning", "37.5 %", "11 d 6 h of total outage", "1.25×", "In 9 d"},
		{"shop-spent", "99.8 % over 7 d", "exhausted", "Exhausted", "-25 %", "overspent by 1 d 18 h", "2.5×", "Already spent"},
	} {
		sel := fmt.Sprintf(`.slo-card[data-slo=%q]`, c.name)
		if got := js[string](t, ctx, `document.querySelector('`+sel+` .objective').textContent`); got != c.objective+" · availability" {
			t.Errorf("%s: objective %q, want %q", c.name, got, c.objective+" · availability")
		}
		if got := js[string](t, ctx, `(c => c.dataset.budgetState + ' ' + c.querySelector('.slo-state').textContent + ' ' + c.closest('section').querySelector('h2').textContent)(document.querySelector('`+sel+`'))`); got != c.state+" "+c.badge+" shop" {
			t.Errorf("%s: state %q, want %q under the heading shop", c.name, got, c.state+" "+c.badge)
		}
		_, window, _ := strings.Cut(c.objective, " over ")
		for _, f := range []struct{ field, value, note string }{
			{"sli-hour", "99.5 %", "*"}, // the hour's counts depend on when it is counted
			{"sli", "99.75 %", "180 bad of 72,000"},
			{"budget", c.budget, c.budgetNote},
			{"burn", c.burn, ""},
			{"exhausted", c.runsOut, "*"}, // a date on the page's clock, or none
		} {
			value, note := cardFigure(t, ctx, c.name, f.field)
			if value != f.value || f.note != "*" && note != f.note {
				t.Errorf("%s: %s shows %q (%q), want %q (%q)", c.name, f.field, value, note, f.value, f.note)
			}
		}
		if got := js[string](t, ctx, `document.querySelector('`+sel+` dt:has(+ [data-field="sli"])').textContent`); got != "SLI, "+window {
			t.Errorf("%s: the window's SLI is headed %q, want %q", c.name, got, "SLI, "+window)
		}
	}
}

// sloFunctions checks the page's formatting and the burn factors it scales
// by window, as the page imports them.
func sloFunctions(t *testing.T, ctx context.Context) {
	f := func(expr, want string) {
		t.Helper()
		if got := js[string](t, ctx, `import('./slos.js').then(s => String(`+expr+`))`); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	f(`s.fmtDuration(45)`, "45 s")
	f(`s.fmtDuration(3599.9)`, "1 h")
	f(`s.fmtDuration(5400)`, "1 h 30 min")
	f(`s.fmtDuration(-648000)`, "7 d 12 h")
	f(`s.fmtDuration(2592000)`, "30 d")
	f(`s.fmtSLI(0.99949)`, "99.949 %")
	f(`s.fmtSLI(0.9999999)`, "99.999 %")
	f(`s.fmtSLI(null)`, "–")
	f(`s.budgetOf(99.9)`, "0.001")
	f(`s.stateOf({budget_remaining: 0.5, burn_rate: 1})`, "ok")
	f(`s.stateOf({budget_remaining: 0.5, burn_rate: 1.01})`, "burning")
	f(`s.stateOf({budget_remaining: 0, burn_rate: null})`, "exhausted")
	f(`s.stateOf({budget_remaining: null, burn_rate: null})`, "none")
	f(`s.thresholds({burn_alerts: [{urgency: 'page', long_seconds: 3600, short_seconds: 300, factor: 14.4, reachable: false}]}).map(t => t.label + ' ' + t.reachable).join()`, "page 14.4× 1h false")
}

// thresholdRows counts the horizontal dashed lines of the threshold's
// colour on a plot's canvas: runs of rows where a third of the pixels or
// more are that colour.
const thresholdRows = `(cv => {
	const [r0, g0, b0] = getComputedStyle(document.documentElement).getPropertyValue('--threshold').trim().match(/\w\w/g).map(x => parseInt(x, 16));
	const {width, height} = cv, d = cv.getContext('2d').getImageData(0, 0, width, height).data;
	let lines = 0, prev = false;
	for (let y = 0; y < height; y++) {
		let n = 0;
		for (let x = 0; x < width; x++) {
			const i = (y * width + x) * 4;
			if (d[i + 3] > 200 && Math.abs(d[i] - r0) + Math.abs(d[i + 1] - g0) + Math.abs(d[i + 2] - b0) < 60) n++;
		}
		const on = n > width / 3;
		if (on && !prev) lines++;
		prev = on;
	}
	return lines;
})`

// burnChart checks the burning SLO's chart: drawn from the recorded
// ratios, a series per alert window, the last hour's burn at 1.25×, and a
// dashed line at each factor of the rules slo.Rules makes for it, listed
// under the chart; the 7-day SLO's lines are scaled to its window.
func burnChart(t *testing.T, ctx context.Context, f *slo.File) {
	burn := `.slo-card[data-slo="shop-burning"] .burn`
	run(t, ctx, 20*time.Second, poll(`document.querySelector('`+burn+`')?.dataset.drawn === 'true'`, 15*time.Second))
	if got := js[string](t, ctx, `[...document.querySelectorAll('`+burn+` .legend li:not(.head) .name')].map(n => n.textContent).join(',')`); got != "over 1d,over 1h,over 3d,over 6h" {
		t.Errorf("burn chart series %q, want one per alert's long window", got)
	}
	last := js[string](t, ctx, `[...document.querySelectorAll('`+burn+` .legend li:not(.head)')].find(li => li.querySelector('.name').textContent === 'over 1h')?.querySelector('.val').dataset.last ?? ''`)
	if v, err := strconv.ParseFloat(last, 64); err != nil || v < 1.15 || v > 1.3 {
		t.Errorf("the last hour's burn on the chart is %q, want about 1.25 (0.5 %% bad against a 0.4 %% budget)", last)
	}
	for _, c := range []struct {
		name   string
		budget float64
		drawn  string
	}{{"shop-burning", 0.004, "14.4 6 3 1"}, {"shop-spent", 0.002, "3.36 1.4 0.7 0.2333333333"}} {
		sel := fmt.Sprintf(`.slo-card[data-slo=%q] .burn`, c.name)
		run(t, ctx, 20*time.Second, poll(`document.querySelector('`+sel+`')?.dataset.drawn === 'true'`, 15*time.Second))
		rules := ruleFactors(t, f, c.name, c.budget)
		listed := js[[]string](t, ctx, `[...document.querySelectorAll('`+sel+` .thresholds li')].map(li => li.dataset.window + '=' + li.dataset.factor)`)
		if !sameFactors(listed, rules) {
			t.Errorf("%s: thresholds listed %q, the rules' %q", c.name, listed, rules)
		}
		if got := js[string](t, ctx, `document.querySelector('`+sel+`').dataset.thresholds`); got != c.drawn {
			t.Errorf("%s: threshold lines drawn at %q, want %q", c.name, got, c.drawn)
		}
		if n := js[int](t, ctx, thresholdRows+`(document.querySelector('`+sel+` canvas'))`); n != 4 {
			t.Errorf("%s: %d dashed threshold lines on the canvas, want 4", c.name, n)
		}
	}
	if text := js[string](t, ctx, `document.querySelector('`+burn+` .thresholds').innerText`); !strings.Contains(text, "Page: 14.4× over 1 h and 5 min") || !strings.Contains(text, "Ticket: 1× over 3 d and 6 h") {
		t.Errorf("the thresholds are listed as %q", text)
	}
}

// fitsPhone checks that the page scrolls no wider than a 390 px screen.
func fitsPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if w := js[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("%s is %d px wide at a 390 px viewport", what, w)
	}
}

// budgetStrip checks the overview's strip: shop's three budgets, each in
// its state's colour class, linking to its card, which opens in view.
func budgetStrip(t *testing.T, ctx context.Context, ls *liveServer) {
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=1h"),
		poll(`document.querySelectorAll('.budgets:not([hidden]) .budget-service[data-service="shop"] a.budget').length === 3`, 15*time.Second))
	got := js[string](t, ctx, `[...document.querySelectorAll('.budgets a.budget')].map(a => [a.dataset.slo, a.className, a.querySelector('.budget-value').textContent, a.getAttribute('href')].join(' ')).join(' | ')`)
	want := "shop-burning budget slo-burning 37.5 % #/slos?slo=shop-burning&service=shop | " +
		"shop-ok budget slo-ok 75 % #/slos?slo=shop-ok&service=shop | " +
		"shop-spent budget slo-exhausted -25 % #/slos?slo=shop-spent&service=shop"
	if got != want {
		t.Errorf("the budget strip shows\n%s\nwant\n%s", got, want)
	}
	if label := js[string](t, ctx, `document.querySelector('.budgets a[data-slo="shop-burning"]').getAttribute('aria-label')`); label != "shop-burning: 37.5 % of the error budget left, burning" {
		t.Errorf("the strip item's label is %q", label)
	}
	if fill := js[float64](t, ctx, `(bar => bar.firstChild.getBoundingClientRect().width / bar.getBoundingClientRect().width)(document.querySelector('.budgets a[data-slo="shop-burning"] .budget-bar'))`); fill < 0.37 || fill > 0.38 {
		t.Errorf("the strip item's bar is %.3f full, want 0.375", fill)
	}
	fitsPhone(t, ctx, "the overview with its budget strip")
	// The strip's link has the same data-slo as the card: fresh waits for
	// the SLOs page.
	run(t, ctx, 20*time.Second, markView, chromedp.Click(`.budgets a[data-slo="shop-spent"]`),
		poll(fresh(`location.hash === '#/slos?slo=shop-spent&service=shop' && document.activeElement?.matches('.slo-card[data-slo="shop-spent"]')`), 15*time.Second))
	// The last card cannot scroll to the very top: the page ends below it.
	if at := js[[]float64](t, ctx, `window.__atroz.ready.then(() => [document.activeElement.getBoundingClientRect().top, scrollY, innerHeight])`); at[0] < 0 || at[0] > at[2]/2 || at[1] == 0 {
		t.Errorf("the linked card is %.0f px from the top of a %.0f px screen scrolled by %.0f px, want scrolled into its top half", at[0], at[2], at[1])
	}
}

// sloEmpty checks the page and the overview once no SLO is declared.
func sloEmpty(t *testing.T, ctx context.Context, ls *liveServer) {
	ls.s.SetSLOs(&slo.File{})
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/slos"),
		poll(`!!document.querySelector('.slo-empty') && window.__atroz.view === 'slos'`, 15*time.Second))
	text := js[string](t, ctx, `document.querySelector('.slo-empty').innerText`)
	for _, want := range []string{"No SLOs yet", "SLO_FILE", "atroz slo check FILE", "SLO_DEFAULTS=false", "indicator: availability"} {
		if !strings.Contains(text, want) {
			t.Errorf("the empty state %q lacks %q", text, want)
		}
	}
	if n := js[int](t, ctx, `document.querySelectorAll('.slo-card').length`); n != 0 {
		t.Errorf("%d cards with no SLO declared", n)
	}
	fitsPhone(t, ctx, "the empty SLOs page")
	// The strip is busy until answered, then stays hidden.
	run(t, ctx, 20*time.Second, chromedp.Navigate(ls.url+"/#/overview?range=1h"),
		poll(`window.__atroz.view === 'overview' && !!document.querySelector('.budgets:not([aria-busy])')`, 10*time.Second))
	if shown := js[bool](t, ctx, `!!document.querySelector('.budgets:not([hidden])')`); shown {
		t.Error("the overview shows a budget strip with no SLO declared")
	}
}
