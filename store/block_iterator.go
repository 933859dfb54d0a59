package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Decode appends the samples of a block to dst. Corrupt data returns
// ErrCorrupt, never a panic.
func (c *blockCodec) Decode(dst []Sample, block []byte) ([]Sample, error) {
	_, dst, err := c.decode(nil, dst, block)
	return dst, err
}

// decode decompresses block into raw and appends its samples to dst,
// returning both for reuse.
func (c *blockCodec) decode(raw []byte, dst []Sample, block []byte) ([]byte, []Sample, error) {
	if !isBlock(block) {
		return raw, dst, fmt.Errorf("%w: block of %d bytes: unknown format", ErrCorrupt, len(block))
	}
	n, last, frame, err := rawBlockHeader(block)
	if err != nil {
		return raw, dst, err
	}
	raw, err = c.dec.DecodeAll(frame, raw[:0])
	if err != nil {
		return raw, dst, fmt.Errorf("%w: block: %v", ErrCorrupt, err)
	}
	d := decoder{b: raw}
	if n > len(d.b) {
		return raw, dst, fmt.Errorf("%w: block of %d samples in %d bytes", ErrCorrupt, n, len(raw))
	}
	base := len(dst)
	dst = append(dst, make([]Sample, n)...)
	out := dst[base:]
	if err := decodeTimes(&d, out); err != nil {
		return raw, dst[:base], err
	}
	if err := decodeValues(&d, out); err != nil {
		return raw, dst[:base], err
	}
	if !d.done() {
		return raw, dst[:base], fmt.Errorf("%w: block has %d bytes past its samples", ErrCorrupt, len(d.b))
	}
	if n > 0 && math.Float64bits(out[n-1].V) != math.Float64bits(last) {
		return raw, dst[:base], fmt.Errorf("%w: block's last value %v, its header says %v", ErrCorrupt, out[n-1].V, last)
	}
	return raw, dst, nil
}

func decodeTimes(d *decoder, out []Sample) error {
	var prev, delta int64
	for i := range out {
		v := d.varint()
		switch i {
		case 0:
			prev = v
		default:
			delta += v
			if prev+delta <= prev { // deltas wrap around int64 as the encoder's did
				return fmt.Errorf("%w: block timestamps not increasing at %d", ErrCorrupt, i)
			}
			prev += delta
		}
		out[i].T = prev
	}
	if d.err != nil {
		return fmt.Errorf("%w: block timestamps: %v", ErrCorrupt, d.err)
	}
	return nil
}

func decodeValues(d *decoder, out []Sample) error {
	switch kind := d.byte(); kind {
	case valDecimal:
		return decodeDecimals(d, out)
	case valXOR:
		return decodeXORValues(d, out)
	case valBits:
		return decodeBitsDelta(d, out)
	default:
		return fmt.Errorf("%w: block value kind %d", ErrCorrupt, kind)
	}
}

func decodeDecimals(d *decoder, out []Sample) error {
	if len(out) == 0 {
		return nil
	}
	exp := d.varint()
	order := d.byte()
	if d.err != nil || exp < -2*maxDecimalExp || exp > maxDecimalExp || order > orderDoD {
		return fmt.Errorf("%w: block decimals: exponent %d, order %d", ErrCorrupt, exp, order)
	}
	var m, delta int64
	for i := range out {
		v := d.varint()
		switch {
		case i == 0 || order == orderRaw:
			delta, m = v-m, v
		case i == 1 || order == orderDelta:
			delta, m = v, m+v
		default:
			delta += v
			m += delta
		}
		out[i].V = fromDecimal(m, int(exp))
	}
	return decodeExceptions(d, out)
}

func decodeExceptions(d *decoder, out []Sample) error {
	count := d.uvarint()
	if count > uint64(len(out)) {
		return fmt.Errorf("%w: block has %d exceptions in %d samples", ErrCorrupt, count, len(out))
	}
	at := uint64(0)
	for k := uint64(0); k < count; k++ {
		at += d.uvarint()
		bits := d.bytes(8)
		if d.err != nil || at >= uint64(len(out)) {
			return fmt.Errorf("%w: block exception %d at %d of %d", ErrCorrupt, k, at, len(out))
		}
		out[at].V = math.Float64frombits(binary.LittleEndian.Uint64(bits))
		at++
	}
	if d.err != nil {
		return fmt.Errorf("%w: block decimals: %v", ErrCorrupt, d.err)
	}
	return nil
}

func decodeXORValues(d *decoder, out []Sample) error {
	c, err := openXOR(d.b)
	d.b = nil
	if err != nil {
		return err
	}
	if c.NumSamples() != len(out) {
		return fmt.Errorf("%w: block XOR values: %d for %d samples", ErrCorrupt, c.NumSamples(), len(out))
	}
	it := c.Iterator(nil)
	for i := range out {
		if it.Next() != chunkenc.ValFloat {
			return fmt.Errorf("%w: block XOR values end after %d of %d: %v", ErrCorrupt, i, len(out), it.Err())
		}
		_, out[i].V = it.At()
	}
	return nil
}

// blockIterator walks a block's samples. It satisfies chunkenc.Iterator,
// as rawIterator does, so a reader need not know how a series is encoded.
type blockIterator struct {
	raw     []byte
	samples []Sample
	i       int // the current sample; -1 before the first
	err     error
}

// reset decodes block into the iterator's buffers and starts before its
// first sample; a corrupt block leaves an iterator that yields nothing and
// reports the error.
func (it *blockIterator) reset(c *blockCodec, block []byte) error {
	it.raw, it.samples, it.err = c.decode(it.raw, it.samples[:0], block)
	if it.err != nil {
		it.samples = it.samples[:0]
	}
	it.i = -1
	return it.err
}

// Next advances to the next sample.
func (it *blockIterator) Next() chunkenc.ValueType {
	if it.i+1 >= len(it.samples) {
		it.i = len(it.samples)
		return chunkenc.ValNone
	}
	it.i++
	return chunkenc.ValFloat
}

// Seek advances to the first sample at or after t, never backwards.
func (it *blockIterator) Seek(t int64) chunkenc.ValueType {
	from := max(it.i, 0)
	if from >= len(it.samples) {
		return chunkenc.ValNone
	}
	it.i = from + sort.Search(len(it.samples)-from, func(k int) bool { return it.samples[from+k].T >= t })
	if it.i >= len(it.samples) {
		return chunkenc.ValNone
	}
	return chunkenc.ValFloat
}

// At returns the current sample.
func (it *blockIterator) At() (int64, float64) {
	s := it.at()
	return s.T, s.V
}

// AtT returns the current sample's time.
func (it *blockIterator) AtT() int64 { return it.at().T }

func (it *blockIterator) at() Sample {
	if it.i < 0 || it.i >= len(it.samples) {
		return Sample{}
	}
	return it.samples[it.i]
}

// AtST returns 0: the store keeps no start times.
func (it *blockIterator) AtST() int64 { return 0 }

// AtHistogram returns nothing: the store holds floats only.
func (it *blockIterator) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return it.AtT(), nil
}

// AtFloatHistogram returns nothing: the store holds floats only.
func (it *blockIterator) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return it.AtT(), nil
}

// Err returns the error that ended the iteration, wrapping ErrCorrupt.
func (it *blockIterator) Err() error { return it.err }
