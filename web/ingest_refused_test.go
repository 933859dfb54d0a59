package web

import (
	"fmt"
	"strings"
	"testing"

	"atroz/collector"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// TestIngestAcknowledgesOnlyWhatIsStored refuses, on the beacon and
// request-event routes, what the store could not keep, with 400 naming the
// reason and the count, before anything is recorded: a page or label set
// whose series do not fit under MAX_SERIES, and times outside the window.
// What is taken is in the store after the next scrape.
func TestIngestAcknowledgesOnlyWhatIsStored(t *testing.T) {
	// Room for one page's beacon series (19) or one route's request series
	// (17), not for two routes.
	// A beacon budget past the store's limit: the store's limit is under test here.
	is := newIngestServerCol(t, t.TempDir(), Config{MetricsOnMain: true, AllowedOrigins: []string{"https://shop.example"}},
		func(o *store.Options) { o.MaxSeries = 30 }, func(o *collector.Options) { o.MaxBeaconSeries = 1000 })
	auth := "Bearer " + is.token
	now := ingestNow.UnixMilli()
	beacon := func(page string, ts int64) string {
		return fmt.Sprintf(`{"service":"shop","page":%q,"fps":[60],"ts":%d}`, page, ts)
	}
	event := func(route string, ts int64) string {
		return fmt.Sprintf(`{"service":"billing","route":%q,"method":"GET","status":200,"duration_ms":3,"timestamp":%d}`, route, ts)
	}
	f := func(path, body string, wantCode int, want ...string) {
		t.Helper()
		header := []string{"Authorization", auth}
		if path == "/api/v1/beacons" {
			header = append(header, "Origin", "https://shop.example")
		}
		w := is.do("POST", path, body, header...)
		if w.Code != wantCode {
			t.Fatalf("%s %.80s: %d %s, want %d", path, body, w.Code, w.Body, wantCode)
		}
		for _, s := range want {
			if !strings.Contains(w.Body.String(), s) {
				t.Fatalf("%s %.80s: %s\nlacks %q", path, body, w.Body, s)
			}
		}
	}
	f("/api/v1/beacons", beacon("/a", now+3600_000), 400, "ts is", "ahead of the server's clock")
	f("/api/v1/beacons", beacon("/a", now-16*24*3600_000), 400, "ts is", "older than the retention")
	f("/api/v1/ingest/requests", "["+event("/x", now)+","+event("/x", now+3600_000)+"]", 400, "events[1].timestamp", "ahead of the server's clock")
	f("/api/v1/ingest/requests", "["+event("/x", now-16*24*3600_000)+"]", 400, "events[0].timestamp", "older than the retention")
	f("/api/v1/ingest/requests", "["+event("/x", now)+","+event("/y", now)+"]", 400,
		"2 new label sets", "series limit reached: 33 new series, room for 30")
	if st := is.db.Stats(); st.Series != 0 || st.ReservedSeries != 0 {
		t.Fatalf("refused payloads left %d series and %d reserved", st.Series, st.ReservedSeries)
	}
	text := is.metrics(t)
	for _, absent := range []string{"frontend_beacons_total{", `http_requests_total{service="billing"`} {
		if strings.Contains(text, absent) {
			t.Fatalf("a refused payload was recorded: %s", absent)
		}
	}
	// One page fits, and its series are held for it.
	f("/api/v1/beacons", beacon("/a", now), 204)
	if st := is.db.Stats(); st.ReservedSeries != 19 {
		t.Fatalf("%d series reserved for the page, want 19", st.ReservedSeries)
	}
	f("/api/v1/beacons", beacon("/b", now), 400, `page \"/b\"`, "series limit reached: 18 new series, room for 11")
	f("/api/v1/ingest/requests", "["+event("/x", now)+"]", 400, "1 new label sets", "series limit reached: 17 new series, room for 11")
	if err := is.col.Scrape(); !strings.Contains(fmt.Sprint(err), "series limit") {
		// AtroZ's own series do not fit after the page's: they are what the scrape refuses.
		t.Fatalf("scrape: %v, want its own new series refused", err)
	}
	got, err := is.db.Select(store.Query{MinT: now - 60_000, MaxT: now, Matchers: []*labels.Matcher{m("__name__", "frontend_beacons_total")}})
	if err != nil || len(got) != 1 || got[0].Labels.Get("page") != "/a" || got[0].Samples[0].V != 1 {
		t.Fatalf("the acknowledged beacon is not stored: %v %v", got, err)
	}
	if text := is.metrics(t); !strings.Contains(text, `ingest_rejected_total{endpoint="beacons"} 3`) || !strings.Contains(text, `ingest_rejected_total{endpoint="requests"} 4`) {
		t.Errorf("refusals not counted:\n%s", text)
	}
}
