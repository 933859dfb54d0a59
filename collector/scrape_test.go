package collector

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// TestScrapeMarksVanishedSeriesStale has a series leave the exposition
// between scrapes: the scrape that lacks it writes a staleness marker at
// its time, and the series comes back as an ordinary sample later.
func TestScrapeMarksVanishedSeriesStale(t *testing.T) {
	c, db, clock := clocked(t, nil)
	var present atomic.Bool
	c.AddWriter(func(w io.Writer) {
		fmt.Fprintln(w, `steady_total 1`)
		if present.Load() {
			fmt.Fprintln(w, `target_up{target="a"} 1`)
		}
	})
	scrapeAt := func(at int64, withTarget bool) {
		t.Helper()
		clock.Store(at)
		present.Store(withTarget)
		if err := c.Scrape(); err != nil {
			t.Fatal(err)
		}
	}
	t0 := testNow.UnixMilli()
	scrapeAt(t0, true)
	scrapeAt(t0+5000, true)
	scrapeAt(t0+10_000, false) // gone: a marker at 10 s
	scrapeAt(t0+15_000, false) // still gone: no second marker
	scrapeAt(t0+20_000, true)  // back
	got, err := db.Select(store.Query{MinT: t0, MaxT: t0 + 20_000, Matchers: []*labels.Matcher{eq("__name__", "target_up")}})
	if err != nil || len(got) != 1 {
		t.Fatalf("select: %v, %d series", err, len(got))
	}
	want := []store.Sample{{T: t0, V: 1}, {T: t0 + 5000, V: 1}, {T: t0 + 10_000, V: math.Float64frombits(value.StaleNaN)}, {T: t0 + 20_000, V: 1}}
	s := got[0].Samples
	if len(s) != len(want) {
		t.Fatalf("samples %v, want %v", s, want)
	}
	for i := range want {
		if s[i].T != want[i].T || math.Float64bits(s[i].V) != math.Float64bits(want[i].V) {
			t.Fatalf("sample %d is %v, want %v (the marker bit for bit)", i, s[i], want[i])
		}
	}
	// A series that stays has no marker.
	got, _ = db.Select(store.Query{MinT: t0, MaxT: t0 + 20_000, Matchers: []*labels.Matcher{eq("__name__", "steady_total")}})
	for _, smp := range got[0].Samples {
		if math.IsNaN(smp.V) {
			t.Fatalf("a series present in every scrape got a marker at %d", smp.T)
		}
	}
}

// TestLastScrape reports no scrape before the first, then the last one's
// time and outcome: a refused sample makes it an error.
func TestLastScrape(t *testing.T) {
	c, _, clock := clocked(t, &Options{ScrapeInterval: 7 * time.Second})
	if _, ok := c.LastScrape(); ok {
		t.Fatal("a scrape reported before the first")
	}
	if c.ScrapeInterval() != 7*time.Second {
		t.Errorf("interval: %s", c.ScrapeInterval())
	}
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	st, ok := c.LastScrape()
	if !ok || !st.Time.Equal(testNow) || st.Err != nil || st.Duration <= 0 {
		t.Fatalf("after a good scrape: %+v, %v", st, ok)
	}
	// A sample at a time the series already holds with another value is refused.
	c.AddWriter(func(w io.Writer) { fmt.Fprintln(w, `dup_total 1`, testNow.UnixMilli()) })
	clock.Add(1000)
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	clock.Add(1000)
	c.AddWriter(func(w io.Writer) { fmt.Fprintln(w, `dup_total 2`, testNow.UnixMilli()) })
	err := c.Scrape()
	if st, _ := c.LastScrape(); err == nil || st.Err == nil || st.Err.Error() != err.Error() {
		t.Fatalf("after a refused sample: %+v, scrape error %v", st, err)
	}
}

// clocked opens a store and a collector with options o (nil for the
// defaults) on a clock the test sets in unix milliseconds, starting at
// testNow. Neither flushes nor prunes on its own.
func clocked(tb testing.TB, o *Options) (*Collector, *store.DB, *atomic.Int64) {
	tb.Helper()
	clock := new(atomic.Int64)
	clock.Store(testNow.UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	db, err := store.Open(filepath.Join(tb.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	var opts Options
	if o != nil {
		opts = *o
	}
	opts.Now, opts.DataDir = now, tb.TempDir()
	return New(db, &opts), db, clock
}
