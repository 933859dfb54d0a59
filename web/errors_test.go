package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestAbortWithError(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	f := func(code int, typ ErrorType, msg, want string) {
		t.Helper()
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		abortWithError(c, code, typ, errors.New(msg))
		if w.Code != code {
			t.Errorf("status = %d, want %d", w.Code, code)
		}
		if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
			t.Errorf("Content-Type = %q", got)
		}
		if got := w.Body.String(); got != want {
			t.Errorf("body = %s, want %s", got, want)
		}
		if !c.IsAborted() {
			t.Error("handler chain not aborted")
		}
	}
	f(http.StatusBadRequest, ErrorBadData, "fps must be between 0 and 1000, got -3",
		`{"status":"error","errorType":"bad_data","error":"fps must be between 0 and 1000, got -3"}`)
	f(http.StatusServiceUnavailable, ErrorUnavailable, `store "closed"`,
		`{"status":"error","errorType":"unavailable","error":"store \"closed\""}`)
}

func TestNoRoute(t *testing.T) {
	s, _ := newTestServer(t)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", w.Code)
	}
	want := `{"status":"error","errorType":"not_found","error":"no route for GET /nope"}`
	if got := w.Body.String(); got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}
