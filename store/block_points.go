package store

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A block of rollup points keeps their times once and each aggregate as a
// value column of its own, as a raw block keeps its values:
//
//	byte     blockPointsV1
//	uvarint  n, the number of points
//	zstd frame of:
//	  varint   t0, then t1-t0, then each delta of deltas
//	  six columns, last, min, max, sum, count, counter, each either
//	    byte k < its own index: the same values as column k, or
//	    byte colValues, uvarint length, then a value column as in a raw
//	    block (an XOR column runs to its end, so it needs the length)
//
// No column that can be derived is stored: the average is sum / count at
// read time, as it always was, and a column equal to one before it is a
// one-byte reference. The counter of a block without resets is its last
// column; the min and max of points that each hold one raw sample (the
// hour tier of a slow series, the minute tier of a 1-minute scrape) are
// their last; a counter's max is its last when it did not reset.
const (
	blockPointsV1 byte = 0xC2
	colValues     byte = 0xFF
)

// isPointsBlock reports whether a rollup payload is a block rather than
// the XOR-chunk form, whose first byte is its point count, at most 120.
func isPointsBlock(payload []byte) bool { return len(payload) > 0 && payload[0] == blockPointsV1 }

// EncodePoints appends the block of points to dst. Times must increase
// strictly; otherwise it returns ErrOutOfOrder.
func (c *blockCodec) EncodePoints(dst []byte, pts []Point) ([]byte, error) {
	if err := checkBlockTimes(len(pts), func(i int) int64 { return pts[i].T }, "point"); err != nil {
		return dst, err
	}
	s := c.scratch.Get().(*blockScratch)
	defer c.scratch.Put(s)
	s.pts = s.pts[:0]
	for _, p := range pts {
		s.pts = append(s.pts, Sample{T: p.T})
	}
	raw := appendTimes(s.raw[:0], s.pts)
	for a := Aggregate(0); a < numAggregates; a++ {
		if k, ok := sameColumn(pts, a); ok {
			raw = append(raw, byte(k))
			continue
		}
		for i, p := range pts {
			s.pts[i].V = p.Get(a)
		}
		s.colBuf = s.appendValues(s.colBuf[:0], s.pts)
		raw = binary.AppendUvarint(append(raw, colValues), uint64(len(s.colBuf)))
		raw = append(raw, s.colBuf...)
	}
	s.raw = raw
	return c.enc.EncodeAll(raw, appendBlockHeader(dst, blockPointsV1, len(pts))), nil
}

// sameColumn returns the first aggregate before a whose values equal a's,
// bit for bit, in every point.
func sameColumn(pts []Point, a Aggregate) (Aggregate, bool) {
	for k := Aggregate(0); k < a; k++ {
		same := true
		for _, p := range pts {
			if math.Float64bits(p.Get(k)) != math.Float64bits(p.Get(a)) {
				same = false
				break
			}
		}
		if same {
			return k, true
		}
	}
	return 0, false
}

// DecodePoints appends the points of a block to dst. Corrupt data returns
// ErrCorrupt, never a panic, and leaves dst as it was.
func (c *blockCodec) DecodePoints(dst []Point, block []byte) ([]Point, error) {
	if !isPointsBlock(block) {
		return dst, fmt.Errorf("%w: rollup block of %d bytes: unknown format", ErrCorrupt, len(block))
	}
	n, frame, err := blockHeader(block)
	if err != nil {
		return dst, err
	}
	raw, err := c.dec.DecodeAll(frame, nil)
	if err != nil {
		return dst, fmt.Errorf("%w: rollup block: %v", ErrCorrupt, err)
	}
	d := decoder{b: raw}
	if n > len(d.b) {
		return dst, fmt.Errorf("%w: rollup block of %d points in %d bytes", ErrCorrupt, n, len(raw))
	}
	col := make([]Sample, n)
	if err := decodeTimes(&d, col); err != nil {
		return dst, err
	}
	base := len(dst)
	for _, s := range col {
		dst = append(dst, Point{T: s.T})
	}
	out := dst[base:]
	for a := Aggregate(0); a < numAggregates; a++ {
		if err := decodeColumn(&d, out, col, a); err != nil {
			return dst[:base], err
		}
	}
	if !d.done() {
		return dst[:base], fmt.Errorf("%w: rollup block has %d bytes past its points", ErrCorrupt, len(d.b))
	}
	return dst, nil
}

// decodeColumn reads aggregate a's column into out, using col for its values.
func decodeColumn(d *decoder, out []Point, col []Sample, a Aggregate) error {
	switch k := d.byte(); {
	case d.err != nil:
		return fmt.Errorf("%w: rollup block column %s: %v", ErrCorrupt, a, d.err)
	case k < byte(a):
		for i := range out {
			out[i].set(a, out[i].Get(Aggregate(k)))
		}
	case k == colValues:
		cd := decoder{b: d.bytes(d.uvarint())}
		if d.err != nil {
			return fmt.Errorf("%w: rollup block column %s: %v", ErrCorrupt, a, d.err)
		}
		if err := decodeValues(&cd, col); err != nil {
			return fmt.Errorf("rollup block column %s: %w", a, err)
		}
		if !cd.done() {
			return fmt.Errorf("%w: rollup block column %s has %d bytes past its values", ErrCorrupt, a, len(cd.b))
		}
		for i := range out {
			out[i].set(a, col[i].V)
		}
	default:
		return fmt.Errorf("%w: rollup block column %s refers to column %d", ErrCorrupt, a, k)
	}
	return nil
}
