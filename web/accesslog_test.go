package web

import (
	"log/slog"
	"net/http"
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
