package collector

import (
	"math"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// freshness keeps data_last_sample_timestamp_seconds{source}: the newest
// data time per source, which never moves backwards.
type freshness struct {
	set *metrics.Set

	mu     sync.Mutex
	gauges map[string]*metrics.Gauge
}

func newFreshness(set *metrics.Set) *freshness {
	return &freshness{set: set, gauges: map[string]*metrics.Gauge{}}
}

// mark records that source has data from t, unless it has newer.
func (f *freshness) mark(source string, t time.Time) {
	v := float64(t.UnixMilli()) / 1000
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.gauges[source]
	if !ok {
		g = f.set.GetOrCreateGauge(name("data_last_sample_timestamp_seconds", "source", source), nil)
		f.gauges[source] = g
	}
	g.Set(math.Max(g.Get(), v))
}

// MarkFresh records that source (such as "import") has data from t.
func (c *Collector) MarkFresh(source string, t time.Time) {
	c.fresh.mark(source, t)
}
