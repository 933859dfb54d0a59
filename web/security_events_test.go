package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

func TestSecurityEventsRecord(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	f := func(truncate bool, peer, path, wantIP, wantRoute string) {
		t.Helper()
		var logs syncBuffer
		ev := NewSecurityEvents(slog.New(slog.NewJSONHandler(&logs, nil)), truncate)
		e := gin.New()
		e.Use(requestID(true))
		refuse := func(c *gin.Context) {
			ev.Record(c, SecurityOriginBlocked, "refused")
			c.AbortWithStatus(http.StatusForbidden)
		}
		e.POST("/api/v1/beacons", refuse)
		e.NoRoute(refuse)
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.RemoteAddr = peer
		r.Header.Set(HeaderRequestID, "req-42")
		e.ServeHTTP(httptest.NewRecorder(), r)

		var line map[string]any
		if err := json.Unmarshal([]byte(logs.String()), &line); err != nil {
			t.Fatalf("log %q: %v", logs.String(), err)
		}
		delete(line, "time")
		want := map[string]any{
			"level": "WARN", "msg": "security event", "event_type": "security",
			"kind": "origin_blocked", "action": "refused", "route": wantRoute,
			"method": "POST", "client_ip": wantIP, "request_id": "req-42",
		}
		if len(line) != len(want) {
			t.Errorf("log line %v, want %v", line, want)
		}
		for k, v := range want {
			if line[k] != v {
				t.Errorf("%s = %v, want %v", k, line[k], v)
			}
		}
		if got := ev.Count(SecurityOriginBlocked); got != 1 {
			t.Errorf("Count = %d, want 1", got)
		}
	}
	f(false, "192.0.2.77:1234", "/api/v1/beacons", "192.0.2.77", "/api/v1/beacons")
	f(true, "192.0.2.77:1234", "/api/v1/beacons", "192.0.2.0", "/api/v1/beacons")
	f(true, "[2001:db8:1:2::7]:1234", "/nope", "2001:db8:1::", "<unmatched>")
}

func TestSecurityEventsWriteMetrics(t *testing.T) {
	ev := NewSecurityEvents(slog.New(slog.DiscardHandler), false)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	for range 3 {
		ev.Record(c, SecurityRateLimited, "refused")
	}
	ev.Record(c, SecurityAuthFailure, "refused")
	ev.Record(c, "new_kind", "logged")
	var b strings.Builder
	ev.WriteMetrics(&b)
	want := `security_events_total{kind="auth_failure"} 1
security_events_total{kind="csrf_blocked"} 0
security_events_total{kind="forbidden"} 0
security_events_total{kind="new_kind"} 1
security_events_total{kind="origin_blocked"} 0
security_events_total{kind="rate_limited"} 3
security_events_total{kind="silence_created"} 0
security_events_total{kind="silence_expired"} 0
security_events_total{kind="ws_rejected"} 0
`
	if got := b.String(); got != want {
		t.Errorf("metrics:\n%s\nwant:\n%s", got, want)
	}
	if got := ev.Count("never"); got != 0 {
		t.Errorf("Count(never) = %d, want 0", got)
	}
}

func BenchmarkSecurityEventsRecord(b *testing.B) {
	ev := NewSecurityEvents(slog.New(slog.DiscardHandler), true)
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodPost, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		ev.Record(c, SecurityRateLimited, "refused")
	}
}

func TestSecurityEventsClipValues(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := clipLogValue(in); got != want {
			t.Errorf("clipLogValue(%d bytes) = %q, want %q", len(in), got, want)
		}
	}
	f("", "")
	f(strings.Repeat("a", 256), strings.Repeat("a", 256))
	f(strings.Repeat("a", 257), strings.Repeat("a", 256)+"...[truncated, 257 bytes]")
	// A cut never splits a rune: "é" is two bytes, the 256th byte starts one.
	f(strings.Repeat("a", 254)+"é", strings.Repeat("a", 254)+"é")
	f(strings.Repeat("a", 255)+"é", strings.Repeat("a", 255)+"...[truncated, 257 bytes]")
	f(strings.Repeat("a", 255)+"éé", strings.Repeat("a", 255)+"...[truncated, 259 bytes]")
}

func TestSecurityEventsLinesPerAddress(t *testing.T) {
	var logs syncBuffer
	ev := NewSecurityEvents(slog.New(slog.NewJSONHandler(&logs, nil)), false)
	now := time.Unix(1_700_000_000, 0)
	ev.lines = newLogBudgets(securityLogLines, securityLogWindow, 2, func() time.Time { return now })
	record := func(peer string, n int) {
		for range n {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest(http.MethodGet, "/", nil)
			c.Request.RemoteAddr = peer + ":1234"
			ev.Record(c, SecurityOriginBlocked, "https://evil.example")
		}
	}
	seen := 0
	lines := func() []map[string]any {
		t.Helper()
		all := logs.String()
		fresh := strings.TrimSpace(all[seen:])
		seen = len(all)
		var out []map[string]any
		for _, l := range strings.Split(fresh, "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			out = append(out, m)
		}
		return out
	}

	record("192.0.2.1", 150)
	if got := lines(); len(got) != securityLogLines {
		t.Fatalf("150 events from one address: %d lines, want %d", len(got), securityLogLines)
	}
	record("192.0.2.2", 1)
	if got := lines(); len(got) != 1 || got[0]["client_ip"] != "192.0.2.2" {
		t.Fatalf("another address is not limited by the first: %v", got)
	}
	// The map holds two addresses: a third shares the overflow budget.
	record("192.0.2.3", securityLogLines+5)
	if got := lines(); len(got) != securityLogLines || got[0]["client_ip"] != "192.0.2.3" {
		t.Fatalf("overflow address: %d lines (%v), want %d", len(got), got[0], securityLogLines)
	}
	if got := ev.Count(SecurityOriginBlocked); got != 150+1+securityLogLines+5 {
		t.Errorf("Count = %d, every event counts", got)
	}

	// A minute on, the first address's next event reports the 140 it did
	// not log, then logs; the sweep reports the overflow budget's five.
	now = now.Add(securityLogWindow)
	record("192.0.2.1", 1)
	got := lines()
	if len(got) != 2 || got[0]["msg"] != "security events suppressed" || got[0]["suppressed"] != float64(140) ||
		got[0]["client_ip"] != "192.0.2.1" || got[1]["msg"] != "security event" {
		t.Fatalf("after the window: %v", got)
	}
	record("192.0.2.4", 1)
	got = lines()
	if len(got) != 2 || got[0]["suppressed"] != float64(5) || got[0]["client_ip"] != logOverflowAddr || got[1]["client_ip"] != "192.0.2.4" {
		t.Fatalf("sweep of ended windows: %v", got)
	}
}

func TestForeignOriginFloodLogIsBounded(t *testing.T) {
	is := newIngestServer(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true})
	origin := "https://evil.example/" + strings.Repeat("A", 96<<10)
	before := len(is.logs.String())
	for range 150 {
		if w := is.do("GET", "/api/v1/labels", "", "Origin", origin); w.Code != http.StatusForbidden && w.Code != http.StatusTooManyRequests {
			t.Fatalf("foreign origin: %d", w.Code)
		}
	}
	logged := is.logs.String()[before:]
	// Besides one access line a request, which quotes no header, the
	// refusals log securityLogLines lines of their address, each short.
	for _, l := range strings.Split(strings.TrimSpace(logged), "\n") {
		if len(l) > 1<<10 {
			t.Fatalf("a %d-byte log line: %.300s", len(l), l)
		}
	}
	if n := strings.Count(logged, `"msg":"security event"`); n != securityLogLines {
		t.Errorf("150 refusals from one address logged %d security lines, want %d", n, securityLogLines)
	}
	if !strings.Contains(logged, "[truncated, 98325 bytes]") {
		t.Errorf("the logged origin is not marked as truncated:\n%.2000s", logged)
	}
	m := is.metrics(t)
	if !strings.Contains(m, `security_events_total{kind="origin_blocked"} 150`) {
		t.Errorf("every refusal counts:\n%s", grepLines(m, "security_events"))
	}
}
