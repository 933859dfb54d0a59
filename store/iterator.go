package store

import (
	"fmt"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// rawIterator walks a RawSeries' chunks with chunkenc's XOR iterator,
// and its blocks with a blockIterator, keeping each one's samples within
// its bounds. It satisfies chunkenc.Iterator.
type rawIterator struct {
	chunks  []rawChunk
	next    int // the chunk to open after the current one
	xor     chunkenc.XORChunk
	xorIt   chunkenc.Iterator // chunkenc's XOR iterator, reused chunk after chunk
	blk     blockIterator     // the block iterator, reused block after block
	dec     chunkenc.Iterator // the current one of the two
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
	if it.err != nil {
		return chunkenc.ValNone
	}
	vt := chunkenc.ValNone
	if it.inChunk {
		vt = it.dec.Next()
	}
	return it.settle(vt, minInt64)
}

// Seek advances to the first sample at or after t. It skips chunks that
// end before t without decoding them, and lets the XOR iterator skip
// samples within a chunk. Its signature is chunkenc.Iterator's, which go
// vet's stdmethods check takes for a wrong io.Seeker (make lint skips that
// one check for this package only).
func (it *rawIterator) Seek(t int64) chunkenc.ValueType {
	switch {
	case it.err != nil:
		return chunkenc.ValNone
	case it.at && it.t >= t:
		return chunkenc.ValFloat
	case it.inChunk && it.hi >= t:
		return it.settle(it.dec.Seek(t), t)
	}
	for it.next < len(it.chunks) && it.chunks[it.next].hi < t {
		it.next++
	}
	it.inChunk = false
	return it.settle(chunkenc.ValNone, t)
}

// settle takes vt, what the XOR iterator returned last, and moves on to
// the first sample within its chunk's bounds, opening the next chunks
// at target as each runs out.
func (it *rawIterator) settle(vt chunkenc.ValueType, target int64) chunkenc.ValueType {
	for {
		if vt == chunkenc.ValFloat {
			t, v := it.dec.At()
			switch {
			case t <= it.last:
				return it.fail(fmt.Errorf("%w: chunk timestamps not increasing", ErrCorrupt))
			case t > it.hi: // the rest of the chunk lies past its bounds
			case t >= it.lo:
				it.t, it.v, it.last, it.at = t, v, t, true
				return chunkenc.ValFloat
			default:
				it.last = t
				vt = it.dec.Next()
				continue
			}
		} else if it.inChunk {
			if err := it.dec.Err(); err != nil {
				return it.fail(fmt.Errorf("%w: %v", ErrCorrupt, err))
			}
		}
		if it.next >= len(it.chunks) {
			it.at, it.inChunk = false, false
			return chunkenc.ValNone
		}
		if vt = it.open(target); it.err != nil {
			return chunkenc.ValNone // a block that did not decode
		}
	}
}

// open starts the next chunk and returns what the XOR iterator found at
// target or the chunk's lower bound, whichever is later.
func (it *rawIterator) open(target int64) chunkenc.ValueType {
	c := &it.chunks[it.next]
	it.next++
	if isBlock(c.data) {
		cd, err := codec()
		if err == nil {
			err = it.blk.reset(cd, c.data)
		}
		if err != nil {
			return it.fail(err)
		}
		it.dec = &it.blk
	} else {
		it.xor.Reset(c.data)
		it.xorIt = it.xor.Iterator(it.xorIt)
		it.dec = it.xorIt
	}
	it.lo, it.hi, it.inChunk = c.lo, c.hi, true
	if from := max(c.lo, target); c.minT < from {
		return it.dec.Seek(from)
	}
	return it.dec.Next()
}

func (it *rawIterator) fail(err error) chunkenc.ValueType {
	it.err, it.at, it.inChunk = err, false, false
	return chunkenc.ValNone
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
