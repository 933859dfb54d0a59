package collector

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atroz/alert"
	"atroz/query"
	"atroz/store"

	"github.com/prometheus/prometheus/rules"
)

// staleBench is a collector, its store and the built-in StaleData rule,
// evaluated over what the collector stored, on a clock the test moves.
type staleBench struct {
	t     *testing.T
	c     *Collector
	db    *store.DB
	clock atomic.Int64
	rule  *rules.AlertingRule
	query rules.QueryFunc
}

func newStaleBench(t *testing.T) *staleBench {
	t.Helper()
	b := &staleBench{t: t}
	b.clock.Store(testNow.UnixMilli())
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: b.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	b.db = db
	b.c = New(db, &Options{Now: b.now, DataDir: t.TempDir()})
	eng := query.New(db, &query.Options{Now: b.now, CacheBytes: -1})
	b.query = rules.EngineQueryFunc(eng.PromEngine(), eng.Queryable())
	groups, err := alert.LoadRules("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range groups[0].Rules {
		if r.Name() == "StaleData" {
			b.rule = r.(*rules.AlertingRule)
		}
	}
	if b.rule == nil {
		t.Fatal("no built-in StaleData rule")
	}
	return b
}

func (b *staleBench) now() time.Time { return time.UnixMilli(b.clock.Load()) }

// minutes moves the clock on a minute n times, calling report (when not
// nil) each minute, then scraping and evaluating StaleData, as the
// collector and the alert manager do.
func (b *staleBench) minutes(n int, report func(now time.Time)) {
	b.t.Helper()
	for range n {
		b.clock.Add(time.Minute.Milliseconds())
		if report != nil {
			report(b.now())
		}
		b.tick()
	}
}

// tick scrapes and evaluates StaleData at the clock's time.
func (b *staleBench) tick() {
	b.t.Helper()
	if err := b.c.Scrape(); err != nil {
		b.t.Fatal(err)
	}
	if _, err := b.rule.Eval(context.Background(), 0, b.now(), b.query, nil, 0); err != nil {
		b.t.Fatal(err)
	}
}

// firing returns the sources StaleData fires for.
func (b *staleBench) firing() []string {
	var out []string
	for _, a := range b.rule.ActiveAlerts() {
		if a.State == rules.StateFiring {
			out = append(out, a.Labels.Get("source"))
		}
	}
	return out
}

// event reports one request of service at now, as a curl of the README does.
func (b *staleBench) event(service string) func(now time.Time) {
	return func(now time.Time) {
		err := b.c.RecordRequests([]RequestEvent{{Service: service, Route: "/invoices/:id", Method: "GET", Status: 200, DurationMs: 12, Timestamp: now.UnixMilli()}})
		if err != nil {
			b.t.Fatal(err)
		}
	}
}

// watched reports whether the collector watches source.
func (b *staleBench) watched(source string) bool {
	for _, s := range b.c.Sources() {
		if s.Name == source {
			return s.Watched
		}
	}
	return false
}

// TestStaleDataIgnoresOneOffSources reports a single request event (the
// README's curl), a single import and a short load, and has the dashboard
// send beacons for 20 minutes, then stop: in the hour after, StaleData
// fires for none of them, though every one is silent past 15 minutes.
// The host, reported at every scrape, becomes watched and stays fresh.
func TestStaleDataIgnoresOneOffSources(t *testing.T) {
	b := newStaleBench(t)
	b.event("billing")(b.now())
	b.c.MarkFresh(EndpointImport, b.now())
	b.minutes(2, b.event("load-test")) // atroz load's 10 s, and more
	dashboard := func(now time.Time) {
		if err := b.c.RecordBeacon(Beacon{Service: DashboardService, Page: "/", FPS: []float64{60}, TS: now.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	b.minutes(20, dashboard)
	b.minutes(60, nil)
	if f := b.firing(); len(f) != 0 {
		t.Fatalf("StaleData fires for %v", f)
	}
	for _, s := range []string{"requests:billing", "requests:load-test", "import", "beacons:" + DashboardService} {
		if b.watched(s) {
			t.Errorf("%s is watched", s)
		}
	}
	if !b.watched("host") {
		t.Error("the host, reported at every scrape for 80 minutes, is not watched")
	}
	if text := exposition(b.c); strings.Contains(text, "beacons:"+DashboardService) {
		t.Error("the dashboard's beacon has a freshness series")
	}
}

// TestStaleDataWatchesSteadySource has a service report every minute for
// 15 minutes, then stop: StaleData fires once it is silent past 15 minutes
// and the rule's for, and keeps firing until a day of silence, when the
// source is forgotten, its series ends and the alert resolves.
func TestStaleDataWatchesSteadySource(t *testing.T) {
	b := newStaleBench(t)
	b.minutes(15, b.event("billing"))
	if !b.watched("requests:billing") {
		t.Fatal("a service reporting every minute for 15 minutes is not watched")
	}
	b.minutes(15, nil)
	if f := b.firing(); len(f) != 0 {
		t.Fatalf("StaleData fires at 15 minutes of silence, before its for: %v", f)
	}
	b.minutes(2, nil)
	if f := b.firing(); len(f) != 1 || f[0] != "requests:billing" {
		t.Fatalf("StaleData fires for %v after 17 minutes of silence, want requests:billing", f)
	}
	// Just short of a day of silence it still fires.
	last := testNow.Add(15 * time.Minute)
	b.clock.Store(last.Add(ForgetAfter - 2*time.Minute).UnixMilli())
	b.tick()
	b.minutes(1, nil)
	if f := b.firing(); len(f) != 1 {
		t.Fatalf("StaleData fires for %v a minute short of a day, want requests:billing", f)
	}
	b.minutes(1, nil)
	if f := b.firing(); len(f) != 0 {
		t.Fatalf("StaleData still fires for %v after a day of silence", f)
	}
	if b.watched("requests:billing") || strings.Contains(exposition(b.c), `source="requests:billing"`) {
		t.Fatal("a source silent for a day is still watched")
	}
}

// TestRetireSource retires a watched source whose StaleData fires: the
// alert resolves at the next evaluation, the source is gone from Sources,
// and a second retirement finds nothing. Should it report again, it must
// be steady again to be watched.
func TestRetireSource(t *testing.T) {
	b := newStaleBench(t)
	b.minutes(15, b.event("billing"))
	b.minutes(17, nil)
	if f := b.firing(); len(f) != 1 {
		t.Fatalf("StaleData fires for %v, want requests:billing", f)
	}
	if err := b.c.RetireSource("requests:billing"); err != nil {
		t.Fatal(err)
	}
	b.minutes(1, nil)
	if f := b.firing(); len(f) != 0 {
		t.Fatalf("StaleData fires for %v after the source was retired", f)
	}
	if err := b.c.RetireSource("requests:billing"); !errors.Is(err, ErrUnknownSource) {
		t.Fatalf("a second retirement: %v, want ErrUnknownSource", err)
	}
	b.minutes(1, b.event("billing"))
	if b.watched("requests:billing") {
		t.Fatal("a retired source reporting once is watched at once")
	}
}

// TestWatchedSourcesSurviveRestart restarts the collector over the same
// store: a watched source is watched at once, so StaleData fires for a
// service that went quiet while AtroZ was stopped; a retired one is not.
func TestWatchedSourcesSurviveRestart(t *testing.T) {
	b := newStaleBench(t)
	b.minutes(15, func(now time.Time) {
		b.event("billing")(now)
		b.event("shop")(now)
	})
	if err := b.c.RetireSource("requests:shop"); err != nil {
		t.Fatal(err)
	}
	b.minutes(1, nil)
	b.c = New(b.db, &Options{Now: b.now, DataDir: t.TempDir()})
	if !b.watched("requests:billing") || b.watched("requests:shop") {
		t.Fatalf("after a restart: %+v; want requests:billing watched and requests:shop gone", b.c.Sources())
	}
	b.minutes(17, nil)
	if f := b.firing(); len(f) != 1 || f[0] != "requests:billing" {
		t.Fatalf("StaleData fires for %v after the restart, want requests:billing", f)
	}
}

// TestWatchRule checks the rule of a watched source on the minutes it
// reported in, counted back from the last.
func TestWatchRule(t *testing.T) {
	f := func(minutesAgo []int, want bool) {
		t.Helper()
		s := &source{}
		now := testNow
		for _, m := range minutesAgo {
			s.report(now.Add(-time.Duration(m)*time.Minute).Unix() / 60)
		}
		if got := s.steady(now); got != want {
			t.Errorf("reports %v minutes ago: steady %v, want %v", minutesAgo, got, want)
		}
	}
	f([]int{0}, false)
	f([]int{10, 8, 6, 4, 2, 0}, true)
	f([]int{9, 7, 5, 3, 0}, false)                // five minutes, 9 apart
	f([]int{20, 15, 10, 0}, false)                // four minutes
	f([]int{10, 5, 3, 1, 0}, true)                // five over ten
	f([]int{70, 65, 60, 55, 50}, false)           // older than the hour
	f([]int{59, 58, 57, 56, 49}, true)            // all inside it
	f([]int{0, 0, 0, 10, 10, 10}, false)          // two distinct minutes
	f([]int{300, 200, 100, 10, 5, 3, 1, 0}, true) // old reports dropped
}
