package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// BenchmarkRateLimit is one request through the limiter, per kind of
// principal, with budgets too large to be reached.
func BenchmarkRateLimit(b *testing.B) {
	const huge = 1 << 40
	rl := newTestLimiter(b, RateLimitOptions{APIPerMinute: huge, AuthPerMinute: huge, IngestPerMinute: huge, UserPerMinute: huge, IngestTokenPerMinute: huge})
	e := limitedEngine(b, rl, nil)
	for _, bc := range []struct {
		name, method, path string
		header             []string
	}{
		{"anonymous", http.MethodGet, apiPath, nil},
		{"login", http.MethodPost, loginPath, nil},
		{"user", http.MethodGet, apiPath, as("user:ana")},
		{"read_token", http.MethodGet, apiPath, as("token:grafana")},
		{"ingest_token", http.MethodPost, beaconPath, as("token:pipeline")},
		{"beacon", http.MethodPost, beaconPath, nil},
		{"bad_credentials", http.MethodGet, apiPath, []string{"Authorization", "Bearer atz_guess"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest(bc.method, bc.path, nil)
			r.RemoteAddr = ipA
			for i := 0; i+1 < len(bc.header); i += 2 {
				r.Header.Set(bc.header[i], bc.header[i+1])
			}
			b.ReportAllocs()
			for b.Loop() {
				e.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}

// BenchmarkMemoryRateStoreNewKey adds a counter a key: its B/op is what a
// live counter costs, the figure behind MaxCounters' memory bound.
func BenchmarkMemoryRateStoreNewKey(b *testing.B) {
	keys := make([]string, 1<<20)
	for i := range keys {
		keys[i] = fmt.Sprintf("api:ip:2001:db8:%x:%x::", i>>16, i&0xffff)
	}
	s := newMemoryRateStore("bench", time.Minute, int64(len(keys)), slog.New(slog.DiscardHandler))
	rate := limiter.Rate{Period: time.Minute, Limit: 100}
	ctx := b.Context()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, keys[i%len(keys)], rate); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
