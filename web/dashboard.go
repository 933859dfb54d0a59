package web

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
)

// Panel is one chart of the overview: its query, unit, and the alert whose
// threshold and pending/firing bands it draws.
type Panel struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Query     string   `json:"query"`
	Unit      string   `json:"unit"`
	Alert     string   `json:"alert"`
	Threshold *float64 `json:"threshold"`
	Group     string   `json:"group"`
}

func threshold(v float64) *float64 { return &v }

// Panels are the overview's charts, RED for the API, frame rate for the
// frontend, then the host, live connections, cache and freshness. Latency
// and frame rate share the time axis the page gives every chart.
var Panels = []Panel{
	{"requests", "Request rate by route", `sum by (service, route) (rate(http_requests_total[1m]))`, "req/s", "", nil, "backend"},
	{"errors", "Error ratio (5xx) by service", `sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (service) (rate(http_requests_total[5m]))`, "ratio", "HighErrorRate", threshold(0.01), "backend"},
	{"latency", "Latency p95 by route", `histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket[5m])))`, "s", "HighLatency", threshold(0.5), "backend"},
	{"latency_p50_p99", "Latency p50 and p99, all routes", `label_replace(histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))), "q", "p50", "", "") or label_replace(histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))), "q", "p99", "", "")`, "s", "", nil, "backend"},
	{"in_flight", "Requests in flight", `http_requests_in_flight`, "count", "", nil, "backend"},
	{"fps", "Frame rate median by page", `histogram_quantile(0.5, sum by (le, service, page) (rate(frontend_fps_bucket[5m])))`, "fps", "LowFrameRate", threshold(50), "frontend"},
	{"fps_p5", "Frame rate p5 by page", `histogram_quantile(0.05, sum by (le, service, page) (rate(frontend_fps_bucket[5m])))`, "fps", "", nil, "frontend"},
	{"long_frames", "Long frames per minute", `sum by (service, page) (rate(frontend_long_frames_total[5m])) * 60`, "count", "", nil, "frontend"},
	{"cpu", "CPU", `system_cpu_usage_ratio`, "ratio", "", nil, "host"},
	{"memory", "Memory", `system_memory_usage_ratio`, "ratio", "HighMemory", threshold(0.8), "host"},
	{"ws", "WebSocket connections", `websocket_connections`, "count", "", nil, "live"},
	{"ws_churn", "WebSocket disconnects per minute", `sum(increase(websocket_disconnects_total[1m]))`, "count", "WebSocketChurn", threshold(5), "live"},
	{"cache", "Query cache hit ratio", `sum(rate(cache_requests_total{result="hit"}[5m])) / sum(rate(cache_requests_total[5m]))`, "ratio", "", nil, "live"},
	{"freshness", "Data age by source", `time() - data_last_sample_timestamp_seconds`, "s", "StaleData", threshold(900), "live"},
}

func (s *Server) panels(c *gin.Context) { success(c, Panels, nil) }

// me tells the page, or a script, who the request acts as: a user and
// role, or a token and its scopes.
func (s *Server) me(c *gin.Context) {
	p := principalOf(c)
	if p.kind == principalToken {
		success(c, gin.H{"token": p.name, "scopes": p.scopes.Names()}, nil)
		return
	}
	success(c, gin.H{"user": p.name, "role": p.role}, nil)
}

// livePoint is one panel's new point for every series, in columns:
// Values[i] belongs to Metrics[i]. Values are strings, as in the query API,
// because JSON has no NaN or infinity and histogram_quantile returns NaN
// for a route without traffic.
type livePoint struct {
	T       int64               `json:"t"`
	Metrics []map[string]string `json:"metrics"`
	Values  []string            `json:"values"`
}

// RunLive evaluates each watched panel's query once per interval and broadcasts
// the new points to the browsers subscribed to "panel:<id>", until ctx is
// done. Slow browsers are dropped by the hub, never waited for.
func (s *Server) RunLive(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.pushPanels(ctx, now)
		}
	}
}

func (s *Server) pushPanels(ctx context.Context, now time.Time) {
	for _, p := range Panels {
		if !s.hub.Watched("panel:" + p.ID) {
			continue
		}
		v, _, err := s.query.Instant(ctx, p.Query, now)
		if err != nil {
			continue
		}
		vec, ok := v.(promql.Vector)
		if !ok {
			continue
		}
		pt := livePoint{T: now.UnixMilli(), Metrics: make([]map[string]string, 0, len(vec)), Values: make([]string, 0, len(vec))}
		for _, smp := range vec {
			pt.Metrics = append(pt.Metrics, smp.Metric.Map())
			pt.Values = append(pt.Values, strconv.FormatFloat(smp.F, 'f', -1, 64))
		}
		_ = s.hub.Broadcast("panel:"+p.ID, pt)
	}
}

// AlertEvent broadcasts an alert transition to browsers subscribed to "alerts".
func (s *Server) AlertEvent(e any) { _ = s.hub.Broadcast("alerts", e) }
