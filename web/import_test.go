package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

// The import answers 200 only when it stored every sample of the body,
// with where each went; a body with any refused sample stores nothing and
// gets 400 naming each reason and its count.
func TestImportAnswers(t *testing.T) {
	is := newIngestServerWith(t, t.TempDir(), Config{MaxImportBytes: 1 << 20, MetricsOnMain: true}, func(o *store.Options) { o.MaxSeries = 4 })
	auth := []string{"Authorization", "Bearer " + is.token}
	now, day := ingestNow.UnixMilli(), int64(24*3600_000)
	var backfill strings.Builder
	for i := range 48 { // two days, 200 days ago, hourly
		fmt.Fprintf(&backfill, "jobs_total{job=\"nightly\"} %d %d\n", i, now-200*day+int64(i)*3600_000)
	}
	for i := range 3 { // within the minute tier
		fmt.Fprintf(&backfill, "jobs_total{job=\"nightly\"} %d %d\n", 100+i, now-30*day+int64(i)*60_000)
	}
	fmt.Fprintf(&backfill, "jobs_total{job=\"nightly\"} 200 %d\nup 1 %d\n", now-1000, now-1000)
	w := is.do("POST", "/api/v1/import/prometheus", backfill.String(), auth...)
	var ok struct {
		Status string             `json:"status"`
		Data   store.ImportResult `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &ok); err != nil || w.Code != http.StatusOK {
		t.Fatalf("backfill: %d %s", w.Code, w.Body)
	}
	if want := (store.TierCounts{Raw: 2, Minute: 3, Hour: 48}); ok.Data.Tiers != want || ok.Data.Samples != 53 || ok.Data.Series != 2 {
		t.Fatalf("backfill: %+v, want tiers %+v", ok.Data, want)
	}
	series := is.db.Stats().Series
	f := func(body, wantReason string) {
		t.Helper()
		w := is.do("POST", "/api/v1/import/prometheus", "fresh 1\n"+body, auth...)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), wantReason) || !strings.Contains(w.Body.String(), `"errorType":"bad_data"`) {
			t.Fatalf("%q: %d %s\nwant 400 naming %q", body, w.Code, w.Body, wantReason)
		}
		if n := is.db.Stats().Series; n != series {
			t.Fatalf("%q: a refused import left %d series, want %d", body, n, series)
		}
	}
	f(fmt.Sprintf("a 1 %d\na 2 %d\na 3 %d\n", now-10, now-20, now-30), "out_of_order 2")
	f(fmt.Sprintf("jobs_total{job=\"nightly\"} 5 %d\n", now-100*day), "out_of_order 1")
	f(fmt.Sprintf("a 1 %d\na 2 %d\n", now-10, now-10), "duplicate 1")
	f(fmt.Sprintf("a 1 %d\n", now-401*day), "too_old 1")
	f(fmt.Sprintf("a 1 %d\n", now+3600_000), "too_far_in_future 1")
	f("a NaN\nb +Inf\n", "non_finite 2")
	f("a{b=\""+strings.Repeat("x", 3000)+"\"} 1\n", "label_too_long 1")
	f("a 1\nb 1\nc 1\n", "series_limit 2")
	f("a{ 1\n", "parse line 2")
	if got := is.db.Stats().Refused; got["series_limit"] != 2 || got["out_of_order"] != 3 {
		t.Errorf("refusals counted by the store: %v", got)
	}
	if m := is.metrics(t); !strings.Contains(m, `ingest_rejected_total{endpoint="import"} 9`) {
		t.Errorf("metrics lack 9 import refusals")
	}
}

func TestImportOpenMetricsAndLimits(t *testing.T) {
	is := newIngestServer(t, Config{MaxImportBytes: 64 << 10})
	auth := []string{"Authorization", "Bearer " + is.token}
	sec := ingestNow.Add(-time.Minute).Unix()
	om := fmt.Sprintf("# TYPE jobs counter\njobs_total 3 %d\n", sec) // no # EOF: the header says the format
	w := is.do("POST", "/api/v1/import/prometheus", om, append(auth, "Content-Type", "application/openmetrics-text; version=1.0.0")...)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "# EOF") {
		t.Fatalf("OpenMetrics without # EOF: %d %s", w.Code, w.Body)
	}
	w = is.do("POST", "/api/v1/import/prometheus", om+"# EOF\n", append(auth, "Content-Type", "application/openmetrics-text; version=1.0.0")...)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"raw":1`) {
		t.Fatalf("OpenMetrics: %d %s", w.Code, w.Body)
	}
	w = is.do("POST", "/api/v1/import/prometheus", strings.Repeat("a 1\n", 20<<10), auth...)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "body exceeds 65536 bytes") {
		t.Fatalf("oversized body: %d %s", w.Code, w.Body)
	}
}
