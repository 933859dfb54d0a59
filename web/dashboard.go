package web

import (
	"context"
	"slices"
	"strconv"
	"time"

	"atroz/alert"
	"atroz/collector"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/promql"
)

// Panel is one chart of the overview: its query, unit, the label the
// service filter matches, and the alert whose threshold and pending/firing
// bands it draws.
type Panel struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Query string `json:"query"`
	Unit  string `json:"unit"`
	Group string `json:"group"`
	// Filter is the label the overview's service filter matches: service,
	// or source (KIND:SERVICE), or "" for a panel whose series name no
	// service, which the filter leaves whole and says so.
	Filter string `json:"filter"`
	// Alert names the loaded alerting rule the panel draws; "" when none
	// is loaded under its name.
	Alert string `json:"alert"`
	// Threshold is the number the loaded rule compares with, read from its
	// expression, so a rules file that replaces the rule moves the line.
	// A panel with Ratings draws its alert at the poor rating instead.
	Threshold *float64 `json:"threshold"`
	// Ratings, for a Web Vitals panel, are Google's thresholds, which the
	// chart shades as good, needs improvement and poor.
	Ratings *Ratings `json:"ratings,omitempty"`
}

// Ratings are the bounds of a Core Web Vital's ratings at the 75th
// percentile: good up to Good, poor over Poor.
type Ratings struct {
	Good float64 `json:"good"`
	Poor float64 `json:"poor"`
}

// Selectors that keep AtroZ's own services (alert.OwnServices) out of the
// product panels, and pick them for the AtroZ section.
const (
	product    = `service!~"` + alert.OwnServices + `"`
	own        = `service=~"` + alert.OwnServices + `"`
	ownSources = `source!~".*:(` + alert.OwnServices + `)"`
)

// panel is a Panel that draws the alert named alert, "" for none.
func panel(id, title, query, unit, group, filter, alert string) Panel {
	return Panel{ID: id, Title: title, Query: query, Unit: unit, Group: group, Filter: filter, Alert: alert}
}

// vitalPanel is the p75 per page of the Core Web Vital of metric, over the
// 30 minutes its alert rates, shaded by its ratings. Its buckets hold the
// ratings' bounds, so which band the p75 is in is exact; where in the band
// is interpolated within a bucket.
func vitalPanel(id, title, metric, unit, alert string) Panel {
	i := slices.IndexFunc(collector.Vitals, func(v collector.Vital) bool { return v.Metric == metric })
	v := collector.Vitals[i]
	p := panel(id, title, `histogram_quantile(0.75, sum by (le, service, page) (rate(`+metric+`_bucket{`+product+`}[30m])))`, unit, "frontend", "service", alert)
	p.Ratings = &Ratings{Good: v.Good, Poor: v.Poor}
	return p
}

// Panels are the overview's charts: the product first (RED for its APIs,
// frame rate and Core Web Vitals for its pages, the host, the freshness of
// its data), none of them showing AtroZ's own services; then AtroZ itself
// (its API, store and live connections). Latency, frame rate and the
// vitals share the time axis the page gives every chart.
var Panels = []Panel{
	panel("requests", "Request rate by route", `sum by (service, route) (rate(http_requests_total{`+product+`}[1m]))`, "req/s", "backend", "service", ""),
	panel("errors", "Error ratio (5xx) by service", `sum by (service) (rate(http_requests_total{code=~"5..", `+product+`}[5m])) / sum by (service) (rate(http_requests_total{`+product+`}[5m]))`, "ratio", "backend", "service", "HighErrorRate"),
	panel("latency", "Latency p95 by route", `histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket{`+product+`}[5m])))`, "s", "backend", "service", "HighLatency"),
	panel("latency_p50_p99", "Latency p50 and p99 by service", `label_replace(histogram_quantile(0.5, sum by (le, service) (rate(http_request_duration_seconds_bucket{`+product+`}[5m]))), "q", "p50", "", "") or label_replace(histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket{`+product+`}[5m]))), "q", "p99", "", "")`, "s", "backend", "service", ""),
	panel("fps", "Frame rate median by page", `histogram_quantile(0.5, sum by (le, service, page) (rate(frontend_fps_bucket{`+product+`}[5m])))`, "fps", "frontend", "service", "LowFrameRate"),
	panel("fps_p5", "Frame rate p5 by page", `histogram_quantile(0.05, sum by (le, service, page) (rate(frontend_fps_bucket{`+product+`}[5m])))`, "fps", "frontend", "service", ""),
	panel("long_frames", "Long frames per minute", `sum by (service, page) (rate(frontend_long_frames_total{`+product+`}[5m])) * 60`, "count", "frontend", "service", ""),
	vitalPanel("lcp", "Largest Contentful Paint p75 by page", "frontend_lcp_seconds", "s", "PoorLCP"),
	vitalPanel("inp", "Interaction to Next Paint p75 by page", "frontend_inp_seconds", "s", "PoorINP"),
	vitalPanel("cls", "Cumulative Layout Shift p75 by page", "frontend_cls", "score", ""),
	vitalPanel("ttfb", "Time to First Byte p75 by page", "frontend_ttfb_seconds", "s", ""),
	panel("cpu", "CPU", `system_cpu_usage_ratio`, "ratio", "host", "", ""),
	panel("memory", "Memory", `system_memory_usage_ratio`, "ratio", "host", "", "HighMemory"),
	panel("freshness", "Data age by source", `time() - data_last_sample_timestamp_seconds{`+ownSources+`}`, "s", "data", "source", "StaleData"),
	panel("atroz_requests", "AtroZ request rate by route", `sum by (service, route) (rate(http_requests_total{`+own+`}[1m]))`, "req/s", "atroz", "", ""),
	panel("atroz_latency", "AtroZ latency p95 by route", `histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket{`+own+`}[5m])))`, "s", "atroz", "", "AtroZSlowAPI"),
	panel("atroz_errors", "AtroZ error ratio (5xx)", `sum(rate(http_requests_total{code=~"5..", `+own+`}[5m])) / sum(rate(http_requests_total{`+own+`}[5m]))`, "ratio", "atroz", "", "AtroZErrors"),
	panel("in_flight", "AtroZ requests in flight", `http_requests_in_flight`, "count", "atroz", "", ""),
	panel("store_flush_errors", "Store flush errors per second", `rate(store_flush_errors_total[5m])`, "count", "atroz", "", "AtroZFlushFailing"),
	panel("disk_free", "Data disk free", `system_data_disk_free_bytes`, "bytes", "atroz", "", ""),
	panel("ws", "WebSocket connections", `websocket_connections`, "count", "atroz", "", ""),
	panel("ws_churn", "WebSocket disconnects per minute", `sum(increase(websocket_disconnects_total[1m]))`, "count", "atroz", "", "WebSocketChurn"),
	panel("cache", "Query cache hit ratio", `sum(rate(cache_requests_total{result="hit"}[5m])) / sum(rate(cache_requests_total[5m]))`, "ratio", "atroz", "", ""),
}

func (s *Server) panels(c *gin.Context) { success(c, s.dashboardPanels(), nil) }

// dashboardPanels returns Panels with each alert's threshold read from the
// loaded rule of its name; a panel whose rule is not loaded (disabled, or
// alerting not running) draws no alert.
func (s *Server) dashboardPanels() []Panel {
	m := s.alerts.Load()
	out := slices.Clone(Panels)
	for i, p := range out {
		if p.Alert == "" {
			continue
		}
		loaded := false
		if m != nil {
			out[i].Threshold, loaded = m.RuleThreshold(p.Alert)
		}
		switch {
		case !loaded:
			out[i].Alert, out[i].Threshold = "", nil
		case p.Ratings != nil:
			// The rule compares the share of page views within the poor
			// rating with 75%, which is the p75 against the poor rating.
			out[i].Threshold = &p.Ratings.Poor
		}
	}
	return out
}

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
	every(ctx, interval, func(now time.Time) { s.pushPanels(ctx, now) })
}

// every calls fn with the time at each interval until ctx is done.
func every(ctx context.Context, interval time.Duration, fn func(now time.Time)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
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
