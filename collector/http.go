package collector

import (
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gin-gonic/gin"
)

// httpMetrics holds the request metrics, one entry per label set.
type httpMetrics struct {
	inFlight *metrics.Gauge
	series   *registry[httpKey, *httpSeries]
}

type httpKey struct {
	service, route, method string
	code                   int
}

type httpSeries struct {
	requests *metrics.Counter
	duration *metrics.PrometheusHistogram
}

func newHTTPMetrics(set *metrics.Set) *httpMetrics {
	return &httpMetrics{
		inFlight: set.NewGauge("http_requests_in_flight", nil),
		series: newRegistry(func(k httpKey) *httpSeries {
			return &httpSeries{
				requests: set.GetOrCreateCounter(name("http_requests_total", "service", k.service, "route", k.route, "method", k.method, "code", strconv.Itoa(k.code))),
				duration: set.GetOrCreatePrometheusHistogramExt(name("http_request_duration_seconds", "service", k.service, "route", k.route, "method", k.method), durationBuckets),
			}
		}),
	}
}

func (h *httpMetrics) record(k httpKey, seconds float64) {
	s := h.series.get(k)
	s.requests.Inc()
	s.duration.Update(seconds)
}

// methods are the request methods kept as label values; any other is "OTHER".
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "CONNECT": "CONNECT", "TRACE": "TRACE",
}

// Middleware returns gin middleware that counts every request AtroZ serves
// by route template (never the raw path), method and status, times it, and
// tracks requests in flight.
func (c *Collector) Middleware() gin.HandlerFunc {
	h, service := c.http, c.opts.Service
	return func(ctx *gin.Context) {
		start := time.Now()
		h.inFlight.Inc()
		defer h.inFlight.Dec()
		ctx.Next()
		route := ctx.FullPath()
		if route == "" {
			route = UnmatchedRoute
		}
		method, ok := methods[ctx.Request.Method]
		if !ok {
			method = "OTHER"
		}
		h.record(httpKey{service, route, method, ctx.Writer.Status()}, time.Since(start).Seconds())
	}
}
