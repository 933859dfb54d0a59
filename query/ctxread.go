package query

import (
	"context"

	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// The engine checks a query's context between series and between steps,
// but a range function evaluates all the steps of one series at once,
// reading its samples as it goes: a long window over a dense series ran
// for many times its timeout. The read path checks the context itself,
// every ctxCheckEvery samples, and ends the series with its error.

// ctxCheckEvery is how many samples an iterator decodes between looks at
// its context: a look takes a lock, decoding a sample a few nanoseconds.
const ctxCheckEvery = 256

// ctxSeriesSet ends a read when its context is done.
type ctxSeriesSet struct {
	storage.SeriesSet
	ctx context.Context
	err error
}

// withContext returns ss checking ctx between series and, through the
// series' iterators, while they decode samples.
func withContext(ctx context.Context, ss storage.SeriesSet) storage.SeriesSet {
	if ctx.Done() == nil { // a context that never ends
		return ss
	}
	return &ctxSeriesSet{SeriesSet: ss, ctx: ctx}
}

func (s *ctxSeriesSet) Next() bool {
	if s.err = s.ctx.Err(); s.err != nil {
		return false
	}
	return s.SeriesSet.Next()
}

func (s *ctxSeriesSet) At() storage.Series { return &ctxSeries{Series: s.SeriesSet.At(), ctx: s.ctx} }

func (s *ctxSeriesSet) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.SeriesSet.Err()
}

func (s *ctxSeriesSet) Warnings() annotations.Annotations { return s.SeriesSet.Warnings() }

// ctxSeries is a series whose iterator checks the read's context.
type ctxSeries struct {
	storage.Series
	ctx context.Context
}

// Iterator reuses it, and the iterator it wraps, when it is one of these.
func (s *ctxSeries) Iterator(it chunkenc.Iterator) chunkenc.Iterator {
	ci, ok := it.(*ctxIterator)
	if !ok {
		ci = &ctxIterator{}
	}
	ci.Iterator = s.Series.Iterator(ci.Iterator)
	ci.ctx, ci.n, ci.err = s.ctx, 0, nil
	return ci
}

// ctxIterator stops, with its context's error, once the context is done.
// It looks as it steps with Next; Seek, which vet's stdmethods keeps from
// being redefined here, passes through, and the Next after it looks.
type ctxIterator struct {
	chunkenc.Iterator
	ctx context.Context
	n   int
	err error
}

// done reports whether the context has ended, looking every ctxCheckEvery calls.
func (it *ctxIterator) done() bool {
	if it.err != nil {
		return true
	}
	if it.n++; it.n%ctxCheckEvery != 0 {
		return false
	}
	it.err = it.ctx.Err()
	return it.err != nil
}

func (it *ctxIterator) Next() chunkenc.ValueType {
	if it.done() {
		return chunkenc.ValNone
	}
	return it.Iterator.Next()
}

func (it *ctxIterator) Err() error {
	if it.err != nil {
		return it.err
	}
	return it.Iterator.Err()
}
