package store

import (
	"cmp"
	"container/heap"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// Stat is one entry of a cardinality ranking: a metric name, label name or
// name=value pair, and its count.
type Stat struct {
	Name  string
	Count uint64
}

// Cardinality is what Prometheus' /api/v1/status/tsdb reports, computed from
// the series index and the series' memory. The rankings hold at most the
// limit Cardinality was asked for, largest first, ties by name.
type Cardinality struct {
	// NumSeries is the number of series in the index.
	NumSeries uint64
	// NumLabelPairs is the number of distinct label name=value pairs.
	NumLabelPairs int
	// ChunkCount is the number of chunks in memory, open ones included.
	ChunkCount int64
	// MinTime and MaxTime bound the samples in memory (unix ms);
	// math.MaxInt64 and math.MinInt64 when it holds none, as Prometheus'
	// empty head reports.
	MinTime, MaxTime int64
	// SeriesByMetric ranks metric names by their number of series.
	SeriesByMetric []Stat
	// ValuesByLabel ranks label names by their number of values.
	ValuesByLabel []Stat
	// BytesByLabel ranks label names by the bytes their names and values
	// take over all series (labels.SizeOfLabels, as Prometheus counts).
	BytesByLabel []Stat
	// SeriesByPair ranks name=value pairs by their number of series.
	SeriesByPair []Stat
}

// Cardinality returns the index's statistics with rankings of at most
// limit entries (limit < 1 means 1).
func (db *DB) Cardinality(limit int) Cardinality {
	limit = max(limit, 1)
	c := Cardinality{NumSeries: uint64(max(db.idx.count.Load(), 0))} // #nosec G115 -- clamped at zero
	c.ChunkCount, c.MinTime, c.MaxTime = db.headBounds()
	metrics, values, bytes, pairs := newTopK(limit), newTopK(limit), newTopK(limit), newTopK(limit)
	db.idx.mu.RLock()
	for name, vals := range db.idx.postings {
		values.push(Stat{name, uint64(len(vals))})
		c.NumLabelPairs += len(vals)
		var size uint64
		for v, series := range vals {
			n := uint64(len(series))
			if name == MetricName {
				metrics.push(Stat{v, n})
			}
			if pairs.mayTake(n) { // the pair's name is built only when it may rank
				pairs.push(Stat{name + "=" + v, n})
			}
			size += labels.SizeOfLabels(name, v, n)
		}
		bytes.push(Stat{name, size})
	}
	db.idx.mu.RUnlock()
	c.SeriesByMetric, c.ValuesByLabel, c.BytesByLabel, c.SeriesByPair = metrics.sorted(), values.sorted(), bytes.sorted(), pairs.sorted()
	return c
}

// headBounds returns the number of chunks in memory and the times of their
// oldest and newest samples.
func (db *DB) headBounds() (chunks, mint, maxt int64) {
	mint, maxt = math.MaxInt64, math.MinInt64
	for _, s := range db.idx.appendAll(nil) {
		s.mu.Lock()
		for _, ch := range s.closed {
			chunks++
			mint, maxt = min(mint, ch.minT), max(maxt, ch.maxT)
		}
		if s.headN > 0 {
			chunks++
			mint, maxt = min(mint, s.headMinT), max(maxt, s.lastT)
		}
		s.mu.Unlock()
	}
	return chunks, mint, maxt
}

// statOrder ranks larger counts first, then names in order.
func statOrder(a, b Stat) int {
	if c := cmp.Compare(b.Count, a.Count); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// topK keeps the k highest-ranked stats pushed to it: a heap whose root is
// the lowest kept, so each push costs O(log k) and memory stays at k.
type topK struct {
	k     int
	stats []Stat
}

func newTopK(k int) *topK { return &topK{k: k} }

func (t *topK) Len() int           { return len(t.stats) }
func (t *topK) Less(i, j int) bool { return statOrder(t.stats[i], t.stats[j]) > 0 }
func (t *topK) Swap(i, j int)      { t.stats[i], t.stats[j] = t.stats[j], t.stats[i] }
func (t *topK) Push(x any)         { t.stats = append(t.stats, x.(Stat)) }
func (t *topK) Pop() any {
	s := t.stats[len(t.stats)-1]
	t.stats = t.stats[:len(t.stats)-1]
	return s
}

// push offers s; it is kept when fewer than k are, or when it ranks above
// the lowest kept, which it then replaces.
func (t *topK) push(s Stat) {
	switch {
	case len(t.stats) < t.k:
		heap.Push(t, s)
	case statOrder(s, t.stats[0]) < 0:
		t.stats[0] = s
		heap.Fix(t, 0)
	}
}

// mayTake reports whether a stat of count n may be kept by push.
func (t *topK) mayTake(n uint64) bool {
	return len(t.stats) < t.k || n >= t.stats[0].Count
}

// sorted returns the kept stats, highest first.
func (t *topK) sorted() []Stat {
	out := slices.Clone(t.stats)
	slices.SortFunc(out, statOrder)
	return out
}
