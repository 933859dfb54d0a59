package web

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketIsNotASlowRequest keeps a WebSocket open past the slow
// request threshold. Its request must count with code 101 and no response
// time, and log no slow-request alert, so dashboards and the HighLatency
// rule do not mistake a socket's life for latency.
func TestWebSocketIsNotASlowRequest(t *testing.T) {
	var logs syncBuffer
	ls := startLive(t, slog.New(slog.NewJSONHandler(&logs, nil)))
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ls.url, "http")+"/ws", http.Header{"Authorization": {"Bearer " + ls.session}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = resp.Body.Close()
	// Outlive the threshold (500 ms by default); the socket's life is what
	// the old code mistook for latency.
	time.Sleep(DefaultSlowRequest + 100*time.Millisecond)
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	_ = conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"route":"/ws","status":101`) {
		if time.Now().After(deadline) {
			t.Fatalf("no access line with status 101 for /ws:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if strings.Contains(logs.String(), `"endpoint":"/ws"`) {
		t.Errorf("a WebSocket was logged as a slow request:\n%s", logs.String())
	}
	m := metricsText(t, ls)
	if !strings.Contains(m, `http_requests_total{service="atroz",route="/ws",method="GET",code="101"} 1`) {
		t.Errorf("/metrics lacks the upgrade counted with code 101:\n%s", grepLines(m, "/ws"))
	}
	if c := grepLines(m, `http_request_duration_seconds_count{service="atroz",route="/ws"`); c != "" && !strings.HasSuffix(c, "} 0") {
		t.Errorf("/metrics times the WebSocket's life as a response:\n%s", grepLines(m, "/ws"))
	}
}

// TestServerErrorLogTruncates cuts every address net/http writes in its
// own log lines to the access log's /24 or /48, port dropped.
func TestServerErrorLogTruncates(t *testing.T) {
	f := func(line, want string) {
		t.Helper()
		var b strings.Builder
		serverErrorLog(slog.New(slog.NewTextHandler(&b, nil)), true).Print(line)
		if got := b.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, want) {
			t.Errorf("%q logged %q, want it to contain %q", line, got, want)
		}
	}
	f("http: TLS handshake error from 203.0.113.77:51234: EOF", `"http: TLS handshake error from 203.0.113.0: EOF"`)
	f("http: TLS handshake error from [2001:db8:1:2::5]:443: EOF", `"http: TLS handshake error from 2001:db8:1::: EOF"`)
	f("http: panic serving [fe80::1%eth0]:80 and 10.1.2.3", `"http: panic serving fe80:: and 10.1.2.0"`)
	f("http: Accept error: too many open files; retrying in 5ms", `"http: Accept error: too many open files; retrying in 5ms"`)
	var b strings.Builder
	serverErrorLog(slog.New(slog.NewTextHandler(&b, nil)), false).Print("from 203.0.113.77:51234")
	if !strings.Contains(b.String(), "203.0.113.77:51234") {
		t.Errorf("without GDPR_ENABLED the address is kept: %q", b.String())
	}
}

// signalWriter hands every log line written to it to a channel.
type signalWriter chan string

func (w signalWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(p):
	default:
	}
	return len(p), nil
}

// TestTLSHandshakeErrorTruncated has a client that does not trust the
// server's certificate fail the handshake: the server's own log line about
// it goes through the structured log, with the client's address truncated.
func TestTLSHandshakeErrorTruncated(t *testing.T) {
	certFile, keyFile, _ := writeSelfSigned(t)
	tlsCfg, err := TLSConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(signalWriter, 16)
	ls := startLiveWith(t, Config{TLS: tlsCfg, TruncateIPs: true, Auth: testAuth}, slog.New(slog.NewJSONHandler(lines, nil)))
	addr := strings.TrimPrefix(ls.url, "http://")
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "localhost"}) // the self-signed certificate is not trusted
	if err == nil {
		_ = conn.Close()
		t.Fatal("handshake with an untrusted certificate succeeded")
	}
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line := <-lines:
			if !strings.Contains(line, "TLS handshake error") {
				continue
			}
			if !strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, "from 127.0.0.0:") || strings.Contains(line, "127.0.0.1") {
				t.Errorf("handshake error not truncated: %s", line)
			}
			return
		case <-deadline:
			t.Fatal("the failed handshake logged nothing")
		}
	}
}

// TestIngestAccessAtDebug sends beacons and a query: the beacons' access
// lines are at DEBUG, the query's at INFO, and at the next tick one INFO
// summary counts the beacons per route and status, with their bytes; a
// tick with nothing counted logs nothing.
func TestIngestAccessAtDebug(t *testing.T) {
	s, _ := newTestServer(t)
	var logs syncBuffer
	s.log = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := s.Handler()
	f := func(method, path, body string, want int) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if method == "POST" {
			req.Header.Set("Origin", "https://shop.example")
			req.Header.Set("Content-Type", "text/plain")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body)
		}
	}
	beacon := `{"service":"shop","page":"/a","fps":[60,59]}`
	for range 3 {
		f("POST", "/api/v1/beacons", beacon, http.StatusNoContent)
	}
	f("POST", "/api/v1/beacons", `{"service":"shop"`, http.StatusBadRequest)
	f("GET", "/health", "", http.StatusOK)
	lines := accessLines(t, logs.String())
	if got := lines["/api/v1/beacons"]; len(got) != 4 || got[0] != "DEBUG" || got[3] != "DEBUG" {
		t.Errorf("beacon access lines at %v, want 4 at DEBUG", got)
	}
	if got := lines["/health"]; len(got) != 1 || got[0] != "INFO" {
		t.Errorf("health access lines at %v, want 1 at INFO", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { defer close(done); s.RunAccessSummary(ctx, tick) }()
	now := time.Now()
	tick <- now.Add(time.Minute)
	tick <- now.Add(2 * time.Minute) // taken once the first summary is written; counts nothing
	cancel()
	<-done
	var sums []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["event_type"] == "access_summary" {
			sums = append(sums, m)
		}
	}
	if len(sums) != 1 {
		t.Fatalf("%d summary lines, want 1:\n%s", len(sums), logs.String())
	}
	sum := sums[0]
	in := float64(3*len(beacon) + len(`{"service":"shop"`))
	if sum["level"] != "INFO" || sum["requests"] != 4.0 || sum["bytes_in"] != in {
		t.Errorf("summary %v, want INFO, 4 requests, %v bytes in", sum, in)
	}
	raw, _ := json.Marshal(sum["routes"])
	var rows []summaryRow
	if err := json.Unmarshal(raw, &rows); err != nil || len(rows) != 2 {
		t.Fatalf("summary rows %s: %v", raw, err)
	}
	want := []summaryRow{
		{Route: "/api/v1/beacons", Status: 204, Requests: 3, BytesIn: int64(3 * len(beacon))},
		{Route: "/api/v1/beacons", Status: 400, Requests: 1, BytesIn: 17, Bytes: rows[len(rows)-1].Bytes},
	}
	if !slices.Equal(rows, want) || want[1].Bytes == 0 {
		t.Errorf("summary rows %+v, want %+v with the 400's bytes", rows, want)
	}
}

// accessLines returns the levels of the access lines in logs, by route.
func accessLines(t *testing.T, logs string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m struct {
			Level, Route string
			EventType    string `json:"event_type"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m.EventType == "access" {
			out[m.Route] = append(out[m.Route], m.Level)
		}
	}
	return out
}
