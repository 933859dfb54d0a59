package store

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// blockSeeds are encoded blocks of each value kind and of the special values.
func blockSeeds(tb testing.TB, c *blockCodec) [][]Sample {
	tb.Helper()
	return [][]Sample{
		nil,
		at1s(1),
		at1s(1, 2, 3, 5, 8, 13, 21),
		at1s(0.1, 0.25, -3.5, 1e23, 7),
		at1s(1, staleNaN, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 2, 3, 4, 5, 6, 7),
		at1s(0.3141592653589793, 0.2718281828459045, 0.1414213562373095, 0.17320508075688773),
		{{math.MinInt64, 1}, {0, 2}, {math.MaxInt64, 3}},
		mixExamples()["sum"][:300],
	}
}

func FuzzDecodeBlock(f *testing.F) {
	c := testCodec(f)
	for _, s := range blockSeeds(f, c) {
		block, err := c.Encode(nil, s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(block)
	}
	f.Add([]byte{blockV1})
	f.Add([]byte{blockV1, 2, 0x28, 0xb5, 0x2f, 0xfd})
	f.Fuzz(func(t *testing.T, block []byte) {
		samples, err := c.Decode(nil, block)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || len(samples) != 0 {
				t.Fatalf("error %v with %d samples, want ErrCorrupt and none", err, len(samples))
			}
			return
		}
		for i := 1; i < len(samples); i++ {
			if samples[i].T <= samples[i-1].T {
				t.Fatalf("decoded timestamps not increasing at %d", i)
			}
		}
		// What decodes encodes again to the same samples, and reads the
		// same through the iterator.
		again, err := c.Encode(nil, samples)
		if err != nil {
			t.Fatal(err)
		}
		var it blockIterator
		if err := it.reset(c, again); err != nil {
			t.Fatal(err)
		}
		var read []Sample
		for it.Next() == chunkenc.ValFloat {
			tt, v := it.At()
			read = append(read, Sample{tt, v})
		}
		if !slices.EqualFunc(read, samples, sameSample) {
			t.Fatal("samples do not survive a round trip")
		}
	})
}

func FuzzBlockRoundTrip(f *testing.F) {
	c := testCodec(f)
	for _, s := range blockSeeds(f, c) {
		f.Add(samplesBytes(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		samples := bytesSamples(b)
		block, err := c.Encode(nil, samples)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Decode(nil, block)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, samples, sameSample) {
			t.Fatalf("got %v, want %v", got, samples)
		}
	})
}

// samplesBytes writes samples as the fuzzer's input: each a timestamp's
// step from the previous one and a value's bits, eight bytes each.
func samplesBytes(samples []Sample) []byte {
	var b []byte
	prev := int64(0)
	for i, s := range samples {
		step := s.T - prev
		if i == 0 {
			step = s.T
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(step))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.V))
		prev = s.T
	}
	return b
}

// bytesSamples reads samplesBytes' form back, dropping a sample whose
// timestamp would not be after its predecessor's, as the store does.
func bytesSamples(b []byte) []Sample {
	var out []Sample
	t := int64(0)
	for len(b) >= 16 && len(out) < maxBlockSamples {
		step := int64(binary.LittleEndian.Uint64(b))
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[8:]))
		b = b[16:]
		next := t + step
		if len(out) == 0 {
			next = step
		} else if next <= t {
			continue
		}
		out = append(out, Sample{next, v})
		t = next
	}
	return out
}
