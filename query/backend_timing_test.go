package query

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/promql"
)

// backendRoutes and backendSpan are the data BenchmarkBackend loads:
// a request counter per route, scraped every 15 s.
const (
	backendRoutes = 50
	backendSpan   = 2 * time.Hour
)

// BenchmarkBackend answers the same queries over the same samples four
// ways: AtroZ over its own store (store), AtroZ forwarding to
// VictoriaMetrics (forward, QUERY_BACKEND_MODE=forward), AtroZ evaluating
// PromQL over VictoriaMetrics' raw samples (evaluate, the default), and
// VictoriaMetrics itself asked over HTTP (vm, the JSON read but not
// decoded). Sub-benchmarks pair by query for benchstat -col /via; the
// engines' result cache and VictoriaMetrics' are off, so each run reads
// the data.
func BenchmarkBackend(b *testing.B) {
	vm := startVictoriaMetrics(b)
	db := openStore(b, time.Time{})
	end := time.Now().Truncate(time.Minute)
	loadBackend(b, db, vm, end)
	be, err := NewBackend(BackendConfig{URL: vm})
	if err != nil {
		b.Fatal(err)
	}
	empty := openStore(b, time.Time{})
	engines := []struct {
		name string
		e    *Engine
	}{
		{"store", New(db, &Options{CacheBytes: -1})},
		{"forward", New(empty, &Options{Backend: be, CacheBytes: -1})},
		{"evaluate", New(empty, &Options{Backend: be, BackendRead: true, CacheBytes: -1})},
	}
	ctx := context.Background()
	extserver.Eventually(b, 10*time.Second, "VictoriaMetrics to serve the import", func() bool {
		v, _, err := engines[1].e.Instant(ctx, `count(http_requests_total)`, end)
		vec, _ := v.(promql.Vector)
		return err == nil && len(vec) == 1 && vec[0].F == backendRoutes
	})
	const qs = `sum by (route) (rate(http_requests_total[5m]))`
	start, step := end.Add(-backendSpan+10*time.Minute), 15*time.Second
	for _, kind := range []string{"instant", "range"} {
		b.Run("q=sum_rate_"+kind, func(b *testing.B) {
			for _, en := range engines {
				b.Run("via="+en.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						var err error
						if kind == "instant" {
							_, _, err = en.e.Instant(ctx, qs, end)
						} else {
							_, _, err = en.e.Range(ctx, qs, start, end, step)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			b.Run("via=vm", func(b *testing.B) {
				u := vm + "/api/v1/query?" + url.Values{"query": {qs}, "time": {unix(end)}}.Encode()
				if kind == "range" {
					u = vm + "/api/v1/query_range?" + url.Values{"query": {qs}, "start": {unix(start)}, "end": {unix(end)}, "step": {"15"}}.Encode()
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := getBody(u); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// loadBackend writes backendRoutes counters over backendSpan up to end to
// db and, in Prometheus' text format, to VictoriaMetrics at vm.
func loadBackend(b *testing.B, db *store.DB, vm string, end time.Time) {
	var text strings.Builder
	for ts := end.Add(-backendSpan); !ts.After(end); ts = ts.Add(15 * time.Second) {
		for r := range backendRoutes {
			route := fmt.Sprintf("/r%d", r)
			v := float64(ts.Sub(end.Add(-backendSpan))/time.Second) * float64(r+1) / 10
			if err := db.Append(store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "route", Value: route}}, ts.UnixMilli(), v); err != nil {
				b.Fatal(err)
			}
			fmt.Fprintf(&text, "http_requests_total{route=%q} %g %d\n", route, v, ts.UnixMilli())
		}
	}
	resp, err := http.Post(vm+"/api/v1/import/prometheus", "text/plain", strings.NewReader(text.String()))
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b.Fatalf("import into VictoriaMetrics: %s", resp.Status)
	}
	if resp, err := http.Get(vm + "/internal/force_flush"); err == nil {
		_ = resp.Body.Close()
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// getBody reads the whole answer to GET u, which must be 200.
func getBody(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}
