package slo

import (
	"context"
	"maps"
	"math"
	"path/filepath"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// TestCountExact counts a service's requests over generated counters with
// a reset and a gap, and compares with the counts worked out by hand.
//
// Two hours of one sample a minute (i = 0..120 after t0):
//   - 200s: 100 a minute; at i = 61 the process restarts, the counter reads
//     50, then grows 100 a minute again. Increases: 60 × 100, then 50 (a
//     reset counts its new value), then 59 × 100: 11,950.
//   - 500s: 1 a minute, no samples for i = 30..39; the sample at 40 is 11
//     above the one at 29, and counts it: 120.
//   - another service's requests, which the SLO leaves out.
//
// Over the whole window: 12,070 requests, 120 bad: an SLI of 1 - 120/12,070,
// and of the 1 % budget (120.7 requests) 0.7 left. Over the last hour
// (i = 61..120): 5,950 + 60 requests, 60 bad: a burn rate of 60/6,010/0.01.
//
// The counts are the same when the window reaches past the raw retention
// (90 minutes here), so that its first hour is read from the 1-minute tier.
func TestCountExact(t *testing.T) {
	t.Run("raw", func(t *testing.T) { testCountExact(t, 0) })
	t.Run("rollup then raw", func(t *testing.T) { testCountExact(t, 90*time.Minute) })
}

func testCountExact(t *testing.T, rawRetention time.Duration) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	db, err := store.Open(filepath.Join(t.TempDir(), "b.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, RawRetention: rawRetention, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	put := func(i int, v float64, service, code string) {
		t.Helper()
		ls := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: code}, {Name: "route", Value: "/pay"}, {Name: "service", Value: service}}
		if err := db.Append(ls, t0.Add(time.Duration(i)*time.Minute).UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i <= 120; i++ {
		now = t0.Add(time.Duration(i) * time.Minute)
		ok := 100 * float64(i)
		if i >= 61 {
			ok = 50 + 100*float64(i-61)
		}
		put(i, ok, "shop", "200")
		if i < 30 || i > 39 {
			put(i, float64(i), "shop", "500")
		}
		put(i, 1000*float64(i), "other", "503")
		if i%10 == 0 {
			if err := db.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if rawRetention > 0 && db.TierFor(store.Query{MinT: t0.UnixMilli(), MaxT: now.UnixMilli()}) == store.TierRaw {
		t.Fatal("the window does not reach past the raw retention")
	}
	s := SLO{Name: "shop", Service: "shop", Objective: 99, Window: DefaultWindow, Indicator: Availability}
	got, err := s.Count(StoreReader(db), now.Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Counts{Bad: 120, All: 12070}); len(got) != 1 || got["shop"] != want {
		t.Fatalf("window counts %+v, want shop: %+v", got, want)
	}
	if rawRetention == 0 {
		// Raw samples from elsewhere, as a query backend gives them, count alike.
		fromBackend, err := s.Count(SampleReader(context.Background(), rawOnly{db}), now.Add(-24*time.Hour), now)
		if err != nil || !maps.Equal(fromBackend, got) {
			t.Errorf("counts over raw samples %+v (%v), over the store %+v", fromBackend, err, got)
		}
	}
	sts, err := Statuses(StoreReader(db), &File{SLOs: []SLO{s}}, now)
	if err != nil {
		t.Fatal(err)
	}
	st := sts[0]
	near := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-12*math.Abs(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if st.LastHour != (Counts{Bad: 60, All: 6010}) {
		t.Errorf("last hour %+v, want 60 bad of 6010", st.LastHour)
	}
	near("sli", st.SLI, 1-120.0/12070)
	near("budget remaining", st.BudgetRemaining, 1-120/(12070*0.01))
	near("budget remaining seconds", st.BudgetRemainingSeconds, (1-120/(12070*0.01))*30*24*3600)
	near("burn rate", st.BurnRate, 60.0/6010/0.01)
	near("exhausted in", st.ExhaustedInSeconds, (1-120/(12070*0.01))*30*24*3600/(60.0/6010/0.01))

	// The built-in availability SLO counts each service apart, AtroZ's own left out.
	d := Defaults()[0]
	got, err = d.Count(StoreReader(db), now.Add(-24*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["shop"] != (Counts{Bad: 120, All: 12070}) || got["other"] != (Counts{Bad: 120000, All: 120000}) {
		t.Fatalf("built-in counts %+v", got)
	}
}

// rawOnly gives a store's raw samples as a query backend would.
type rawOnly struct{ db *store.DB }

func (r rawOnly) RawSamples(_ context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]store.Series, error) {
	return r.db.SelectTier(store.Query{MinT: mint, MaxT: maxt, Matchers: ms}, store.TierRaw)
}
