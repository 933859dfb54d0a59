package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func BenchmarkHealth(b *testing.B) {
	s, _ := newTestServer(b)
	req := httptest.NewRequest(http.MethodGet, "/health", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
