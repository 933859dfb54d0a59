package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"atroz/auth"
	"atroz/collector"
)

// TestCancelledQueryCountsAs499 has a client close a query before its
// answer, as a browser does when it navigates away: the engine gives up
// and the handler answers 503, which reaches no one. The request counts
// as code 499, outside the 5xx the error-rate alert watches.
func TestCancelledQueryCountsAs499(t *testing.T) {
	s, _ := newTestServer(t)
	token := login(t, s, "vera", auth.RoleViewer)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the connection closed before the engine ran
	req := httptest.NewRequest("GET", "/api/v1/query?query=up", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code < 500 {
		t.Fatalf("the cancelled query was answered %d %s; the test needs the engine to give up", w.Code, w.Body)
	}
	text := exposedText(s.col)
	want := `http_requests_total{service="atroz",route="/api/v1/query",method="GET",code="499"} 1`
	if !strings.Contains(text, want) {
		t.Errorf("exposition lacks %s", want)
	}
	if strings.Contains(text, `route="/api/v1/query",method="GET",code="5`) {
		t.Errorf("the cancelled query counts as a 5xx:\n%s", grepLines(text, `route="/api/v1/query"`))
	}
}

// exposedText returns col's exposition.
func exposedText(col *collector.Collector) string {
	var b strings.Builder
	col.WritePrometheus(&b)
	return b.String()
}
