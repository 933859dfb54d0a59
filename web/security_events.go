package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

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
	// SecuritySilenceCreated and SecuritySilenceExpired are the audit
	// events of a silence created or ended through the API.
	SecuritySilenceCreated = "silence_created"
	SecuritySilenceExpired = "silence_expired"
)

// securityKinds are counted from zero, so every series exists before the
// first event and rate() over it works.
var securityKinds = []string{
	SecurityAuthFailure, SecurityRateLimited, SecurityOriginBlocked,
	SecurityCSRFBlocked, SecurityWSRejected, SecurityForbidden,
	SecuritySilenceCreated, SecuritySilenceExpired,
}

// Bounds of the security log. Every event is counted; these bound only the
// lines, so that a client cannot fill the disk by being refused.
const (
	// securityLogValueMax is the longest value (an Origin header, a
	// reason) logged whole; a longer one is cut and marked with its length.
	securityLogValueMax = 256
	// securityLogLines is the number of lines logged per client address
	// and securityLogWindow; further events of the window are only counted,
	// and reported as one "security events suppressed" line.
	securityLogLines  = 10
	securityLogWindow = time.Minute
	// securityLogAddresses bounds the addresses tracked (about 100 bytes
	// each); while they are all live, other addresses share one budget.
	securityLogAddresses = 4096
)

// SecurityEvents logs and counts refused or suspicious requests.
type SecurityEvents struct {
	log      *slog.Logger
	truncate bool
	mu       sync.RWMutex
	counts   map[string]*atomic.Uint64
	lines    *logBudgets
}

// NewSecurityEvents returns SecurityEvents logging to log, with client
// addresses cut to their /24 (IPv4) or /48 (IPv6) when truncate. It logs
// at most securityLogLines lines per client address a minute, tracking at
// most securityLogAddresses addresses.
func NewSecurityEvents(log *slog.Logger, truncate bool) *SecurityEvents {
	e := &SecurityEvents{log: log, truncate: truncate, counts: map[string]*atomic.Uint64{},
		lines: newLogBudgets(securityLogLines, securityLogWindow, securityLogAddresses, time.Now)}
	for _, k := range securityKinds {
		e.counts[k] = new(atomic.Uint64)
	}
	return e
}

// Record counts the request in c under kind and logs one WARN line with
// event_type "security" for it, unless its client address has used its
// lines of the minute. action says what was done ("refused", "logged") or
// quotes what was refused; it is cut to securityLogValueMax bytes.
func (e *SecurityEvents) Record(c *gin.Context, kind, action string) {
	e.counter(kind).Add(1)
	ip := c.ClientIP()
	if e.truncate {
		ip = truncateIP(ip)
	}
	log, reports := e.lines.take(ip)
	ctx := c.Request.Context()
	for _, r := range reports {
		e.logSuppressed(ctx, r.addr, r.n)
	}
	if !log {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = collector.UnmatchedRoute
	}
	e.log.LogAttrs(ctx, slog.LevelWarn, "security event",
		slog.String("event_type", "security"),
		slog.String("kind", kind),
		slog.String("action", clipLogValue(action)),
		slog.String("route", route),
		slog.String("method", c.Request.Method),
		slog.String("client_ip", ip),
		slog.String("request_id", c.GetString(ctxRequestID)))
}

// Audit counts the request in c under kind and logs one INFO line msg
// with event_type "security", the client address, the request ID and
// attrs. It records what a logged-in principal changed, so it is never
// suppressed: the principal's rate limit bounds it.
func (e *SecurityEvents) Audit(c *gin.Context, kind, msg string, attrs ...slog.Attr) {
	e.counter(kind).Add(1)
	ip := c.ClientIP()
	if e.truncate {
		ip = truncateIP(ip)
	}
	attrs = append([]slog.Attr{
		slog.String("event_type", "security"),
		slog.String("kind", kind),
		slog.String("client_ip", ip),
		slog.String("request_id", c.GetString(ctxRequestID)),
	}, attrs...)
	e.log.LogAttrs(c.Request.Context(), slog.LevelInfo, msg, attrs...)
}

// logSuppressed logs that n events of ip were counted but not logged.
func (e *SecurityEvents) logSuppressed(ctx context.Context, ip string, n uint64) {
	e.log.LogAttrs(ctx, slog.LevelWarn, "security events suppressed",
		slog.String("event_type", "security"),
		slog.String("client_ip", ip),
		slog.Uint64("suppressed", n),
		slog.Duration("window", securityLogWindow))
}

// clipLogValue returns v, or its first securityLogValueMax bytes (cut at a
// rune boundary) followed by a marker of its length when it is longer.
func clipLogValue(v string) string {
	if len(v) <= securityLogValueMax {
		return v
	}
	cut := securityLogValueMax
	for cut > 0 && !utf8.RuneStart(v[cut]) {
		cut--
	}
	return fmt.Sprintf("%s...[truncated, %d bytes]", v[:cut], len(v))
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

// logBudgets hands out log lines per client address: lines per window
// each, for at most max addresses. Windows are fixed, starting at an
// address's first event, so each address costs one small struct.
type logBudgets struct {
	lines  int
	window time.Duration
	max    int
	now    func() time.Time

	mu        sync.Mutex
	byAddr    map[string]*logBudget
	lastSweep time.Time
}

// logBudget is one address's window: when it started, the lines logged in
// it and the events not logged.
type logBudget struct {
	start      time.Time
	used       int
	suppressed uint64
}

// suppressedReport says that n events of addr were counted but not logged.
type suppressedReport struct {
	addr string
	n    uint64
}

// logOverflowAddr is the budget shared by addresses that find logBudgets full.
const logOverflowAddr = "other addresses"

// newLogBudgets returns budgets of lines per window for at most max addresses.
func newLogBudgets(lines int, window time.Duration, max int, now func() time.Time) *logBudgets {
	return &logBudgets{lines: lines, window: window, max: max, now: now, byAddr: map[string]*logBudget{}}
}

// take reports whether addr may log a line now, and the suppressed events
// of windows that ended: addr's previous one, and those of addresses swept
// to make room.
func (l *logBudgets) take(addr string) (bool, []suppressedReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var reports []suppressedReport
	b := l.byAddr[addr]
	if b == nil && len(l.byAddr) >= l.max {
		reports = l.sweep(now)
		if len(l.byAddr) >= l.max {
			addr = logOverflowAddr
			b = l.byAddr[addr]
		}
	}
	if b == nil {
		b = &logBudget{start: now}
		l.byAddr[addr] = b
	}
	if now.Sub(b.start) >= l.window {
		if b.suppressed > 0 {
			reports = append(reports, suppressedReport{addr, b.suppressed})
		}
		*b = logBudget{start: now}
	}
	if b.used < l.lines {
		b.used++
		return true, reports
	}
	b.suppressed++
	return false, reports
}

// sweep drops the budgets whose window ended, at most eight times a
// window so that a flood of new addresses does not scan the map each
// time, and returns their suppressed counts.
func (l *logBudgets) sweep(now time.Time) []suppressedReport {
	if now.Sub(l.lastSweep) < l.window/8 {
		return nil
	}
	l.lastSweep = now
	var reports []suppressedReport
	for addr, b := range l.byAddr {
		if now.Sub(b.start) < l.window {
			continue
		}
		if b.suppressed > 0 {
			reports = append(reports, suppressedReport{addr, b.suppressed})
		}
		delete(l.byAddr, addr)
	}
	return reports
}
