package collector

import (
	"sync"

	"github.com/VictoriaMetrics/metrics"
)

// cacheMetrics counts lookups per cache and result.
type cacheMetrics struct {
	set *metrics.Set

	mu       sync.RWMutex
	counters map[cacheKey]*metrics.Counter
}

type cacheKey struct {
	cache string
	hit   bool
}

func newCacheMetrics(set *metrics.Set) *cacheMetrics {
	return &cacheMetrics{set: set, counters: map[cacheKey]*metrics.Counter{}}
}

func (m *cacheMetrics) get(k cacheKey) *metrics.Counter {
	m.mu.RLock()
	c := m.counters[k]
	m.mu.RUnlock()
	if c != nil {
		return c
	}
	result := "miss"
	if k.hit {
		result = "hit"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c = m.counters[k]; c == nil {
		c = m.set.GetOrCreateCounter(name("cache_requests_total", "cache", k.cache, "result", result))
		m.counters[k] = c
	}
	return c
}

// CacheResult counts one lookup in the named cache as a hit or a miss, in
// cache_requests_total{cache,result}. Cache names are the program's own
// (such as "query"), never client input.
func (c *Collector) CacheResult(cache string, hit bool) {
	c.cache.get(cacheKey{cache, hit}).Inc()
}
