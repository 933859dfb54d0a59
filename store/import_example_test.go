package store_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// An import puts each sample in the finest tier that still keeps its time:
// last week's stays raw, two months ago's goes into 1-minute (and 1-hour)
// points, last year's into 1-hour points.
func ExampleDB_Import() {
	dir, _ := os.MkdirTemp("", "atroz-example")
	defer os.RemoveAll(dir)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	db, err := store.Open(filepath.Join(dir, "atroz.db"), &store.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	var text strings.Builder
	for i, age := range []time.Duration{300 * 24 * time.Hour, 60 * 24 * time.Hour, 7 * 24 * time.Hour} {
		fmt.Fprintf(&text, "jobs_done_total{job=\"nightly\"} %d %d\n", 10*(i+1), now.Add(-age).UnixMilli())
	}
	res, err := db.Import(strings.NewReader(text.String()), store.ImportOptions{Strict: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d samples: raw %d, 1m %d, 1h %d\n", res.Samples, res.Tiers.Raw, res.Tiers.Minute, res.Tiers.Hour)

	hours, err := db.SelectTier(store.Query{
		MinT:     now.Add(-400 * 24 * time.Hour).UnixMilli(),
		MaxT:     now.UnixMilli(),
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "job", "nightly")},
	}, store.TierHour)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range hours[0].Points {
		fmt.Printf("%s: last %g\n", time.UnixMilli(p.T).UTC().Format(time.DateOnly), p.Last)
	}
	// Output:
	// 3 samples: raw 1, 1m 1, 1h 1
	// 2026-01-05: last 10
	// 2026-09-02: last 20
	// 2026-10-25: last 30
}
