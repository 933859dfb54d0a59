package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"
)

// ingestServer is a Server with an ingest token, over a store whose clock is fixed.
type ingestServer struct {
	s       *Server
	db      *store.DB
	col     *collector.Collector
	token   string // ingest token
	session string // admin login token
	logs    *syncBuffer
}

var ingestNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func newIngestServer(t testing.TB, cfg Config) *ingestServer {
	t.Helper()
	return newIngestServerIn(t, t.TempDir(), cfg)
}

// newIngestServerIn is newIngestServer with the store file in dir.
func newIngestServerIn(t testing.TB, dir string, cfg Config) *ingestServer {
	t.Helper()
	return newIngestServerWith(t, dir, cfg, nil)
}

// newIngestServerWith is newIngestServerIn with store options changed by mod.
func newIngestServerWith(t testing.TB, dir string, cfg Config, mod func(*store.Options)) *ingestServer {
	t.Helper()
	return newIngestServerCol(t, dir, cfg, mod, nil)
}

// newIngestServerCol is newIngestServerWith with the collector's options
// changed by colMod too.
func newIngestServerCol(t testing.TB, dir string, cfg Config, mod func(*store.Options), colMod func(*collector.Options)) *ingestServer {
	t.Helper()
	now := func() time.Time { return ingestNow }
	o := &store.Options{FlushInterval: -1, PruneInterval: -1, Now: now}
	if mod != nil {
		mod(o)
	}
	db, err := store.Open(filepath.Join(dir, "atroz.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	co := &collector.Options{Now: now, DataDir: t.TempDir()}
	if colMod != nil {
		colMod(co)
	}
	col := collector.New(db, co)
	deps := testDeps(t, db, col, nil)
	token, err := deps.Auth.CreateToken("billing", auth.ScopeIngest, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cfg.Auth = testAuth
	s, err := New(cfg, deps, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &ingestServer{s: s, db: db, col: col, token: token, logs: &logs, session: login(t, s, "tester", auth.RoleAdmin)}
}

func (is *ingestServer) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+is.session)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	is.s.Handler().ServeHTTP(w, req)
	return w
}

func (is *ingestServer) metrics(t *testing.T) string {
	t.Helper()
	return is.do("GET", "/metrics", "", "Authorization", "Bearer "+is.token).Body.String()
}

func TestIngestRefusals(t *testing.T) {
	is := newIngestServer(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true})
	auth := "Bearer " + is.token
	beacon := `{"service":"shop","page":"/a","fps":[60]}`
	event := `[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":3}]`
	f := func(method, path, body string, wantCode int, wantErr string, header ...string) {
		t.Helper()
		w := is.do(method, path, body, header...)
		if w.Code != wantCode || !strings.Contains(w.Body.String(), wantErr) {
			t.Fatalf("%s %s %.60q: %d %s\nwant %d with %q", method, path, body, w.Code, w.Body, wantCode, wantErr)
		}
		if wantCode >= 400 && !strings.Contains(w.Body.String(), `"status":"error"`) {
			t.Fatalf("error body is not the API error shape: %s", w.Body)
		}
	}
	origin := []string{"Origin", "https://shop.example"}
	f("POST", "/api/v1/beacons", beacon, 403, `origin \"https://evil.example\" is not in ALLOWED_ORIGINS`, "Origin", "https://evil.example")
	f("POST", "/api/v1/beacons", beacon, 403, "need an Origin header")
	f("POST", "/api/v1/beacons", `{"service":"shop","page":"/a","fps":[-3]}`, 400, "fps[0] must be between 0 and 1000, got -3", origin...)
	f("POST", "/api/v1/beacons", `{"service":"shop"`, 400, "truncated", origin...)
	f("POST", "/api/v1/beacons", `{"service":"shop","page":"/a","vitals":{"lcp_ms":-1}}`, 400, "vitals.lcp_ms must be between 0 and 600000, got -1", origin...)
	f("POST", "/api/v1/beacons", `{"service":"shop","page":"/a","fps":[60],"vitals":{"fid_ms":3}}`, 400, "vitals.fid_ms is not a vital", origin...)
	f("POST", "/api/v1/beacons", `{"service":"shop","page":"/a","vitals":{"cls":1e999}}`, 400, "vitals.cls must be a number", origin...)
	f("POST", "/api/v1/beacons", `{"service":"shop","page":"/a","fps":[`+strings.Repeat("60,", 30000)+`60]}`, 413, "body exceeds 65536 bytes", origin...)
	f("POST", "/api/v1/ingest/requests", event, 401, "ingest token is required", "Authorization", "")
	f("POST", "/api/v1/ingest/requests", event, 401, "unknown or revoked", "Authorization", "Bearer atz_nope")
	f("POST", "/api/v1/ingest/requests", `[{"service":"billing","route":"/x","method":"GET","status":700}]`, 400, "events[0].status must be between 100 and 599, got 700", "Authorization", auth)
	f("POST", "/api/v1/ingest/requests", strings.Repeat(" ", 1<<20+1), 413, "body exceeds 1048576 bytes", "Authorization", auth)
	f("POST", "/api/v1/import/prometheus", "up 1\n", 401, "ingest token is required", "Authorization", "")
	f("POST", "/api/v1/import/prometheus", "up{ 1\n", 400, "parse", "Authorization", auth)
	f("POST", "/api/v1/import/prometheus", "up 1\ndown NaN\n", 400, "NaN or infinite", "Authorization", auth)
	f("POST", "/api/v1/import/prometheus", fmt.Sprintf("up 1 %d\n", ingestNow.UnixMilli()+3600_000), 400, "ahead of the clock", "Authorization", auth)
	// Nothing refused above reached the metrics or the store.
	m := is.metrics(t)
	for _, absent := range []string{"frontend_beacons_total{", `http_requests_total{service="billing"`} {
		if strings.Contains(m, absent) {
			t.Errorf("a refused payload was recorded: %s", absent)
		}
	}
	for _, line := range []string{`ingest_rejected_total{endpoint="beacons"} 7`, `ingest_rejected_total{endpoint="requests"} 1`, `ingest_rejected_total{endpoint="import"} 3`} {
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %s", line)
		}
	}
	if n := is.db.Stats().Series; n != 0 {
		t.Errorf("refused payloads created %d series", n)
	}
	// A revoked token stops working.
	if err := is.s.access.RevokeToken("billing"); err != nil {
		t.Fatal(err)
	}
	f("POST", "/api/v1/ingest/requests", event, 401, "unknown or revoked", "Authorization", auth)
}

func TestBeaconAcceptedFromAllowedOrigin(t *testing.T) {
	is := newIngestServer(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true})
	w := is.do("POST", "/api/v1/beacons", `{"service":"shop","page":"/a/7","fps":[60,59]}`, "Origin", "https://shop.example", "Content-Type", "text/plain;charset=UTF-8")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("beacon: %d, ACAO %q, %s", w.Code, w.Header().Get("Access-Control-Allow-Origin"), w.Body)
	}
	if m := is.metrics(t); !strings.Contains(m, `frontend_fps_count{service="shop",page="/a/:id"} 2`) {
		t.Fatalf("beacon not recorded:\n%s", m)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	is := newIngestServer(t, Config{Development: true, SlowRequest: time.Nanosecond, TruncateIPs: true})
	w := is.do("GET", "/health", "", "X-Request-ID", "trace-123")
	if got := w.Header().Get(HeaderRequestID); got != "trace-123" {
		t.Fatalf("request ID echoed as %q", got)
	}
	w = is.do("GET", "/health", "", "X-Request-ID", "bad id\"with quotes")
	if got := w.Header().Get(HeaderRequestID); !saneID(got) || got == "bad id\"with quotes" {
		t.Fatalf("insane request ID kept: %q", got)
	}
	logs := is.logs.String()
	for _, want := range []string{
		`"event_type":"access","method":"GET","route":"/health","status":200`,
		`"request_id":"trace-123","client_ip":"192.0.2.0"`,
		`"event_type":"alert","alert_type":"high_latency","metric":"http_request_duration_seconds"`,
		`"endpoint":"/health","method":"GET","request_id":"trace-123"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s\n%s", want, logs)
		}
	}
}

func TestTruncateIP(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := truncateIP(in); got != want {
			t.Fatalf("truncateIP(%q) = %q, want %q", in, got, want)
		}
	}
	f("203.0.113.77", "203.0.113.0")
	f("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::")
	f("::ffff:198.51.100.9", "198.51.100.0")
	f("garbage", "")
}
