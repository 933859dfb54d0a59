package web

import (
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/collector"
)

// accessLog writes one line per request, and a high_latency alert line for
// a request slower than Config.SlowRequest. A WebSocket is logged when it
// ends, with status 101 and its life as the duration, and is never slow.
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
