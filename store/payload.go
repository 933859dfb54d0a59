package store

import (
	"fmt"
	"sync"
)

// A block value's payload is in one of two encodings: the warm one the
// store writes as data closes (an XOR chunk in the raw tier, a block of
// XOR chunks per aggregate in the rollup tiers), and the cold one a
// compaction re-encodes runs of them into (block.go, block_points.go).
// Their first bytes differ, so every read takes either.

// codec is the process's block codec: its zstd encoders and decoder are
// safe for concurrent use, and each holds a few MiB of tables, so every
// DB shares one.
var codec = sync.OnceValues(newBlockCodec)

// rawSamples appends the samples of a raw-tier payload with mint <= t <= maxt to dst.
func rawSamples(dst []Sample, payload []byte, mint, maxt int64) ([]Sample, error) {
	if !isBlock(payload) {
		return decodeChunkRange(dst, payload, mint, maxt)
	}
	c, err := codec()
	if err != nil {
		return dst, err
	}
	base := len(dst)
	if dst, err = c.Decode(dst, payload); err != nil {
		return dst, err
	}
	return inRangeSamples(dst, base, mint, maxt), nil
}

// inRangeSamples drops from dst[base:] the samples outside [mint, maxt].
func inRangeSamples(dst []Sample, base int, mint, maxt int64) []Sample {
	out := dst[:base]
	for _, s := range dst[base:] {
		if s.T >= mint && s.T <= maxt {
			out = append(out, s)
		}
	}
	return out
}

// payloadSamples returns the number of samples of a raw-tier payload, from its header.
func payloadSamples(payload []byte) (int, error) {
	if isBlock(payload) {
		n, _, err := blockHeader(payload)
		return n, err
	}
	if len(payload) < 2 {
		return 0, fmt.Errorf("%w: chunk of %d bytes", ErrCorrupt, len(payload))
	}
	return int(chunkSamples(payload)), nil
}

// lastRawSample returns the last sample of a raw-tier payload whose span
// ends at maxT. A block's is in its header, at maxT, so it is not decoded.
func lastRawSample(payload []byte, maxT int64) (Sample, error) {
	if !isBlock(payload) {
		return lastSample(payload)
	}
	n, last, _, err := rawBlockHeader(payload)
	if err != nil || n == 0 {
		return Sample{}, fmt.Errorf("%w: last sample of a block of %d: %v", ErrCorrupt, n, err)
	}
	return Sample{maxT, last}, nil
}

// rollupPoints appends the points of a rollup-tier payload to dst.
func rollupPoints(dst []Point, payload []byte) ([]Point, error) {
	if !isPointsBlock(payload) {
		return decodeBlock(dst, payload)
	}
	c, err := codec()
	if err != nil {
		return dst, err
	}
	return c.DecodePoints(dst, payload)
}

// payloadPoints returns the number of points of a rollup-tier payload, from its header.
func payloadPoints(payload []byte) (int, error) {
	if isPointsBlock(payload) {
		n, _, err := blockHeader(payload)
		return n, err
	}
	d := decoder{b: payload}
	n := d.uvarint()
	if d.err != nil || n > pointsPerBlock {
		return 0, fmt.Errorf("%w: rollup block header", ErrCorrupt)
	}
	return int(n), nil
}

// payloadCount returns the samples or points of a tier's payload, from its
// header, and whether it is a block.
func payloadCount(tier Tier, payload []byte) (int, bool, error) {
	if tier == TierRaw {
		n, err := payloadSamples(payload)
		return n, isBlock(payload), err
	}
	n, err := payloadPoints(payload)
	return n, isPointsBlock(payload), err
}
