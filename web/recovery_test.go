package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestRecovery(t *testing.T) {
	s, logs := newTestServer(t)
	s.engine.GET("/boom", func(*gin.Context) { panic("kaboom") })
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/boom", nil))
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	want := `{"status":"error","errorType":"internal","error":"internal server error"}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	for _, s := range []string{`"event_type":"panic"`, `"panic":"kaboom"`, `"route":"/boom"`, `"level":"ERROR"`} {
		if !strings.Contains(logs.String(), s) {
			t.Errorf("log lacks %s: %s", s, logs)
		}
	}
}
