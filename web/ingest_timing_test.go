package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const benchBeacon = `{"service":"shop","page":"/checkout/42","fps":[58.9,60,41.2,60,60,59.5,60,60,12.5,60],"long_frames":2,"duration_ms":10000}`

// BenchmarkBeaconHandler serves beacons in-process through the whole
// middleware chain: request ID, access log (JSON, discarded), metrics,
// origin check, decoding and recording.
func BenchmarkBeaconHandler(b *testing.B) {
	is := newIngestServer(b, Config{AllowedOrigins: []string{"https://shop.example"}, RateLimits: RateLimitOptions{IngestPerMinute: 1 << 40}})
	is.s.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	h := is.s.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("POST", "/api/v1/beacons", strings.NewReader(benchBeacon))
		req.Header.Set("Origin", "https://shop.example")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusNoContent {
			b.Fatalf("beacon: %d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "beacons/s")
}

// BenchmarkBeaconsLoopback posts beacons to a real server over loopback
// from 32 concurrent keep-alive clients, then checks that every accepted
// beacon was counted and stored: sent = accepted = stored.
func BenchmarkBeaconsLoopback(b *testing.B) {
	ls := startLive(b, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	var sent, accepted atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			sent.Add(1)
			if postBeacon(client, ls.url) == http.StatusNoContent {
				accepted.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(accepted.Load())/b.Elapsed().Seconds(), "beacons/s")
	if err := ls.col.Scrape(); err != nil {
		b.Fatal(err)
	}
	var stored float64
	got, err := ls.db.Select(storeQuery("frontend_beacons_total"))
	if err == nil && len(got) == 1 {
		stored = got[0].Samples[len(got[0].Samples)-1].V
	}
	if accepted.Load() != sent.Load() || int64(stored) != accepted.Load() {
		b.Fatalf("sent %d, accepted %d, stored %g: beacons lost", sent.Load(), accepted.Load(), stored)
	}
}

func postBeacon(c *http.Client, url string) int {
	req, _ := http.NewRequest("POST", url+"/api/v1/beacons", strings.NewReader(benchBeacon))
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Content-Type", "text/plain")
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
