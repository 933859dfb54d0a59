package store

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// rawIterator walks a RawSeries' chunks with chunkenc's XOR iterator,
// keeping each chunk's samples within its bounds. It satisfies
// chunkenc.Iterator.
type rawIterator struct {
	chunks  []rawChunk
	next    int // the chunk to open after the current one
	xor     chunkenc.XORChunk
	dec     chunkenc.Iterator // chunkenc's XOR iterator, reused chunk after chunk
	inChunk bool              // dec is over a chunk with samples left
	lo, hi  int64             // the current chunk's bounds

	t, last int64 // the current sample's time; the last time decoded
	v       float64
	at      bool // t and v hold a sample
	err     error
}

func (it *rawIterator) reset(chunks []rawChunk) {
	it.chunks, it.next = chunks, 0
	it.t, it.last, it.at, it.inChunk, it.err = minInt64, minInt64, false, false, nil
}

// Next advances to the next sample.
func (it *rawIterator) Next() chunkenc.ValueType {
	for it.err == nil {
		if !it.inChunk && !it.open() {
			break
		}
		if it.dec.Next() != chunkenc.ValFloat {
			if err := it.dec.Err(); err != nil {
				it.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			it.inChunk = false
			continue
		}
		t, v := it.dec.At()
		switch {
		case t <= it.last:
			it.err = fmt.Errorf("%w: chunk timestamps not increasing", ErrCorrupt)
		case t > it.hi:
			it.inChunk = false
		case t >= it.lo:
			it.t, it.v, it.last, it.at = t, v, t, true
			return chunkenc.ValFloat
		default:
			it.last = t
		}
	}
	it.at = false
	return chunkenc.ValNone
}

// open moves to the next chunk; false when there is none.
func (it *rawIterator) open() bool {
	if it.next >= len(it.chunks) {
		return false
	}
	c := &it.chunks[it.next]
	it.next++
	it.xor.Reset(c.data)
	it.dec = it.xor.Iterator(it.dec)
	it.lo, it.hi, it.inChunk = c.lo, c.hi, true
	return true
}

// Seek advances to the first sample at or after t, skipping chunks that
// end before t without decoding them.
func (it *rawIterator) Seek(t int64) chunkenc.ValueType {
	if it.err != nil {
		return chunkenc.ValNone
	}
	if it.at && it.t >= t {
		return chunkenc.ValFloat
	}
	if !it.inChunk || it.hi < t {
		for it.next < len(it.chunks) && it.chunks[it.next].hi < t {
			it.next++
		}
		it.inChunk = false
	}
	for {
		if vt := it.Next(); vt == chunkenc.ValNone || it.t >= t {
			return vt
		}
	}
}

// At returns the current sample.
func (it *rawIterator) At() (int64, float64) { return it.t, it.v }

// AtT returns the current sample's time.
func (it *rawIterator) AtT() int64 { return it.t }

// AtST returns 0: the store keeps no start times.
func (it *rawIterator) AtST() int64 { return 0 }

// AtHistogram returns nothing: the store holds floats only.
func (it *rawIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.t, nil
}

// AtFloatHistogram returns nothing: the store holds floats only.
func (it *rawIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.t, nil
}

// Err returns the error that ended the iteration, wrapping ErrCorrupt.
func (it *rawIterator) Err() error { return it.err }
