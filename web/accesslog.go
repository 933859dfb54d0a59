package web

import (
	"cmp"
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/collector"
)

// accessLog writes one line per request, and a high_latency alert line for
// a request slower than Config.SlowRequest. A WebSocket is logged when it
// ends, with status 101 and its life as the duration, and is never slow.
// A request to an ingest route answered below 500 logs at DEBUG and is
// counted in the summary RunAccessSummary writes.
func (s *Server) accessLog() gin.HandlerFunc {
	slow := s.cfg.SlowRequest
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		d := time.Since(start)
		route := c.FullPath()
		if route == "" {
			route = collector.UnmatchedRoute
		}
		id := c.GetString(ctxRequestID)
		status, upgraded := c.Writer.Status(), collector.Upgraded(c)
		if upgraded {
			status = http.StatusSwitchingProtocols
		}
		level, detail := slog.LevelInfo, c.GetString(ctxErrorDetail)
		if detail != "" {
			level = slog.LevelError
		} else if ingestRoutes[route] && status < http.StatusInternalServerError {
			level = slog.LevelDebug
			s.summary.add(route, status, c.Request.ContentLength, c.Writer.Size())
		}
		s.log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("event_type", "access"),
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(d.Microseconds())/1000),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.String("request_id", id),
			slog.String("client_ip", s.clientIP(c)),
			slog.String("error", detail))
		if d > slow && !upgraded {
			s.log.LogAttrs(c.Request.Context(), slog.LevelWarn, "slow request",
				slog.String("event_type", "alert"),
				slog.String("alert_type", "high_latency"),
				slog.String("metric", "http_request_duration_seconds"),
				slog.Float64("value", float64(d.Microseconds())/1000),
				slog.Float64("threshold", float64(slow.Microseconds())/1000),
				slog.String("endpoint", route),
				slog.String("method", c.Request.Method),
				slog.String("request_id", id))
		}
	}
}

// clientIP is the client's address as logged: truncated when Config.TruncateIPs.
func (s *Server) clientIP(c *gin.Context) string {
	ip := c.ClientIP()
	if !s.cfg.TruncateIPs {
		return ip
	}
	return truncateIP(ip)
}

// truncateIP keeps an IPv4 address's /24 and an IPv6 address's /48.
func truncateIP(s string) string {
	ip := net.ParseIP(s)
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String()
	}
	return ip.Mask(net.CIDRMask(48, 128)).String()
}

// serverErrorLog returns the log.Logger for http.Server.ErrorLog, whose
// lines (TLS handshake errors, panics) name the client's IP:port: they go
// to logger at WARN, and with truncate each address in them is cut as the
// access log cuts it, its port dropped.
func serverErrorLog(logger *slog.Logger, truncate bool) *log.Logger {
	l := slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	if truncate {
		l.SetOutput(ipTruncator{l.Writer()})
	}
	return l
}

// addrPattern finds what net/http writes as a remote address: an IPv4
// address or a bracketed IPv6 one, each with an optional port.
var addrPattern = regexp.MustCompile(`\[[0-9A-Fa-f:.]+(?:%[^\]]*)?\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`)

// ipTruncator rewrites each address in a line before passing it on.
type ipTruncator struct{ w io.Writer }

func (t ipTruncator) Write(p []byte) (int, error) {
	line := addrPattern.ReplaceAllFunc(p, func(m []byte) []byte {
		host := string(m)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if i := strings.IndexByte(host, '%'); i >= 0 {
			host = host[:i]
		}
		return []byte(truncateIP(host))
	})
	if _, err := t.w.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

// ingestRoutes are the routes whose requests come by the thousand from
// machines and browsers: their access lines go to DEBUG, counted in a
// summary at INFO, so a console at INFO stays readable.
var ingestRoutes = map[string]bool{
	"/api/v1/beacons":           true,
	"/api/v1/ingest/requests":   true,
	"/api/v1/import/prometheus": true,
	"/api/v1/write":             true,
	"/api/v1/otlp/v1/metrics":   true,
}

// DefaultAccessSummaryInterval is how often RunAccessSummary logs the
// ingest requests counted since its last line.
const DefaultAccessSummaryInterval = time.Minute

// summaryKey is one row of an access summary.
type summaryKey struct {
	route  string
	status int
}

// summaryRow is the counts of one summaryKey.
type summaryRow struct {
	Route    string `json:"route"`
	Status   int    `json:"status"`
	Requests int64  `json:"requests"`
	BytesIn  int64  `json:"bytes_in"`
	Bytes    int64  `json:"bytes"`
}

// accessSummary counts the ingest requests logged at DEBUG. It holds a row
// per route and status: four routes times the few codes they answer.
type accessSummary struct {
	mu   sync.Mutex
	rows map[summaryKey]*summaryRow
}

// add counts one request of route answered status, with the bytes it sent
// (in, -1 when unknown) and was answered (out).
func (a *accessSummary) add(route string, status int, in int64, out int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rows == nil {
		a.rows = map[summaryKey]*summaryRow{}
	}
	k := summaryKey{route, status}
	r := a.rows[k]
	if r == nil {
		r = &summaryRow{Route: route, Status: status}
		a.rows[k] = r
	}
	r.Requests++
	r.BytesIn += max(in, 0)
	r.Bytes += int64(max(out, 0))
}

// take returns the rows counted, sorted by route and status, and starts
// counting anew.
func (a *accessSummary) take() []summaryRow {
	a.mu.Lock()
	rows := a.rows
	a.rows = nil
	a.mu.Unlock()
	out := make([]summaryRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b summaryRow) int {
		return cmp.Or(strings.Compare(a.Route, b.Route), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// RunAccessSummary logs, at each tick until ctx is done and once more
// then, one INFO line counting the ingest requests whose access lines went
// to DEBUG since the last: their number and bytes in all, and per route
// and status. A quiet interval logs nothing. Pass a time.Ticker's channel
// at DefaultAccessSummaryInterval.
func (s *Server) RunAccessSummary(ctx context.Context, tick <-chan time.Time) {
	since := time.Now()
	for {
		select {
		case <-ctx.Done():
			s.logAccessSummary(time.Since(since))
			return
		case now := <-tick:
			s.logAccessSummary(now.Sub(since))
			since = now
		}
	}
}

// logAccessSummary writes the summary of the requests counted over d.
func (s *Server) logAccessSummary(d time.Duration) {
	rows := s.summary.take()
	if len(rows) == 0 {
		return
	}
	var n, in, out int64
	for _, r := range rows {
		n, in, out = n+r.Requests, in+r.BytesIn, out+r.Bytes
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "ingest requests",
		slog.String("event_type", "access_summary"),
		slog.Float64("seconds", d.Round(time.Second).Seconds()),
		slog.Int64("requests", n),
		slog.Int64("bytes_in", in),
		slog.Int64("bytes", out),
		slog.Any("routes", rows))
}
