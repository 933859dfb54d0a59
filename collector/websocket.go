package collector

import (
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Reasons a WebSocket connection ends, the values of websocket_disconnects_total's reason label.
const (
	DisconnectNormal  = "normal"
	DisconnectError   = "error"
	DisconnectTimeout = "timeout"
	DisconnectPolicy  = "policy"
)

type wsMetrics struct {
	open        *metrics.Gauge
	connects    *metrics.Counter
	disconnects map[string]*metrics.Counter
	lifetime    *metrics.PrometheusHistogram
}

func newWSMetrics(set *metrics.Set) *wsMetrics {
	w := &wsMetrics{
		open:        set.NewGauge("websocket_connections", nil),
		connects:    set.NewCounter("websocket_connects_total"),
		disconnects: map[string]*metrics.Counter{},
		lifetime:    set.NewPrometheusHistogramExt("websocket_connection_duration_seconds", wsLifetimeBucket),
	}
	for _, r := range []string{DisconnectNormal, DisconnectError, DisconnectTimeout, DisconnectPolicy} {
		w.disconnects[r] = set.NewCounter(name("websocket_disconnects_total", "reason", r))
	}
	return w
}

// WebSocketConnected counts a connection the hub accepted.
func (c *Collector) WebSocketConnected() {
	c.ws.connects.Inc()
	c.ws.open.Inc()
}

// WebSocketDisconnected counts a connection that ended after lasting d; an
// unknown reason counts as DisconnectError.
func (c *Collector) WebSocketDisconnected(reason string, d time.Duration) {
	counter, ok := c.ws.disconnects[reason]
	if !ok {
		counter = c.ws.disconnects[DisconnectError]
	}
	counter.Inc()
	c.ws.open.Dec()
	c.ws.lifetime.Update(d.Seconds())
}
