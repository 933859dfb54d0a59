package collector

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

// vitalsCost is the series of one page's vitals histograms, which the
// budget keeps room for under "<other>".
var vitalsCost = newBeaconBudget(0, 0).costs[1]

// TestBeaconFloodStaysInItsBudget sends 6,000 beacons, each naming a new
// service and page as a forged Origin may, to a store with room for 400
// series beyond AtroZ's own: beacons take at most their budget of 60 (and
// the room kept for "<other>"'s vitals, which no beacon sends), the pages
// past it count under "<other>", and the rest of the room stays for other
// sources.
func TestBeaconFloodStaysInItsBudget(t *testing.T) {
	own, page := ownSeries(t)
	now := func() time.Time { return testNow }
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now, MaxSeries: own + 400})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c := New(db, &Options{Now: now, DataDir: t.TempDir(), MaxBeaconSeries: 60 + vitalsCost})
	for i := range 6000 {
		b := Beacon{Service: fmt.Sprintf("svc%d", i%100), Page: fmt.Sprintf("/p%d/x", i), FPS: []float64{60}, TS: testNow.UnixMilli()}
		if err := c.RecordBeacon(b); err != nil {
			t.Fatalf("beacon %d: %v", i, err)
		}
	}
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	// Two pages of two services and the "<other>" page, 19 series each
	// with their services' freshness gauges, fit in 60.
	if got, want := db.Stats().Series+db.Stats().ReservedSeries-own, 3*page; got != want {
		t.Fatalf("beacons created %d series, want %d", got, want)
	}
	text := exposition(c)
	if !strings.Contains(text, `frontend_beacons_total{service="<other>",page="<other>"} 5998`) {
		t.Fatalf("the pages past the budget are not counted under <other>:\n%s", text)
	}
	for i := range 400 - 3*page {
		if err := db.Append(store.Labels{{Name: "__name__", Value: "imported"}, {Name: "i", Value: fmt.Sprint(i)}}, testNow.UnixMilli(), 1); err != nil {
			t.Fatalf("series %d of another source: %v", i, err)
		}
	}
}

// TestBeaconBudgetSeededFromStore counts the beacon series a store holds
// from an earlier run against the budget, so restarts do not renew it.
func TestBeaconBudgetSeededFromStore(t *testing.T) {
	now := func() time.Time { return testNow }
	path := filepath.Join(t.TempDir(), "c.db")
	open := func() *store.DB {
		db, err := store.Open(path, &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	db := open()
	c := New(db, &Options{Now: now, DataDir: t.TempDir(), MaxBeaconSeries: 60 + vitalsCost})
	for _, p := range []string{"/a", "/b"} {
		if err := c.RecordBeacon(Beacon{Service: "shop", Page: p, FPS: []float64{60}, TS: testNow.UnixMilli()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open()
	t.Cleanup(func() { _ = db.Close() })
	c = New(db, &Options{Now: now, DataDir: t.TempDir(), MaxBeaconSeries: 60 + vitalsCost})
	if err := c.RecordBeacon(Beacon{Service: "shop", Page: "/c", FPS: []float64{60}, TS: testNow.UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(exposition(c), `frontend_beacons_total{service="<other>",page="<other>"} 1`) {
		t.Fatal("a restart renewed the beacon budget")
	}
}

// TestBeaconBudgetBelowOnePage refuses beacons with ErrBeaconBudget when
// the budget cannot hold even the "<other>" page.
func TestBeaconBudgetBelowOnePage(t *testing.T) {
	c, db := newTest(t, func(o *Options) { o.MaxBeaconSeries = 5 })
	err := c.RecordBeacon(beaconA)
	if !errors.Is(err, ErrBeaconBudget) {
		t.Fatalf("beacon past a tiny budget: %v", err)
	}
	if n := db.Stats().ReservedSeries; n != 0 {
		t.Fatalf("a refused beacon reserved %d series", n)
	}
}
