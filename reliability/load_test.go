//go:build reliability

package reliability

import (
	"context"
	"sync"
	"testing"
)

// TestSustainedLoad sends 10,000 beacons a second for a minute and, at the
// same time, batches of request events, and requires every accepted item
// to be stored; it reports throughput, latency and the server's peak RSS.
func TestSustainedLoad(t *testing.T) {
	s := newSite(t, t.TempDir())
	srv := s.start(t)
	runs := []struct {
		name string
		args []string
	}{
		{"beacons", []string{"-kind", "beacons", "-rate", "10000", "-duration", "60s"}},
		{"requests", []string{"-kind", "requests", "-rate", "20", "-batch", "100", "-duration", "60s"}},
	}
	reports := make([]*loadReport, len(runs))
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Go(func() {
			rep, progress, err := s.load(context.Background(), srv, r.args...)
			if err != nil {
				t.Errorf("%s load: %v\n%s", r.name, err, progress)
			}
			reports[i] = rep
		})
	}
	wg.Wait()
	for i, r := range reports {
		if r == nil {
			continue
		}
		lost := int64(-1)
		if r.Stored != nil {
			lost = r.AcceptedItems - *r.Stored
		}
		t.Logf("%s: sent %d, accepted %d (%.0f/s), rejected %d %v, latency ms p50 %.2f p95 %.2f p99 %.2f max %.2f, accepted items %d, lost %d",
			runs[i].name, r.Sent, r.Accepted, float64(r.Accepted)/r.Seconds, r.Rejected, r.ByStatus,
			r.LatencyMs["p50"], r.LatencyMs["p95"], r.LatencyMs["p99"], r.LatencyMs["max"], r.AcceptedItems, lost)
		if r.Rejected != 0 || r.Stored == nil || lost != 0 {
			t.Errorf("%s: %d rejected (%v), %d of the accepted items lost", runs[i].name, r.Rejected, r.Errors, lost)
		}
	}
	rss := srv.peakRSS(t)
	t.Logf("server peak RSS %.0f MiB", float64(rss)/(1<<20))
	if rss > 512<<20 {
		t.Errorf("peak RSS %d MiB, want at most 512 MiB", rss>>20)
	}
}
