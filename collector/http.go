package collector

import (
	"context"
	"errors"
	"net/http"
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

// httpKey is one label set of the request metrics. code is a status
// code, or below 10 a status class a folded code counts under (5: "5xx").
type httpKey struct {
	service, route, method string
	code                   int
}

// codeLabel returns the code label of k: "503", or "5xx" for a class.
func (k httpKey) codeLabel() string {
	if k.code < 10 {
		return strconv.Itoa(k.code) + "xx"
	}
	return strconv.Itoa(k.code)
}

type httpSeries struct {
	requests *metrics.Counter
	duration *metrics.PrometheusHistogram
}

func newHTTPMetrics(set *metrics.Set) *httpMetrics {
	return &httpMetrics{
		inFlight: set.NewGauge("http_requests_in_flight", nil),
		series:   newRegistry(func(k httpKey) *httpSeries { return httpSeriesIn(set, k) }),
	}
}

// httpSeriesIn registers the request metrics of k in set.
func httpSeriesIn(set *metrics.Set, k httpKey) *httpSeries {
	return &httpSeries{
		requests: set.GetOrCreateCounter(name("http_requests_total", "service", k.service, "route", k.route, "method", k.method, "code", k.codeLabel())),
		duration: set.GetOrCreatePrometheusHistogramExt(name("http_request_duration_seconds", "service", k.service, "route", k.route, "method", k.method), durationBuckets),
	}
}

func (h *httpMetrics) record(k httpKey, seconds float64) {
	s := h.series.get(k)
	s.requests.Inc()
	s.duration.Update(seconds)
}

// count counts a request without timing it.
func (h *httpMetrics) count(k httpKey) {
	h.series.get(k).requests.Inc()
}

// Upgraded reports whether the request's connection was handed over to a
// WebSocket: a handshake whose handler answered nothing itself. Its
// "duration" is the socket's life, not a response time.
func Upgraded(c *gin.Context) bool {
	// The Upgrade header first: most requests lack it, and IsWebsocket
	// lowercases Connection, which allocates for "Keep-Alive".
	return c.Request.Header.Get("Upgrade") != "" && c.Writer.Status() == http.StatusOK && c.IsWebsocket()
}

// StatusClientClosedRequest is the code a request counts under when its
// client went away before the answer was written, as nginx logs it: the
// answer (a cancelled query's 503, say) reached no one, and the server did
// not fail, so it must not count among the 5xx the error-rate alert
// watches, nor among the 4xx of a client's mistakes.
const StatusClientClosedRequest = 499

// clientClosed reports whether the client of the request whose context is
// ctx closed it before the handler returned: net/http cancels a request's
// context when its connection closes, and only after the handler returns
// otherwise.
func clientClosed(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// methods are the request methods kept as label values; any other is "OTHER".
var methods = map[string]string{
	"GET": "GET", "HEAD": "HEAD", "POST": "POST", "PUT": "PUT", "PATCH": "PATCH",
	"DELETE": "DELETE", "OPTIONS": "OPTIONS", "CONNECT": "CONNECT", "TRACE": "TRACE",
}

// Middleware returns gin middleware that counts every request AtroZ serves
// by route template (never the raw path), method and status, times it, and
// tracks requests in flight. A WebSocket upgrade counts with code 101 and is
// not timed: websocket_connection_duration_seconds measures its life. A
// request its client closed before the answer counts with code 499
// (StatusClientClosedRequest), whatever the handler answered, and is not
// timed either: no response was received, and its time is how long the
// client waited, not how long the server took to answer.
func (c *Collector) Middleware() gin.HandlerFunc {
	h, service := c.http, c.opts.Service
	return func(ctx *gin.Context) {
		start := time.Now()
		h.inFlight.Inc()
		defer h.inFlight.Dec()
		reqCtx := ctx.Request.Context() // the server's, before any handler derives its own
		ctx.Next()
		route := ctx.FullPath()
		if route == "" {
			route = UnmatchedRoute
		}
		method, ok := methods[ctx.Request.Method]
		if !ok {
			method = "OTHER"
		}
		if Upgraded(ctx) {
			h.count(httpKey{service, route, method, http.StatusSwitchingProtocols})
			return
		}
		if clientClosed(reqCtx) {
			h.count(httpKey{service, route, method, StatusClientClosedRequest})
			return
		}
		h.record(httpKey{service, route, method, ctx.Writer.Status()}, time.Since(start).Seconds())
	}
}
