package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// liveServer is a Server listening on a loopback port, over a real store
// and collector with the real clock.
type liveServer struct {
	url     string
	s       *Server
	db      *store.DB
	col     *collector.Collector
	token   string // ingest token
	session string // viewer login token
}

func startLive(t testing.TB, log *slog.Logger) *liveServer {
	t.Helper()
	ls := startLiveWith(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true, Auth: testAuth}, log)
	ls.session = login(t, ls.s, "viewer", auth.RoleViewer)
	return ls
}

// startLiveWith starts a Server of cfg over a fresh store, with an ingest
// token, on a loopback port; all of it stops when the test ends.
func startLiveWith(t testing.TB, cfg Config, log *slog.Logger) *liveServer {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	col := collector.New(db, &collector.Options{DataDir: t.TempDir()})
	deps := testDeps(t, db, col, nil)
	token, err := deps.Auth.CreateToken("e2e", auth.ScopeIngest, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, deps, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &liveServer{url: serveLive(t, s, db, deps), s: s, db: db, col: col, token: token}
}

// serveLive serves s on a loopback port until the test ends, then shuts
// it down and closes deps' auth service and db; it returns the base URL.
func serveLive(t testing.TB, s *Server, db *store.DB, deps Deps) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Shutdown(t.Context())
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if err := errors.Join(deps.Auth.Close(), db.Close()); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func (ls *liveServer) post(t testing.TB, c *http.Client, path, body string, header ...string) int {
	t.Helper()
	req, err := http.NewRequest("POST", ls.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func (ls *liveServer) storedLast(t *testing.T, ms ...*labels.Matcher) float64 {
	t.Helper()
	got, err := ls.db.Select(store.Query{MinT: 0, MaxT: time.Now().UnixMilli() + 1000, Matchers: ms})
	if err != nil || len(got) != 1 {
		t.Fatalf("select %v: %v, %d series", ms, err, len(got))
	}
	s := got[0].Samples
	return s[len(s)-1].V
}

func m(n, v string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, n, v) }

// TestEndToEnd drives a real server over loopback with every kind of input,
// waits one scrape, and reads the counts back from the store and from
// /metrics: they must be exact.
func TestEndToEnd(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	for range 5 {
		resp, err := c.Get(ls.url + "/health")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	origin := []string{"Origin", "https://shop.example", "Content-Type", "text/plain"}
	for i := range 3 {
		body := fmt.Sprintf(`{"service":"shop","page":"/orders/%d?ref=mail","fps":[60,58.5,24],"long_frames":1,"duration_ms":3000,"ts":%d}`, i, time.Now().UnixMilli())
		if code := ls.post(t, c, "/api/v1/beacons", body, origin...); code != http.StatusNoContent {
			t.Fatalf("beacon: %d", code)
		}
	}
	events := `[{"service":"billing","route":"/invoices/:id","method":"GET","status":200,"duration_ms":12},
		{"service":"billing","route":"/invoices/:id","method":"GET","status":200,"duration_ms":80},
		{"service":"billing","route":"/invoices/:id","method":"GET","status":500,"duration_ms":2000},
		{"service":"billing","route":"/pay","method":"POST","status":201,"duration_ms":40}]`
	auth := []string{"Authorization", "Bearer " + ls.token}
	if code := ls.post(t, c, "/api/v1/ingest/requests", events, auth...); code != http.StatusOK {
		t.Fatalf("request events: %d", code)
	}
	if code := ls.post(t, c, "/api/v1/import/prometheus", "# TYPE jobs_done_total counter\njobs_done_total{job=\"nightly\"} 42\n", auth...); code != http.StatusOK {
		t.Fatalf("import: %d", code)
	}
	if err := ls.col.Scrape(); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ms   []*labels.Matcher
		line string
		v    float64
	}{
		{[]*labels.Matcher{m("__name__", "http_requests_total"), m("service", "atroz"), m("route", "/health")}, `http_requests_total{service="atroz",route="/health",method="GET",code="200"} 5`, 5},
		{[]*labels.Matcher{m("__name__", "http_requests_total"), m("service", "atroz"), m("route", "/api/v1/beacons")}, `http_requests_total{service="atroz",route="/api/v1/beacons",method="POST",code="204"} 3`, 3},
		{[]*labels.Matcher{m("__name__", "frontend_beacons_total"), m("page", "/orders/:id")}, `frontend_beacons_total{service="shop",page="/orders/:id"} 3`, 3},
		{[]*labels.Matcher{m("__name__", "frontend_fps_count")}, `frontend_fps_count{service="shop",page="/orders/:id"} 9`, 9},
		{[]*labels.Matcher{m("__name__", "frontend_fps_bucket"), m("le", "30")}, `frontend_fps_bucket{service="shop",page="/orders/:id",le="30"} 3`, 3},
		{[]*labels.Matcher{m("__name__", "frontend_long_frames_total")}, `frontend_long_frames_total{service="shop",page="/orders/:id"} 3`, 3},
		{[]*labels.Matcher{m("__name__", "http_requests_total"), m("service", "billing"), m("code", "200")}, `http_requests_total{service="billing",route="/invoices/:id",method="GET",code="200"} 2`, 2},
		{[]*labels.Matcher{m("__name__", "http_requests_total"), m("service", "billing"), m("code", "500")}, `http_requests_total{service="billing",route="/invoices/:id",method="GET",code="500"} 1`, 1},
		{[]*labels.Matcher{m("__name__", "http_request_duration_seconds_bucket"), m("service", "billing"), m("route", "/invoices/:id"), m("le", "0.1")}, `http_request_duration_seconds_bucket{service="billing",route="/invoices/:id",method="GET",le="0.1"} 2`, 2},
		{[]*labels.Matcher{m("__name__", "jobs_done_total")}, "", 42},
	}
	mreq, _ := http.NewRequest("GET", ls.url+"/metrics", nil)
	mreq.Header.Set("Authorization", "Bearer "+ls.token)
	resp, err := c.Do(mreq)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, w := range want {
		if got := ls.storedLast(t, w.ms...); got != w.v {
			t.Errorf("stored %v = %g, want %g", w.ms, got, w.v)
		}
		if w.line != "" && !bytes.Contains(text, []byte(w.line+"\n")) {
			t.Errorf("/metrics lacks %s", w.line)
		}
	}
	// One report of each makes no source steady, so none is watched yet.
	for _, source := range []string{"beacons:shop", "requests:billing", "import", "host"} {
		if !reported(ls.col, source) {
			t.Errorf("source %s is not marked fresh", source)
		}
	}
}

// reported reports whether col keeps the data source name.
func reported(col *collector.Collector, name string) bool {
	for _, s := range col.Sources() {
		if s.Name == name {
			return true
		}
	}
	return false
}

func storeQuery(name string) store.Query {
	return store.Query{MinT: 0, MaxT: time.Now().UnixMilli() + 1000, Matchers: []*labels.Matcher{m("__name__", name)}}
}
