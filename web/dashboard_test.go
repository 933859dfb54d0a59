package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestLivePanelPoints subscribes to two panels over /ws and checks that a
// push carries each series' new point in columns, and that a NaN (the p95
// of a route with no traffic in the window) arrives as "NaN" instead of
// failing to encode and silently dropping the panel's update.
func TestLivePanelPoints(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	ls.post(t, c, "/api/v1/ingest/requests", `[{"service":"shop","route":"/cart","method":"GET","status":200,"duration_ms":40}]`, "Authorization", "Bearer "+ls.token)
	if err := ls.col.Scrape(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a second scrape at a later second: the counters stand still, so their rate is 0
	if err := ls.col.Scrape(); err != nil {
		t.Fatal(err)
	}

	h := http.Header{"Authorization": {"Bearer " + ls.session}}
	d := websocket.Dialer{HandshakeTimeout: wsWait}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(ls.url, "http")+"/ws", h)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := startWSClient(t, conn)
	cl.subscribe(t, `{"subscribe":["panel:latency","panel:requests"]}`, `{"subscribed":["panel:latency","panel:requests"]}`)

	now := time.Now()
	ls.s.pushPanels(context.Background(), now)
	got := map[string]livePoint{}
	for range 2 {
		var env struct {
			Topic string    `json:"topic"`
			Data  livePoint `json:"data"`
		}
		if err := json.Unmarshal([]byte(cl.next(t)), &env); err != nil {
			t.Fatal(err)
		}
		got[env.Topic] = env.Data
	}
	for topic, p := range got {
		if p.T != now.UnixMilli() || len(p.Metrics) == 0 || len(p.Metrics) != len(p.Values) {
			t.Fatalf("%s: %+v, want one value per metric at %d", topic, p, now.UnixMilli())
		}
	}
	i := indexOfRoute(got["panel:latency"].Metrics, "/cart")
	if i < 0 || got["panel:latency"].Values[i] != "NaN" {
		t.Errorf("latency of an idle route: %+v, want NaN for /cart", got["panel:latency"])
	}
	if i := indexOfRoute(got["panel:requests"].Metrics, "/cart"); i < 0 || got["panel:requests"].Values[i] != "0" {
		t.Errorf("request rate of an idle route: %+v, want 0 for /cart", got["panel:requests"])
	}
}

func indexOfRoute(metrics []map[string]string, route string) int {
	for i, m := range metrics {
		if m["route"] == route {
			return i
		}
	}
	return -1
}
