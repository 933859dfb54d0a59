package collector

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// limited is a collector over a store that holds a limited number of
// series, with a clock that moves on a second at every scrape.
type limited struct {
	*Collector
	db    *store.DB
	clock atomic.Int64
}

func newLimited(t *testing.T, maxSeries int) (*limited, *store.DB) {
	t.Helper()
	l := &limited{}
	l.clock.Store(testNow.UnixMilli())
	now := func() time.Time { return time.UnixMilli(l.clock.Load()) }
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now, MaxSeries: maxSeries})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// The beacon budget is not what these tests are about: the store's limit is.
	l.Collector, l.db = New(db, &Options{Now: now, DataDir: t.TempDir(), MaxBeaconSeries: 1000}), db
	return l, db
}

func mustScrape(t *testing.T, l *limited) {
	t.Helper()
	l.clock.Add(1000)
	if err := l.Scrape(); err != nil {
		t.Fatal(err)
	}
}

// stored returns the newest value of the series the matchers select.
func (l *limited) stored(t *testing.T, ms ...*labels.Matcher) float64 {
	t.Helper()
	got, err := l.db.Select(store.Query{MinT: testNow.UnixMilli(), MaxT: l.clock.Load(), Matchers: ms})
	if err != nil || len(got) != 1 {
		t.Fatalf("select %v: %v, %d series", ms, err, len(got))
	}
	s := got[0].Samples
	return s[len(s)-1].V
}

// ownSeries returns how many series a collector's first scrape stores, and
// how many more the first beacon of a page adds. One of those, its
// service's freshness gauge, stays reserved until the source is watched.
func ownSeries(t *testing.T) (own, page int) {
	t.Helper()
	c, db := newLimited(t, 0)
	mustScrape(t, c)
	own = db.Stats().Series
	if err := c.RecordBeacon(Beacon{Service: "shop", Page: "/a", FPS: []float64{60}, TS: testNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	page = db.Stats().ReservedSeries
	mustScrape(t, c)
	if st := db.Stats(); st.Series != own+page-1 || st.ReservedSeries != 1 {
		t.Fatalf("the scrape after a beacon stored %d series with %d reserved left; want %d+%d-1 and the freshness gauge's", st.Series, st.ReservedSeries, own, page)
	}
	return own, page
}

var beaconA = Beacon{Service: "shop", Page: "/a", FPS: []float64{60}, TS: testNow.UnixMilli()}

// TestBeaconReservesItsSeries fills the store to one page short of its
// limit: the page's first beacon reserves the rest, a new series of
// another source is refused meanwhile, and the scrape stores every series
// of the page.
func TestBeaconReservesItsSeries(t *testing.T) {
	own, page := ownSeries(t)
	c, db := newLimited(t, own+page)
	mustScrape(t, c)
	if err := c.RecordBeacon(beaconA); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(store.Labels{{Name: "__name__", Value: "intruder"}}, testNow.UnixMilli(), 1); !errors.Is(err, store.ErrSeriesLimit) {
		t.Fatalf("a series nobody reserved took the beacon's room: %v", err)
	}
	mustScrape(t, c)
	if got := c.stored(t, eq("__name__", "frontend_beacons_total"), eq("page", "/a")); got != 1 {
		t.Fatalf("stored %g beacons, want 1", got)
	}
}

// TestBeaconPastSeriesLimit leaves no room for a new page: its first
// beacon is refused, recorded nowhere, and reserves nothing; a beacon of a
// page already stored is still taken.
func TestBeaconPastSeriesLimit(t *testing.T) {
	own, page := ownSeries(t)
	c, db := newLimited(t, own+page)
	mustScrape(t, c)
	if err := c.RecordBeacon(beaconA); err != nil {
		t.Fatal(err)
	}
	mustScrape(t, c)
	err := c.RecordBeacon(Beacon{Service: "shop", Page: "/b", FPS: []float64{60}, TS: testNow.UnixMilli()})
	var sle *store.SeriesLimitError
	if !errors.As(err, &sle) || sle.New != page-1 || !strings.Contains(err.Error(), `page "/b"`) {
		t.Fatalf("beacon past the limit: %v; want a series-limit error naming the page and %d new series", err, page-1)
	}
	if strings.Contains(exposition(c.Collector), `page="/b"`) {
		t.Fatal("a refused beacon was recorded")
	}
	if err := c.RecordBeacon(beaconA); err != nil {
		t.Fatalf("a beacon of a stored page: %v", err)
	}
	mustScrape(t, c)
	if st := db.Stats(); st.Series+st.ReservedSeries != own+page || st.ReservedSeries != 1 {
		t.Fatalf("%d series, %d reserved; want %d with the freshness gauge reserved", st.Series, st.ReservedSeries, own+page)
	}
	if got := c.stored(t, eq("__name__", "frontend_beacons_total"), eq("page", "/a")); got != 2 {
		t.Fatalf("stored %g beacons of /a, want 2", got)
	}
}

// TestRequestEventsPastSeriesLimit refuses a batch whose new label sets do
// not all fit, recording none of its events, not even those that would.
func TestRequestEventsPastSeriesLimit(t *testing.T) {
	own, _ := ownSeries(t)
	c, db := newLimited(t, own+30)
	mustScrape(t, c)
	ev := func(route string, status int) RequestEvent {
		return RequestEvent{Service: "billing", Route: route, Method: "GET", Status: status, DurationMs: 5, Timestamp: testNow.UnixMilli()}
	}
	// A route takes a histogram (12 buckets, +Inf, sum and count) and a
	// counter, the service a freshness gauge: 17 series. A second route's
	// 16 more do not fit.
	err := c.RecordRequests([]RequestEvent{ev("/x", 200), ev("/y", 200)})
	if !errors.Is(err, store.ErrSeriesLimit) || !strings.Contains(err.Error(), "2 new label sets") {
		t.Fatalf("batch past the limit: %v", err)
	}
	if strings.Contains(exposition(c.Collector), `service="billing"`) {
		t.Fatal("a refused batch was recorded")
	}
	if err := c.RecordRequests([]RequestEvent{ev("/x", 200), ev("/x", 200)}); err != nil {
		t.Fatal(err)
	}
	// Another status of the same route needs only its counter.
	if err := c.RecordRequests([]RequestEvent{ev("/x", 503)}); err != nil {
		t.Fatal(err)
	}
	if n := db.Stats().ReservedSeries; n != 18 {
		t.Fatalf("%d series reserved, want 17 + 1", n)
	}
	mustScrape(t, c)
	if got := c.stored(t, eq("__name__", "http_requests_total"), eq("service", "billing"), eq("code", "200")); got != 2 {
		t.Fatalf("stored %g requests, want 2", got)
	}
	if st := db.Stats(); st.ReservedSeries != 1 {
		t.Fatalf("%d series still reserved after the scrape, want the freshness gauge's alone", st.ReservedSeries)
	}
}
