package store

import (
	"path/filepath"
	"testing"
)

func TestDeleteSeries(t *testing.T) {
	clk := &testClock{baseTime}
	path := filepath.Join(t.TempDir(), "p.db")
	db := openTest(t, path, clk, nil)
	t0 := baseTime.UnixMilli() - 3600_000
	for i := range 1500 { // several closed chunks, rollups and an open head each
		mustAppend(t, db, lbl("http_requests_total", "service", "shop"), t0+int64(i)*1000, float64(i))
		mustAppend(t, db, lbl("http_requests_total", "service", "blog"), t0+int64(i)*1000, float64(i))
		if i%100 == 0 {
			_ = db.Flush()
		}
	}
	n, err := db.DeleteSeries(eq("service", "shop"))
	if err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	check := func(db *DB) {
		t.Helper()
		for _, tier := range []Tier{TierRaw, TierMinute, TierHour} {
			got, _ := db.SelectTier(Query{MinT: minInt64, MaxT: maxInt64, Matchers: []*labelsMatcher{eq(MetricName, "http_requests_total")}}, tier)
			if len(got) != 1 || got[0].Labels.Get("service") != "blog" {
				t.Fatalf("%s tier after purge: %+v", tier, got)
			}
		}
		if err := db.Check(); err != nil {
			t.Fatal(err)
		}
	}
	check(db)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	check(openTest(t, path, clk, nil))
}
