//go:build reliability

package reliability

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"atroz/auth"
	"atroz/collector"
	"atroz/query"
	"atroz/store"
	"atroz/web"
)

// steppedClock is the wall clock plus an offset a test can step.
type steppedClock struct{ offset atomic.Int64 }

func (c *steppedClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *steppedClock) step(d time.Duration) {
	c.offset.Add(int64(d))
}

// TestClockSteps steps the server's wall clock an hour forward and then two
// hours back (an hour behind true time), with beacons, imports, scrapes and
// flushes at each step. Nothing panics; what falls out of the window or
// behind its series is refused and counted; everything accepted is kept;
// the file stays sound.
func TestClockSteps(t *testing.T) {
	clk := &steppedClock{}
	path := filepath.Join(t.TempDir(), "atroz.db")
	db, err := store.Open(path, &store.Options{Now: clk.Now, FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	users, err := auth.Open(db, &auth.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	token, err := users.CreateToken("clock", auth.ScopeIngest, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	col := collector.New(db, &collector.Options{Now: clk.Now, DataDir: t.TempDir()})
	deps := web.Deps{Store: db, Collector: col, Auth: users, Query: query.New(db, nil)}
	srv, err := web.New(web.Config{Development: true, Auth: web.AuthConfig{Secret: []byte("a clock test secret of 32 bytes or more")}}, deps, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	c := &clockClient{t: t, url: hs.URL, token: token}

	// True time: everything is accepted.
	c.beacon(time.Now(), http.StatusNoContent)
	c.importAt("clock_probe", time.Now(), http.StatusOK)
	if err := col.Scrape(); err != nil {
		t.Fatalf("scrape at true time: %v", err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}

	// An hour ahead: a client on true time is an hour behind, inside the
	// window; a client two hours ahead of true time is too far in the future.
	clk.step(time.Hour)
	c.beacon(time.Now(), http.StatusNoContent)
	c.beacon(time.Now().Add(2*time.Hour), http.StatusBadRequest)
	c.importAt("clock_probe", clk.Now(), http.StatusOK)
	if err := col.Scrape(); err != nil {
		t.Fatalf("scrape an hour ahead: %v", err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}

	// An hour behind: true time is now an hour in the future; each series'
	// last sample is two hours ahead of the clock.
	clk.step(-2 * time.Hour)
	before := db.Stats().Refused["out_of_order"]
	c.beacon(time.Now(), http.StatusBadRequest)
	c.beacon(clk.Now(), http.StatusNoContent)
	// A sample before everything its series holds is that series' past,
	// backfilled; one between its samples is refused with a 400 counting
	// it by reason: the import API acknowledges only what it stores.
	if msg := c.post("/api/v1/import/prometheus", fmt.Sprintf("clock_probe 1 %d\n", clk.Now().UnixMilli()), "Bearer "+c.token, http.StatusOK); !strings.Contains(msg, `"samples":1`) {
		t.Errorf("import before the series' first sample: %s, want it stored as its past", msg)
	}
	between := clk.Now().Add(5 * time.Minute) // between the sample just backfilled and the first one
	if msg := c.post("/api/v1/import/prometheus", fmt.Sprintf("clock_probe 1 %d\n", between.UnixMilli()), "Bearer "+c.token, http.StatusBadRequest); !strings.Contains(msg, "out_of_order 1") {
		t.Errorf("import between the series' samples: %s, want a refusal counting out_of_order 1", msg)
	}
	c.importAt("clock_probe_new", clk.Now(), http.StatusOK)
	scrapeErr := col.Scrape()
	refused := db.Stats().Refused["out_of_order"] - before
	if refused < 2 {
		t.Errorf("scrape two hours behind the last one: %v, and no sample counted as out_of_order", scrapeErr)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	var metrics strings.Builder
	col.WritePrometheus(&metrics)
	for _, want := range []string{`ingest_rejected_total{endpoint="beacons"} 2`} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	hs.Close()
	if err := errors.Join(srv.Close(), users.Close()); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	clk.step(time.Hour)
	db, err = store.Open(path, &store.Options{Now: clk.Now, FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Check(); err != nil {
		t.Fatalf("check after the clock steps: %v", err)
	}
	for name, want := range map[string]int{"clock_probe": 3, "clock_probe_new": 1} {
		if got := countSamples(t, db, name); got != want {
			t.Errorf("%s holds %d samples after reopening, want %d", name, got, want)
		}
	}
	t.Logf("clock +1 h then -2 h: %d scraped samples refused as out of order (scrape: %v), 2 beacons refused and counted, 1 imported sample backfilled before its series and 1 refused as out of order, the file checks out", refused, scrapeErr)
}

// countSamples counts the samples of metric name within three hours of true time.
func countSamples(t *testing.T, db *store.DB, name string) int {
	t.Helper()
	got, err := db.Select(store.Query{MinT: time.Now().Add(-3 * time.Hour).UnixMilli(), MaxT: time.Now().Add(3 * time.Hour).UnixMilli(),
		Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", name)}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range got {
		n += len(s.Samples)
	}
	return n
}

// clockClient sends the clock test's requests.
type clockClient struct {
	t     *testing.T
	url   string
	token string
}

// beacon posts a beacon stamped ts and requires status want.
func (c *clockClient) beacon(ts time.Time, want int) {
	c.t.Helper()
	body := fmt.Sprintf(`{"service":"clock","page":"/","fps":[60],"long_frames":0,"duration_ms":1000,"ts":%d}`, ts.UnixMilli())
	_ = c.post("/api/v1/beacons", body, "", want)
}

// importAt pushes one sample of name stamped ts and requires status want.
func (c *clockClient) importAt(name string, ts time.Time, want int) {
	c.t.Helper()
	_ = c.post("/api/v1/import/prometheus", fmt.Sprintf("%s 1 %d\n", name, ts.UnixMilli()), "Bearer "+c.token, want)
}

// post sends body to path, requires status want and returns the answer.
func (c *clockClient) post(path, body, auth string, want int) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		c.t.Errorf("POST %s answered %d %s, want %d", path, resp.StatusCode, msg, want)
	}
	return string(msg)
}
