package store

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// Sample is one point of a series: t in unix milliseconds, v its value.
type Sample struct {
	T int64
	V float64
}

// An open chunk closes at maxChunkSamples samples or maxChunkBytes bytes,
// whichever comes first. Each chunk costs about 50 bytes besides its
// samples' deltas (key, bbolt's leaf element, headers, the first sample in
// full), so a quiet series, whose samples take half a byte, needs hundreds
// of samples to amortise it; a noisy one reaches the byte limit first, at a
// quarter of a 16 KiB page. BenchmarkBytesPerSample measured 120 and 240
// samples against these: 480 saves 0.2 B/sample over 240. Checkpoints keep
// the WAL small however long chunks stay open.
const (
	maxChunkSamples = 480
	maxChunkBytes   = 4096
)

// maxChunkSpan closes a chunk whose samples would span more than this, so a
// slow series' chunk never covers more than a pruning step can drop.
const maxChunkSpan = int64(2 * 60 * 60 * 1000)

// decodeChunk appends the samples of an XOR chunk payload to dst. Corrupt
// data returns ErrCorrupt, never a panic.
func decodeChunk(dst []Sample, payload []byte) ([]Sample, error) {
	return decodeChunkRange(dst, payload, minInt64, maxInt64)
}

// decodeChunkRange is decodeChunk keeping only samples with mint <= t <= maxt.
func decodeChunkRange(dst []Sample, payload []byte, mint, maxt int64) ([]Sample, error) {
	c, err := openXOR(payload)
	if err != nil {
		return dst, err
	}
	n := c.NumSamples()
	dst = slices.Grow(dst, n) // at most one allocation per chunk, none when the caller sized dst
	it := c.Iterator(nil)
	last := minInt64
	for i := 0; i < n; i++ {
		if it.Next() != chunkenc.ValFloat {
			return dst, fmt.Errorf("%w: chunk ends after %d of %d samples: %v", ErrCorrupt, i, n, it.Err())
		}
		t, v := it.At()
		if i > 0 && t <= last {
			return dst, fmt.Errorf("%w: chunk timestamps not increasing", ErrCorrupt)
		}
		last = t
		if t > maxt {
			break
		}
		if t >= mint {
			dst = append(dst, Sample{t, v})
		}
	}
	return dst, nil
}

// lastSample returns the last sample of an XOR chunk payload.
func lastSample(payload []byte) (Sample, error) {
	c, err := openXOR(payload)
	if err != nil {
		return Sample{}, err
	}
	var last Sample
	it := c.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		last.T, last.V = it.At()
	}
	if err := it.Err(); err != nil || c.NumSamples() == 0 {
		return Sample{}, fmt.Errorf("%w: last sample of a chunk of %d: %v", ErrCorrupt, c.NumSamples(), err)
	}
	return last, nil
}

func openXOR(payload []byte) (*chunkenc.XORChunk, error) {
	if len(payload) < 2 {
		return nil, fmt.Errorf("%w: chunk of %d bytes", ErrCorrupt, len(payload))
	}
	c, err := chunkenc.FromData(chunkenc.EncXOR, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return c.(*chunkenc.XORChunk), nil
}

// encodeChunk builds an XOR chunk of samples, which must be in time order.
func encodeChunk(samples []Sample) []byte {
	c := chunkenc.NewXORChunk()
	app, _ := c.Appender() // an empty chunk's appender cannot fail
	for _, s := range samples {
		app.Append(0, s.T, s.V)
	}
	return c.Bytes()
}

const (
	minInt64 int64 = -1 << 63
	maxInt64 int64 = 1<<63 - 1
)
