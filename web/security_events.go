package web

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gin-gonic/gin"

	"atroz/collector"
)

// The kinds of security event, the kind label of security_events_total.
const (
	SecurityAuthFailure   = "auth_failure"
	SecurityRateLimited   = "rate_limited"
	SecurityOriginBlocked = "origin_blocked"
	SecurityCSRFBlocked   = "csrf_blocked"
	SecurityWSRejected    = "ws_rejected"
	SecurityForbidden     = "forbidden"
)

// securityKinds are counted from zero, so every series exists before the
// first event and rate() over it works.
var securityKinds = []string{
	SecurityAuthFailure, SecurityRateLimited, SecurityOriginBlocked,
	SecurityCSRFBlocked, SecurityWSRejected, SecurityForbidden,
}

// SecurityEvents logs and counts refused or suspicious requests.
type SecurityEvents struct {
	log      *slog.Logger
	truncate bool
	mu       sync.RWMutex
	counts   map[string]*atomic.Uint64
}

// NewSecurityEvents returns SecurityEvents logging to log, with client
// addresses cut to their /24 (IPv4) or /48 (IPv6) when truncate.
func NewSecurityEvents(log *slog.Logger, truncate bool) *SecurityEvents {
	e := &SecurityEvents{log: log, truncate: truncate, counts: map[string]*atomic.Uint64{}}
	for _, k := range securityKinds {
		e.counts[k] = new(atomic.Uint64)
	}
	return e
}

// Record logs one WARN line with event_type "security" for the request in c
// and counts it under kind. action says what was done: "refused", "logged"...
func (e *SecurityEvents) Record(c *gin.Context, kind, action string) {
	e.counter(kind).Add(1)
	route := c.FullPath()
	if route == "" {
		route = collector.UnmatchedRoute
	}
	ip := c.ClientIP()
	if e.truncate {
		ip = truncateIP(ip)
	}
	e.log.LogAttrs(c.Request.Context(), slog.LevelWarn, "security event",
		slog.String("event_type", "security"),
		slog.String("kind", kind),
		slog.String("action", action),
		slog.String("route", route),
		slog.String("method", c.Request.Method),
		slog.String("client_ip", ip),
		slog.String("request_id", c.GetString(ctxRequestID)))
}

// Count returns the number of events recorded under kind.
func (e *SecurityEvents) Count(kind string) uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if n := e.counts[kind]; n != nil {
		return n.Load()
	}
	return 0
}

// WriteMetrics writes security_events_total{kind} in the Prometheus text
// format, one line per kind in kind order.
func (e *SecurityEvents) WriteMetrics(w io.Writer) {
	e.mu.RLock()
	kinds := make([]string, 0, len(e.counts))
	for k := range e.counts {
		kinds = append(kinds, k)
	}
	e.mu.RUnlock()
	slices.Sort(kinds)
	for _, k := range kinds {
		metrics.WriteCounterUint64(w, fmt.Sprintf("security_events_total{kind=%q}", k), e.Count(k))
	}
}

// counter returns kind's counter, adding it the first time an unlisted kind
// is recorded.
func (e *SecurityEvents) counter(kind string) *atomic.Uint64 {
	e.mu.RLock()
	n := e.counts[kind]
	e.mu.RUnlock()
	if n != nil {
		return n
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if n = e.counts[kind]; n == nil {
		n = new(atomic.Uint64)
		e.counts[kind] = n
	}
	return n
}
