package web

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// TestBeaconFloodLeavesRoomForImports reproduces the attack of 6,000
// beacons, each naming a new service and page under an allowed Origin
// (which any client can forge), against a store of 3,000 series: beacons
// take at most their budget (a tenth of MAX_SERIES), so a legitimate import
// of 1,000 new series afterwards is stored and answered 200, and an import
// whose every sample is refused gets 400 naming the series limit.
func TestBeaconFloodLeavesRoomForImports(t *testing.T) {
	is := newIngestServerWith(t, t.TempDir(), Config{MetricsOnMain: true, MaxImportBytes: 1 << 20, AllowedOrigins: []string{"https://shop.example"}},
		func(o *store.Options) { o.MaxSeries = 3000 })
	now := ingestNow.UnixMilli()
	for i := range 6000 {
		body := fmt.Sprintf(`{"service":"svc%d","page":"/p%d","fps":[60],"ts":%d}`, i, i, now)
		if w := is.do("POST", "/api/v1/beacons", body, "Origin", "https://shop.example"); w.Code != http.StatusNoContent {
			t.Fatalf("beacon %d: %d %s", i, w.Code, w.Body)
		}
	}
	if err := is.col.Scrape(); err != nil {
		t.Fatal(err)
	}
	beacon := 0
	for _, re := range [][2]string{{"__name__", "frontend_.+"}, {"source", "beacons:.+"}} {
		ls, err := is.db.SeriesBetween(math.MinInt64, math.MaxInt64, labels.MustNewMatcher(labels.MatchRegexp, re[0], re[1]))
		if err != nil {
			t.Fatal(err)
		}
		beacon += len(ls)
	}
	if beacon == 0 || beacon > 300 {
		t.Fatalf("6,000 beacons created %d series, want some and at most 300", beacon)
	}
	var imp strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&imp, "orders_total{shop=\"s%d\"} 1 %d\n", i, now)
	}
	auth := []string{"Authorization", "Bearer " + is.token}
	if w := is.do("POST", "/api/v1/import/prometheus", imp.String(), auth...); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"series":1000`) {
		t.Fatalf("import after the flood: %d %s", w.Code, w.Body)
	}
	if got, err := is.db.SeriesBetween(now, now, m("__name__", "orders_total")); err != nil || len(got) != 1000 {
		t.Fatalf("the import stored %d series: %v", len(got), err)
	}
	imp.Reset()
	for i := range 3000 {
		fmt.Fprintf(&imp, "refunds_total{shop=\"s%d\"} 1 %d\n", i, now)
	}
	w := is.do("POST", "/api/v1/import/prometheus", imp.String(), auth...)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "series_limit") {
		t.Fatalf("an import past MAX_SERIES: %d %s, want 400 naming series_limit", w.Code, w.Body)
	}
	if got, _ := is.db.SeriesBetween(now, now, m("__name__", "refunds_total")); len(got) != 0 {
		t.Fatalf("a refused import stored %d series", len(got))
	}
}
