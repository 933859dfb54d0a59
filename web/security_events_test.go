package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
