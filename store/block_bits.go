package store

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
)

// The bits column keeps noisy floats (a histogram's _sum, a ratio of random
// measurements) whose decimals are long: each value's 64 bits minus its
// predecessor's, zig-zagged, written as eight byte planes (every sample's
// lowest byte, then every sample's next byte, and so on). A growing sum
// moves by a few hundred billion units in its last place a sample, so its
// differences' upper planes are zeros that zstd removes, and what is left
// is close to the bits of noise the values really carry; Gorilla's XOR
// spends its leading- and trailing-zero headers on every sample instead.

// zigzagBitsDelta returns the zig-zagged difference of sample i's bits
// from sample i-1's, from zero for the first.
func zigzagBitsDelta(samples []Sample, i int) uint64 {
	d := math.Float64bits(samples[i].V)
	if i > 0 {
		d -= math.Float64bits(samples[i-1].V)
	}
	return d<<1 ^ uint64(int64(d)>>63)
}

// bitsDeltaSize estimates the bits column's compressed size: each
// difference's significant bytes.
func bitsDeltaSize(samples []Sample) int {
	n := 0
	for i := range samples {
		n += (bits.Len64(zigzagBitsDelta(samples, i)) + 7) / 8
	}
	return n
}

func appendBitsDelta(b []byte, samples []Sample) []byte {
	b = slices.Grow(b, 8*len(samples))
	for plane := range 8 {
		for i := range samples {
			b = append(b, byte(zigzagBitsDelta(samples, i)>>(8*plane)))
		}
	}
	return b
}

func decodeBitsDelta(d *decoder, out []Sample) error {
	planes := d.bytes(8 * uint64(len(out)))
	if d.err != nil {
		return fmt.Errorf("%w: block bits of %d samples: %v", ErrCorrupt, len(out), d.err)
	}
	var prev uint64
	for i := range out {
		var z uint64
		for plane := range 8 {
			z |= uint64(planes[plane*len(out)+i]) << (8 * plane)
		}
		prev += z>>1 ^ -(z & 1)
		out[i].V = math.Float64frombits(prev)
	}
	return nil
}
