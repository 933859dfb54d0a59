package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// A block holds a closed stretch of one series, thousands of samples, in
// columns compressed together with zstd (docs/format.md, "Cold-block payload"):
//
//	byte     blockV1
//	uvarint  n, the number of samples
//	float64  the last value, little-endian bits, when n > 0
//	zstd frame of:
//	  varint   t0, then t1-t0, then each delta of deltas    (timestamps)
//	  byte     the value column's kind, valDecimal, valXOR or valBits
//	  values   as that kind
//
// Values are decimals when they come back bit for bit (counters and integer
// gauges become small integers): a shared exponent, then the mantissas as
// they are, as deltas or as deltas of deltas, whichever has the least
// entropy, as zig-zag varints. A value that no decimal holds (NaN, a
// staleness marker, ±Inf, -0, a float whose mantissa would overflow at the
// block's exponent) is an exception, kept as raw bits at its position, so
// one NaN costs nine bytes and not the whole block's encoding. A block where
// exceptions are many, or where the decimals are long (noisy floats such as
// a histogram's _sum), keeps the shortest of its decimals, one chunkenc XOR
// chunk, and the bit-packed differences of its values' bits (block_bits.go).
//
// The first byte tells a block from an XOR chunk, which starts with its
// sample count as a big-endian uint16: a chunk holds at most 480 samples
// (maxChunkSamples), so its first byte is 0 or 1. The count and the last
// value stand before the zstd frame so that a read counts a block's
// samples, and Open finds a series' last sample (its time is the block's
// end), without decompressing it.
const (
	blockV1 byte = 0xC1

	valDecimal byte = 1
	valXOR     byte = 2
	valBits    byte = 3

	orderRaw   byte = 0
	orderDelta byte = 1
	orderDoD   byte = 2

	// maxBlockSamples bounds a block to what one XOR chunk counts, so a
	// corrupt count never makes a decoder allocate more than a few MiB.
	maxBlockSamples = 1<<16 - 1
	// maxBlockPayload bounds a block's decompressed size: at most ten bytes
	// a timestamp, ten a mantissa and eleven an exception, or nine a value
	// of the bits column.
	maxBlockPayload = 32 * (maxBlockSamples + 1)
	// blockWindow is zstd's window: a block is compressed whole, and a
	// larger window would only cost memory.
	blockWindow = maxBlockPayload
)

// blockCodec encodes and decodes blocks. Its zstd encoders and decoder are
// safe for concurrent use, so one codec serves a whole DB.
type blockCodec struct {
	enc     *zstd.Encoder // zstd's best level, for decimals
	fast    *zstd.Encoder // its default, for noisy values it hardly shrinks
	dec     *zstd.Decoder
	scratch sync.Pool // *blockScratch
}

// blockScratch is what one encoding reuses.
type blockScratch struct {
	raw    []byte
	col    []byte
	ms     []int64
	es     []int16
	pts    []Sample // one column of a block of points at a time
	colBuf []byte   // that column encoded
}

func newBlockCodec() (*blockCodec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(blockWindow))
	if err != nil {
		return nil, fmt.Errorf("block encoder: %w", err)
	}
	fast, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(blockWindow))
	if err != nil {
		return nil, fmt.Errorf("block encoder: %w", err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxBlockPayload))
	if err != nil {
		return nil, fmt.Errorf("block decoder: %w", err)
	}
	c := &blockCodec{enc: enc, fast: fast, dec: dec}
	c.scratch.New = func() any { return new(blockScratch) }
	return c, nil
}

// Close releases the codec's encoder and decoder. It is idempotent.
func (c *blockCodec) Close() {
	if c.enc != nil {
		_ = c.enc.Close()
		_ = c.fast.Close()
		c.dec.Close()
		c.enc, c.fast, c.dec = nil, nil, nil
	}
}

// Encode appends the block of samples to dst. Timestamps must increase
// strictly, as the store keeps them; otherwise it returns ErrOutOfOrder.
func (c *blockCodec) Encode(dst []byte, samples []Sample) ([]byte, error) {
	if err := checkBlockTimes(len(samples), func(i int) int64 { return samples[i].T }, "sample"); err != nil {
		return dst, err
	}
	s := c.scratch.Get().(*blockScratch)
	defer c.scratch.Put(s)
	raw := appendTimes(s.raw[:0], samples)
	kindAt := len(raw)
	raw = s.appendValues(raw, samples)
	s.raw = raw
	dst = appendBlockHeader(dst, blockV1, len(samples))
	if len(samples) > 0 {
		dst = appendFloat(dst, samples[len(samples)-1].V)
	}
	if raw[kindAt] != valDecimal {
		// Noise hardly compresses: zstd's best level takes three times
		// as long as its default on a noisy _sum to save 0.1%.
		return c.fast.EncodeAll(raw, dst), nil
	}
	return c.enc.EncodeAll(raw, dst), nil
}

// checkBlockTimes refuses a block of n entries (each a what), entry i at
// t(i), that holds more than a block may or whose times do not increase
// strictly (ErrOutOfOrder).
func checkBlockTimes(n int, t func(int) int64, what string) error {
	if n > maxBlockSamples {
		return fmt.Errorf("encode block of %d %ss: more than %d", n, what, maxBlockSamples)
	}
	for i := 1; i < n; i++ {
		if t(i) <= t(i-1) {
			return fmt.Errorf("encode block: %s %d: %w", what, i, ErrOutOfOrder)
		}
	}
	return nil
}

// appendBlockHeader appends a block's format byte and sample count.
func appendBlockHeader(dst []byte, format byte, n int) []byte {
	return binary.AppendUvarint(append(dst, format), uint64(n)) // #nosec G115 -- a length
}

// isBlock reports whether a raw-tier payload is a block rather than an XOR chunk.
func isBlock(payload []byte) bool { return len(payload) > 0 && payload[0] == blockV1 }

// blockHeader returns the sample count of a block and its zstd frame.
func blockHeader(payload []byte) (int, []byte, error) {
	n, k := binary.Uvarint(payload[min(1, len(payload)):])
	if k <= 0 || n > maxBlockSamples {
		return 0, nil, fmt.Errorf("%w: block header", ErrCorrupt)
	}
	return int(n), payload[1+k:], nil
}

// rawBlockHeader returns the sample count of a raw block, its last value
// and its zstd frame.
func rawBlockHeader(payload []byte) (int, float64, []byte, error) {
	n, frame, err := blockHeader(payload)
	if err != nil || n == 0 {
		return n, 0, frame, err
	}
	if len(frame) < 8 {
		return 0, 0, nil, fmt.Errorf("%w: block header", ErrCorrupt)
	}
	return n, math.Float64frombits(binary.LittleEndian.Uint64(frame)), frame[8:], nil
}

// appendTimes appends the timestamps' column. Deltas wrap around int64
// as the decoder's sums do, so any timestamps come back.
func appendTimes(b []byte, samples []Sample) []byte {
	var prev, delta int64
	for i, s := range samples {
		switch i {
		case 0:
			b = binary.AppendVarint(b, s.T)
		default:
			d := s.T - prev
			b = binary.AppendVarint(b, d-delta)
			delta = d
		}
		prev = s.T
	}
	return b
}

// appendValues appends the value column: decimals when they are short,
// and otherwise whichever of decimals, XOR and bits looks shortest.
func (s *blockScratch) appendValues(b []byte, samples []Sample) []byte {
	if len(samples) == 0 {
		return append(b, valDecimal)
	}
	decimals := math.MaxInt
	if s.decimals(samples) <= len(samples)/4 { // else decimals would be long
		s.col = s.appendDecimals(s.col[:0], samples)
		if len(s.col) < 5*len(samples) {
			return append(append(b, valDecimal), s.col...)
		}
		decimals = len(s.col)
	}
	xor := encodeXORValues(samples)
	shuffled := bitsDeltaSize(samples)
	switch {
	case decimals <= len(xor) && decimals <= shuffled:
		return append(append(b, valDecimal), s.col...)
	case shuffled < len(xor):
		return appendBitsDelta(append(b, valBits), samples)
	default:
		return append(append(b, valXOR), xor...)
	}
}

// decimals fills s.ms and s.es with each value's decimal and returns how
// many values have none or a mantissa of 16 digits or more, which would
// cost more as a decimal than as bits. A value without a decimal gets
// exponent math.MaxInt16, so the shared exponent ignores it.
func (s *blockScratch) decimals(samples []Sample) int {
	s.ms, s.es = s.ms[:0], s.es[:0]
	unfit := 0
	for _, smp := range samples {
		m, e, ok := toDecimal(smp.V)
		if !ok {
			m, e = 0, math.MaxInt16
		}
		if !ok || m >= exactMantissa || m <= -exactMantissa {
			unfit++
		}
		s.ms, s.es = append(s.ms, m), append(s.es, int16(e))
	}
	return unfit
}

// appendDecimals appends the decimal column: the shared exponent, the
// mantissas rescaled to it, then the exceptions.
func (s *blockScratch) appendDecimals(b []byte, samples []Sample) []byte {
	exp := int16(math.MaxInt16)
	for _, e := range s.es {
		exp = min(exp, e)
	}
	if exp == math.MaxInt16 {
		exp = 0
	}
	var exc []int
	var prev int64
	for i, e := range s.es {
		m, ok := int64(0), false
		if e != math.MaxInt16 {
			m, ok = rescale(s.ms[i], int(e)-int(exp))
		}
		if !ok || math.Float64bits(fromDecimal(m, int(exp))) != math.Float64bits(samples[i].V) {
			exc, m = append(exc, i), prev
		}
		s.ms[i], prev = m, m
	}
	b = binary.AppendVarint(b, int64(exp))
	b = appendMantissas(b, s.ms)
	b = binary.AppendUvarint(b, uint64(len(exc)))
	last := -1
	for _, i := range exc {
		b = binary.AppendUvarint(b, uint64(i-last-1)) // #nosec G115 -- exceptions are in increasing order
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(samples[i].V))
		last = i
	}
	return b
}

// appendMantissas appends the order byte and the mantissas as they are
// (a small gauge), as deltas, or as deltas of deltas (a steady counter),
// whichever order has the fewest significant bits: zstd's entropy coding
// then gets close to them, where whole varint bytes would tie.
func appendMantissas(b []byte, ms []int64) []byte {
	order, best := orderDelta, termBits(ms, orderDelta)
	for _, o := range []byte{orderRaw, orderDoD} {
		if size := termBits(ms, o); size < best {
			order, best = o, size
		}
	}
	b = append(b, order)
	for i := range ms {
		b = binary.AppendVarint(b, mantissaTerm(ms, i, order))
	}
	return b
}

// mantissaTerm returns what the column keeps of mantissa i in order: the
// mantissa, its delta, or its delta of deltas; the first mantissa is kept
// whole and the second as a delta in every order.
func mantissaTerm(ms []int64, i int, order byte) int64 {
	switch {
	case i == 0 || order == orderRaw:
		return ms[i]
	case i == 1 || order == orderDelta:
		return ms[i] - ms[i-1]
	default:
		return ms[i] - 2*ms[i-1] + ms[i-2]
	}
}

// termBits estimates the bits of the mantissas' terms in order after
// entropy coding: the Shannon entropy of the small ones, and the
// significant bits of those past a byte.
func termBits(ms []int64, order byte) float64 {
	var counts [256]int
	large := 0.0
	for i := range ms {
		z := zigzag(mantissaTerm(ms, i, order))
		if z < 256 {
			counts[z]++
		} else {
			large += float64(bits.Len64(z))
		}
	}
	h := large
	for _, c := range counts {
		if c > 0 {
			h -= float64(c) * math.Log2(float64(c)/float64(len(ms)))
		}
	}
	return h
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) } // #nosec G115 -- zig-zag: the sign bit, spread, is meant

// encodeXORValues returns the values as one XOR chunk, each at its index
// for a timestamp, which costs the chunk one bit a sample.
func encodeXORValues(samples []Sample) []byte {
	c := chunkenc.NewXORChunk()
	app, _ := c.Appender() // an empty chunk's appender cannot fail
	for i, s := range samples {
		app.Append(0, int64(i), s.V)
	}
	return c.Bytes()
}
