package collector

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newTest(t testing.TB, mod func(*Options)) (*Collector, *store.DB) {
	t.Helper()
	now := func() time.Time { return testNow }
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	o := &Options{Now: now, DataDir: t.TempDir()}
	if mod != nil {
		mod(o)
	}
	return New(db, o), db
}

// exposition returns the collector's /metrics text.
func exposition(c *Collector) string {
	var b bytes.Buffer
	c.WritePrometheus(&b)
	return b.String()
}

// wantLines checks that every line appears in the exposition.
func wantLines(t *testing.T, c *Collector, lines ...string) {
	t.Helper()
	text := exposition(c)
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") && !strings.HasPrefix(text, l+"\n") {
			t.Errorf("exposition lacks %q", l)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

// stored returns the newest value of the series the matchers select.
func stored(t *testing.T, db *store.DB, ms ...*labels.Matcher) float64 {
	t.Helper()
	got, err := db.Select(store.Query{MinT: 0, MaxT: testNow.UnixMilli(), Matchers: ms})
	if err != nil || len(got) != 1 {
		t.Fatalf("select %v: %v, %d series", ms, err, len(got))
	}
	s := got[0].Samples
	return s[len(s)-1].V
}

func eq(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, n, v) }

func TestScrapeStoresWhatMetricsShows(t *testing.T) {
	c, db := newTest(t, nil)
	c.RecordBeacon(Beacon{Service: "shop", Page: "/orders/12?x=1", FPS: []float64{60, 30, 59}, LongFrames: 2, DurationMs: 3000, TS: testNow.UnixMilli()})
	c.RecordRequests([]RequestEvent{
		{Service: "billing", Route: "/invoices/:id", Method: "GET", Status: 200, DurationMs: 12, Timestamp: testNow.UnixMilli() - 1000},
		{Service: "billing", Route: "/invoices/:id", Method: "GET", Status: 200, DurationMs: 700, Timestamp: testNow.UnixMilli()},
		{Service: "billing", Route: "/invoices/:id", Method: "GET", Status: 503, DurationMs: 5, Timestamp: testNow.UnixMilli()},
	})
	c.WebSocketConnected()
	c.WebSocketConnected()
	c.WebSocketDisconnected(DisconnectTimeout, 90*time.Second)
	c.CacheResult("query", true)
	c.CacheResult("query", true)
	c.CacheResult("query", false)
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	wantLines(t, c,
		`frontend_beacons_total{service="shop",page="/orders/:id"} 1`,
		`frontend_long_frames_total{service="shop",page="/orders/:id"} 2`,
		`frontend_fps_bucket{service="shop",page="/orders/:id",le="30"} 1`,
		`frontend_fps_bucket{service="shop",page="/orders/:id",le="60"} 3`,
		`frontend_fps_count{service="shop",page="/orders/:id"} 3`,
		`http_requests_total{service="billing",route="/invoices/:id",method="GET",code="200"} 2`,
		`http_requests_total{service="billing",route="/invoices/:id",method="GET",code="503"} 1`,
		`http_request_duration_seconds_bucket{service="billing",route="/invoices/:id",method="GET",le="0.5"} 2`,
		`http_request_duration_seconds_bucket{service="billing",route="/invoices/:id",method="GET",le="1"} 3`,
		`websocket_connections 1`,
		`websocket_connects_total 2`,
		`websocket_disconnects_total{reason="timeout"} 1`,
		`websocket_connection_duration_seconds_bucket{le="300"} 1`,
		`cache_requests_total{cache="query",result="hit"} 2`,
		`cache_requests_total{cache="query",result="miss"} 1`,
	)
	// One report makes no source steady (freshness_test.go).
	if strings.Contains(exposition(c), "data_last_sample_timestamp_seconds{") {
		t.Error("a source that reported once is watched")
	}
	// The store holds the same numbers, at the scrape's time.
	for _, c := range []struct {
		ms   []*labels.Matcher
		want float64
	}{
		{[]*labels.Matcher{eq("__name__", "frontend_beacons_total"), eq("page", "/orders/:id")}, 1},
		{[]*labels.Matcher{eq("__name__", "http_requests_total"), eq("service", "billing"), eq("code", "200")}, 2},
		{[]*labels.Matcher{eq("__name__", "frontend_fps_bucket"), eq("le", "60")}, 3},
		{[]*labels.Matcher{eq("__name__", "websocket_connections")}, 1},
		{[]*labels.Matcher{eq("__name__", "cache_requests_total"), eq("result", "miss")}, 1},
	} {
		if got := stored(t, db, c.ms...); got != c.want {
			t.Errorf("stored %v = %g, want %g", c.ms, got, c.want)
		}
	}
	// Host, runtime and store metrics are there too.
	for _, m := range []string{"system_cpu_usage_ratio", "system_memory_usage_ratio", "system_data_disk_free_bytes", "process_resident_memory_bytes", "go_goroutines", "store_series", "store_samples_appended_total"} {
		if !strings.Contains(exposition(c), "\n"+m) {
			t.Errorf("exposition lacks %s", m)
		}
		stored(t, db, eq("__name__", m))
	}
}

func TestCapsTurnValuesIntoOther(t *testing.T) {
	c, _ := newTest(t, func(o *Options) {
		o.MaxPagesPerService = 2
		o.MaxServices = 1
		o.MaxBeaconServices = 1
		o.MaxRoutesPerService = 1
	})
	for _, p := range []string{"/a", "/b", "/c", "/d"} {
		c.RecordBeacon(Beacon{Service: "shop", Page: p, FPS: []float64{60}, TS: testNow.UnixMilli()})
	}
	c.RecordBeacon(Beacon{Service: "blog", Page: "/a", FPS: []float64{60}, TS: testNow.UnixMilli()})
	c.RecordRequests([]RequestEvent{
		{Service: "billing", Route: "/x", Method: "GET", Status: 200, Timestamp: testNow.UnixMilli()},
		{Service: "billing", Route: "/y", Method: "GET", Status: 200, Timestamp: testNow.UnixMilli()},
	})
	wantLines(t, c,
		`frontend_beacons_total{service="shop",page="/a"} 1`,
		`frontend_beacons_total{service="shop",page="<other>"} 2`,
		`frontend_beacons_total{service="<other>",page="/a"} 1`,
		`http_requests_total{service="billing",route="/x",method="GET",code="200"} 1`,
		`http_requests_total{service="billing",route="<other>",method="GET",code="200"} 1`,
	)
}

func TestEscapedLabelValues(t *testing.T) {
	c, db := newTest(t, nil)
	c.RecordRequests([]RequestEvent{{Service: `we"ird\svc`, Route: "/ünïcode", Method: "POST", Status: 201, Timestamp: testNow.UnixMilli()}})
	wantLines(t, c, `http_requests_total{service="we\"ird\\svc",route="/ünïcode",method="POST",code="201"} 1`)
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, db, eq("__name__", "http_requests_total"), eq("service", `we"ird\svc`)); got != 1 {
		t.Fatalf("stored %g", got)
	}
}

// TestScrapeStoresEverySample checks that nothing the exposition holds is
// refused by the store (labels with empty values, such as a trimmed build's
// GOROOT, are absent labels).
func TestScrapeStoresEverySample(t *testing.T) {
	c, db := newTest(t, nil)
	if err := c.Scrape(); err != nil {
		t.Fatal(err)
	}
	for reason, n := range db.Stats().Refused {
		if n != 0 {
			t.Fatalf("the store refused %d scraped samples as %s", n, reason)
		}
	}
}
