package web

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"
)

// queryPaths are the query API routes the fuzzer sends parameters to.
var queryPaths = []string{"/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values", "/api/v1/metadata"}

// FuzzQueryParams sends arbitrary query strings to every query API route.
// Whatever the parameters, the answer is a success or a client error with
// the API's JSON shape: never a 500, never a panic.
func FuzzQueryParams(f *testing.F) {
	for _, seed := range []string{
		"query=up",
		"query=sum(rate(http_requests_total[5m]))&time=1700000000",
		"query=up&start=2024-01-01T00:00:00Z&end=2024-01-02T00:00:00Z&step=15s",
		"query=up&start=1&end=0&step=-1",
		"query=up&start=1&end=1e18&step=0.001",
		"match[]={job=~\".+\"}&start=1e300",
		"match[]=up{&limit=-1",
		"query=up&timeout=1ns",
		"query=%ff%fe&time=NaN",
		"query=histogram_quantile(0.9, up)&step=1y",
	} {
		for i := range queryPaths {
			f.Add(uint8(i), seed)
		}
	}
	db, err := store.Open(filepath.Join(f.TempDir(), "atroz.db"), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	seedSeries(f, db, time.Now())
	col := collector.New(db, &collector.Options{DataDir: f.TempDir()})
	s, err := New(Config{Development: true, Auth: testAuth, RateLimits: RateLimitOptions{APIPerMinute: 1 << 40}}, testDeps(f, db, col, nil), slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	token := login(f, s, "fuzz", auth.RoleViewer)
	f.Fuzz(func(t *testing.T, path uint8, query string) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			target := queryPaths[int(path)%len(queryPaths)]
			var req *http.Request
			if method == http.MethodGet {
				req = httptest.NewRequest(method, "/", nil)
				req.URL.Path, req.URL.RawQuery = target, query
			} else {
				req = httptest.NewRequest(method, target, strings.NewReader(query))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.Header.Set("Authorization", "Bearer "+token)
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, req)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable || !strings.HasPrefix(w.Body.String(), "{") {
				t.Fatalf("%s %s?%s = %d %s", method, target, query, w.Code, w.Body)
			}
		}
	})
}
