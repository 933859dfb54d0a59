package collector

import "github.com/VictoriaMetrics/metrics"

type cacheKey struct {
	cache string
	hit   bool
}

func newCacheMetrics(set *metrics.Set) *registry[cacheKey, *metrics.Counter] {
	return newRegistry(func(k cacheKey) *metrics.Counter {
		result := "miss"
		if k.hit {
			result = "hit"
		}
		return set.GetOrCreateCounter(name("cache_requests_total", "cache", k.cache, "result", result))
	})
}

// CacheResult counts one lookup in the named cache as a hit or a miss, in
// cache_requests_total{cache,result}. Cache names are the program's own
// (such as "query"), never client input.
func (c *Collector) CacheResult(cache string, hit bool) {
	c.cache.get(cacheKey{cache, hit}).Inc()
}
