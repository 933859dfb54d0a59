package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
)

// TestRetireSource lists the data sources and retires one: an admin's
// DELETE forgets it (204) and the list no longer holds it; a second is a
// 404 naming it; a viewer's is refused 403 and a cross-site one 403,
// changing nothing.
func TestRetireSource(t *testing.T) {
	s, logs := newTestServer(t)
	admin := login(t, s, "ana", auth.RoleAdmin)
	viewer := login(t, s, "vera", auth.RoleViewer)
	now := time.Now()
	for _, svc := range []string{"billing", "team/shop"} {
		if err := s.col.RecordRequests([]collector.RequestEvent{{Service: svc, Route: "/x", Method: "GET", Status: 200, Timestamp: now.UnixMilli()}}); err != nil {
			t.Fatal(err)
		}
	}
	do := func(method, path, token string, header ...string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, req)
		return w
	}
	kept := func() map[string]bool {
		t.Helper()
		w := do("GET", "/api/v1/sources", viewer)
		var body struct{ Data []collector.SourceInfo }
		if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		out := map[string]bool{}
		for _, src := range body.Data {
			out[src.Name] = true
		}
		return out
	}
	if k := kept(); !k["requests:billing"] || !k["requests:team/shop"] {
		t.Fatalf("sources listed: %v", k)
	}
	f := func(method, path, token string, want int, header ...string) {
		t.Helper()
		if w := do(method, path, token, header...); w.Code != want {
			t.Errorf("%s %s: %d %s, want %d", method, path, w.Code, w.Body, want)
		}
	}
	f("DELETE", "/api/v1/admin/sources/requests:billing", viewer, http.StatusForbidden)
	f("DELETE", "/api/v1/admin/sources/requests:billing", admin, http.StatusForbidden, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example")
	if !kept()["requests:billing"] {
		t.Fatal("a refused retirement changed the sources")
	}
	f("DELETE", "/api/v1/admin/sources/requests:billing", admin, http.StatusNoContent)
	f("DELETE", "/api/v1/admin/sources/requests:team%2Fshop", admin, http.StatusNoContent)
	f("DELETE", "/api/v1/admin/sources/requests:billing", admin, http.StatusNotFound)
	f("DELETE", "/api/v1/admin/sources/", admin, http.StatusBadRequest)
	if k := kept(); k["requests:billing"] || k["requests:team/shop"] {
		t.Fatalf("retired sources still listed: %v", k)
	}
	for _, want := range []string{`"msg":"source retired"`, `"source":"requests:billing"`, `"user":"ana"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %s", want)
		}
	}
}
