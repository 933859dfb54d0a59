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
	sources *registry[string, *freshGauge]
}

// freshGauge is one source's gauge; its lock makes the max update atomic.
type freshGauge struct {
	mu sync.Mutex
	g  *metrics.Gauge
}

func newFreshness(set *metrics.Set) *freshness {
	return &freshness{sources: newRegistry(func(source string) *freshGauge {
		return &freshGauge{g: freshMetric(set, source)}
	})}
}

// freshMetric registers source's gauge in set.
func freshMetric(set *metrics.Set, source string) *metrics.Gauge {
	return set.GetOrCreateGauge(name("data_last_sample_timestamp_seconds", "source", source), nil)
}

// mark records that source has data from t, unless it has newer.
func (f *freshness) mark(source string, t time.Time) { f.sources.get(source).mark(t) }

// mark records data from t, unless the gauge holds newer.
func (g *freshGauge) mark(t time.Time) {
	v := float64(t.UnixMilli()) / 1000
	g.mu.Lock()
	defer g.mu.Unlock()
	g.g.Set(math.Max(g.g.Get(), v))
}

// MarkFresh records that source (such as "import") has data from t.
func (c *Collector) MarkFresh(source string, t time.Time) {
	c.fresh.mark(source, t)
}
