package web

import (
	"errors"
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

func TestProductionHidesInternals(t *testing.T) {
	for _, dev := range []bool{true, false} {
		is := newIngestServer(t, Config{Development: dev})
		is.s.engine.GET("/boom", func(c *gin.Context) {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, errors.New("disk /var/lib/atroz full"))
		})
		w := is.do("GET", "/boom", "", "X-Request-ID", "req-42")
		leaked := strings.Contains(w.Body.String(), "/var/lib/atroz")
		if w.Code != 500 || leaked == !dev || (!dev && !strings.Contains(w.Body.String(), "req-42")) {
			t.Fatalf("development %v: %s", dev, w.Body)
		}
		if !dev && !strings.Contains(is.logs.String(), `"error":"disk /var/lib/atroz full"`) {
			t.Fatalf("the detail is not logged: %s", is.logs)
		}
	}
}
