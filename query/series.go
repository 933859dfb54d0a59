package query

import (
	"atroz/store"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// seriesSet iterates a raw read's series, which the store hands out
// ready to be storage.Series: labels converted once per series and kept,
// samples decoded from their chunks as the engine iterates.
type seriesSet struct {
	series []store.RawSeries
	i      int
}

func newSeriesSet(series []store.RawSeries) *seriesSet { return &seriesSet{series: series, i: -1} }

func (s *seriesSet) Next() bool {
	s.i++
	return s.i < len(s.series)
}

func (s *seriesSet) At() storage.Series                { return &s.series[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// promLabels converts store labels, already sorted, to Prometheus labels.
func promLabels(ls store.Labels) labels.Labels { return ls.Prometheus() }

// series is a series of a rollup read, its samples already in memory.
type series struct {
	lset    labels.Labels
	samples samples
}

func (s *series) Labels() labels.Labels { return s.lset }

// Iterator walks the samples with Prometheus' own list iterator, reusing
// the one the engine hands back, as storage.ListSeries does.
func (s *series) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	if r, ok := it.(interface{ Reset(storage.Samples) }); ok {
		r.Reset(s.samples)
		return it
	}
	return storage.NewListSeriesIterator(s.samples)
}

// samples is a store series' samples as storage.Samples. Get hands out a
// one-pointer struct, which an interface holds without allocating.
type samples []store.Sample

func (s samples) Get(i int) chunks.Sample { return sampleRef{&s[i]} }
func (s samples) Len() int                { return len(s) }

// sampleRef is one float sample as chunks.Sample.
type sampleRef struct{ p *store.Sample }

func (s sampleRef) T() int64                      { return s.p.T }
func (s sampleRef) ST() int64                     { return 0 }
func (s sampleRef) F() float64                    { return s.p.V }
func (s sampleRef) H() *histogram.Histogram       { return nil }
func (s sampleRef) FH() *histogram.FloatHistogram { return nil }
func (s sampleRef) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sampleRef) Copy() chunks.Sample           { c := *s.p; return sampleRef{&c} }
