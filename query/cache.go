package query

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
)

// cacheTTL bounds how long a cached result is served: data can still
// arrive for the past (a push with old timestamps, a new series), and a
// minute is as stale as a chart may be.
const cacheTTL = time.Minute

// resultCache keeps range-query results by query, start, end and step, up
// to a byte budget, evicting the least recently used.
type resultCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	lru   list.List // of *cacheEntry, most recent at the front
	items map[cacheKey]*list.Element
}

type cacheKey struct {
	query            string
	start, end, step int64
	res              Resolution
}

type cacheEntry struct {
	key      cacheKey
	m        promql.Matrix
	warnings annotations.Annotations
	size     int64
	expires  time.Time
}

func newResultCache(max int64) *resultCache {
	return &resultCache{max: max, items: map[cacheKey]*list.Element{}}
}

func (c *resultCache) get(k cacheKey, now time.Time) (promql.Matrix, annotations.Annotations, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, nil, false
	}
	e := el.Value.(*cacheEntry)
	if now.After(e.expires) {
		c.remove(el)
		return nil, nil, false
	}
	c.lru.MoveToFront(el)
	return e.m, e.warnings, true
}

func (c *resultCache) put(k cacheKey, m promql.Matrix, warnings annotations.Annotations, now time.Time) {
	size := matrixSize(m)
	if size > c.max/4 { // one result may not push out most of the others
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	c.items[k] = c.lru.PushFront(&cacheEntry{key: k, m: m, warnings: warnings, size: size, expires: now.Add(cacheTTL)})
	c.size += size
	for c.size > c.max {
		c.remove(c.lru.Back())
	}
}

func (c *resultCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.items, e.key)
	c.size -= e.size
}

// matrixSize estimates a result's memory: points, labels and headers.
func matrixSize(m promql.Matrix) int64 {
	n := int64(64)
	for _, s := range m {
		n += 64 + int64(len(s.Floats))*16 + int64(len(s.Metric.String()))
	}
	return n
}

// cachedRange serves the settled part of the range, every step older than
// one step before now, from the cache, and evaluates the rest fresh, so the
// newest points are never stale. canCache is cacheableExpr of the query;
// the resolution is part of the key, as are the warnings of the answer.
func (e *Engine) cachedRange(ctx context.Context, qs string, canCache bool, start, end time.Time, step time.Duration, res Resolution) (promql.Matrix, annotations.Annotations, error) {
	settled := e.settledEnd(start, end, step)
	if e.opts.CacheBytes < 0 || settled.Before(start) || !canCache {
		return e.evalRange(ctx, qs, start, end, step, res)
	}
	now := e.opts.Now()
	key := cacheKey{qs, start.UnixMilli(), settled.UnixMilli(), step.Milliseconds(), res}
	old, warnings, hit := e.cache.get(key, now)
	e.opts.CacheResult(hit)
	if !hit {
		var err error
		if old, warnings, err = e.evalRange(ctx, qs, start, settled, step, res); err != nil {
			return nil, warnings, err
		}
		e.cache.put(key, old, warnings, now)
	}
	if !settled.Before(end) {
		return old, warnings, nil
	}
	fresh, w, err := e.evalRange(ctx, qs, settled.Add(step), end, step, res)
	if err != nil {
		return nil, w, err
	}
	var all annotations.Annotations // a fresh map: the cached warnings are shared
	all.Merge(warnings)
	return mergeMatrices(old, fresh), all.Merge(w), nil
}

// settledEnd is the last step of the range at least one step before now.
func (e *Engine) settledEnd(start, end time.Time, step time.Duration) time.Time {
	limit := e.opts.Now().Add(-step)
	if !end.After(limit) {
		return end
	}
	if limit.Before(start) {
		return start.Add(-step)
	}
	return start.Add(limit.Sub(start) / step * step)
}

// cacheable reports whether splitting the range cannot change the result:
// not when the query refers to its own start or end with @ start() or @ end().
func cacheable(p parser.Parser, qs string) bool {
	expr, err := p.ParseExpr(qs)
	return err == nil && cacheableExpr(expr)
}

// cacheableExpr is cacheable for a parsed expression.
func cacheableExpr(expr parser.Expr) bool {
	ok := true
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			ok = ok && n.StartOrEnd == 0
		case *parser.SubqueryExpr:
			ok = ok && n.StartOrEnd == 0
		}
		return nil
	})
	return ok
}

// mergeMatrices appends b's points to a's series with the same labels; both
// are sorted by labels, as the engine returns them. The cached a is not modified.
func mergeMatrices(a, b promql.Matrix) promql.Matrix {
	out := make(promql.Matrix, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		c := 0
		switch {
		case i >= len(a):
			c = 1
		case j >= len(b):
			c = -1
		default:
			c = labels.Compare(a[i].Metric, b[j].Metric)
		}
		switch {
		case c < 0:
			out = append(out, a[i])
			i++
		case c > 0:
			out = append(out, b[j])
			j++
		default:
			s := a[i]
			s.Floats = append(s.Floats[:len(s.Floats):len(s.Floats)], b[j].Floats...)
			out = append(out, s)
			i, j = i+1, j+1
		}
	}
	return out
}
