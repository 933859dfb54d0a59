package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"atroz/auth"
	"atroz/query"
)

// TestQueryLimits: over HTTP, the subquery of 86,400,000 points is a 400
// naming the points limit, refused having allocated next to nothing; a
// principal with MaxConcurrencyPerPrincipal queries in flight has one
// more answered 429 with Retry-After, naming it, while another principal
// is served, and is served again once one of its queries has ended.
func TestQueryLimits(t *testing.T) {
	s, _ := newTestServer(t)
	ann, bob := login(t, s, "ann", auth.RoleViewer), login(t, s, "bob", auth.RoleViewer)
	h := s.Handler()
	f := func(token, qs string, code int, want string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("GET", "/api/v1/query?"+url.Values{"query": {qs}}.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != code || !strings.Contains(w.Body.String(), want) {
			t.Fatalf("%s: %d %s, want %d with %q", qs, w.Code, w.Body, code, want)
		}
		return w
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	f(ann, `count_over_time(vector(1)[24h:1ms])`, http.StatusBadRequest, `"errorType":"bad_data","error":"bad query: subquery vector(1)[1d:1ms] would take 86400000 points per series, more than the maximum resolution of 11000 points per timeseries`)
	runtime.ReadMemStats(&ms)
	if d := ms.TotalAlloc - before; d > 8<<20 {
		t.Fatalf("refusing the subquery allocated %d bytes, want under 8 MiB", d)
	}

	var done []func()
	for range query.DefaultMaxConcurrencyPerPrincipal { // ann's queries in flight, all she may have
		end, err := s.query.Admit("user ann")
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, end)
	}
	w := f(ann, `vector(1)`, http.StatusTooManyRequests, `"errorType":"rate_limited","error":"too many queries in flight: user ann already has 32 queries running`)
	if w.Header().Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q, want 1", w.Header().Get("Retry-After"))
	}
	f(bob, `vector(1)`, http.StatusOK, `"resultType":"vector"`)
	done[0]()
	f(ann, `vector(1)`, http.StatusOK, `"resultType":"vector"`)
	for _, end := range done[1:] {
		end()
	}
}
