package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// The bits column keeps noisy floats (a histogram's _sum, a ratio of random
// measurements) whose decimals are long: the first value's 64 bits, then
// each value's bits minus its predecessor's, zig-zagged and bit-packed in
// groups of bitsGroup at the width of the group's widest. A growing sum
// moves by about the same number of units in its last place each sample,
// so the widths stay close to the bits of noise the values really carry;
// Gorilla's XOR spends its leading- and trailing-zero headers on every
// sample, and byte-aligned forms round every difference up to a byte.
const bitsGroup = 128

// bitsDelta returns the zig-zagged difference of sample i's bits from
// sample i-1's.
func bitsDelta(samples []Sample, i int) uint64 {
	d := math.Float64bits(samples[i].V) - math.Float64bits(samples[i-1].V)
	return d<<1 ^ uint64(int64(d)>>63) // #nosec G115 -- zig-zag: the sign bit, spread, is meant
}

// groupWidth returns the width of the group of differences from i.
func groupWidth(samples []Sample, i int) uint {
	var w int
	for k := i; k < min(i+bitsGroup, len(samples)); k++ {
		w = max(w, bits.Len64(bitsDelta(samples, k)))
	}
	return uint(w)
}

// bitsDeltaSize returns the bits column's size.
func bitsDeltaSize(samples []Sample) int {
	n := 8
	for i := 1; i < len(samples); i += bitsGroup {
		cnt := min(bitsGroup, len(samples)-i)
		n += 1 + (cnt*int(groupWidth(samples, i))+7)/8
	}
	return n
}

func appendBitsDelta(b []byte, samples []Sample) []byte {
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(samples[0].V))
	for i := 1; i < len(samples); i += bitsGroup {
		width := groupWidth(samples, i)
		w := bitWriter{b: append(b, byte(width))} // #nosec G115 -- a width is at most 64
		for k := i; k < min(i+bitsGroup, len(samples)); k++ {
			w.write(bitsDelta(samples, k), width)
		}
		b = w.flush()
	}
	return b
}

func decodeBitsDelta(d *decoder, out []Sample) error {
	if len(out) == 0 {
		return nil
	}
	first := d.bytes(8)
	if d.err != nil {
		return fmt.Errorf("%w: block bits: %v", ErrCorrupt, d.err)
	}
	prev := binary.LittleEndian.Uint64(first)
	out[0].V = math.Float64frombits(prev)
	for i := 1; i < len(out) && d.err == nil; i += bitsGroup {
		cnt := min(bitsGroup, len(out)-i)
		width := uint(d.byte())
		if width > 64 {
			return fmt.Errorf("%w: block bits of width %d", ErrCorrupt, width)
		}
		r := bitReader{b: d.bytes(uint64(cnt*int(width)+7) / 8)} // #nosec G115 -- a count and a width are never negative
		for k := i; k < i+cnt && d.err == nil; k++ {
			z := r.read(width)
			prev += z>>1 ^ -(z & 1)
			out[k].V = math.Float64frombits(prev)
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: block bits of %d samples: %v", ErrCorrupt, len(out), d.err)
	}
	return nil
}

// bitWriter appends values of any width up to 64 bits, lowest bit first.
type bitWriter struct {
	b   []byte
	cur byte
	n   uint // bits used in cur
}

func (w *bitWriter) write(v uint64, width uint) {
	for width > 0 {
		k := min(width, 8-w.n)
		w.cur |= byte(v&(1<<k-1)) << w.n // #nosec G115 -- masked to k ≤ 8 bits
		v, width, w.n = v>>k, width-k, w.n+k
		if w.n == 8 {
			w.b = append(w.b, w.cur)
			w.cur, w.n = 0, 0
		}
	}
}

func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.b = append(w.b, w.cur)
	}
	return w.b
}

// bitReader reads what bitWriter wrote; its caller sized b for every read.
type bitReader struct {
	b   []byte
	pos uint
}

func (r *bitReader) read(width uint) uint64 {
	var v uint64
	for got := uint(0); got < width; {
		off := r.pos % 8
		k := min(width-got, 8-off)
		v |= uint64(r.b[r.pos/8]>>off&(1<<k-1)) << got
		got, r.pos = got+k, r.pos+k
	}
	return v
}
