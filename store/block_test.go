package store

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

func testCodec(tb testing.TB) *blockCodec {
	tb.Helper()
	c, err := newBlockCodec()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// blockValueKind returns the kind of a block's value column.
func blockValueKind(tb testing.TB, c *blockCodec, block []byte) byte {
	tb.Helper()
	n, _, frame, err := rawBlockHeader(block)
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := c.dec.DecodeAll(frame, nil)
	if err != nil {
		tb.Fatal(err)
	}
	d := decoder{b: raw}
	for range n {
		d.varint()
	}
	return d.byte()
}

// at1s puts values one second apart from a round time.
func at1s(vs ...float64) []Sample {
	out := make([]Sample, len(vs))
	for i, v := range vs {
		out[i] = Sample{T: 1_700_000_000_000 + int64(i)*1000, V: v}
	}
	return out
}

func gen(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func sameBlockSamples(tb testing.TB, got, want []Sample) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].T != want[i].T || math.Float64bits(got[i].V) != math.Float64bits(want[i].V) {
			tb.Fatalf("sample %d: got %d %v (%#x), want %d %v (%#x)", i, got[i].T, got[i].V,
				math.Float64bits(got[i].V), want[i].T, want[i].V, math.Float64bits(want[i].V))
		}
	}
}

func TestBlockRoundTrip(t *testing.T) {
	c := testCodec(t)
	r := rand.New(rand.NewPCG(16, 1))
	decimals := func(digits int) []float64 {
		return gen(500, func(int) float64 {
			v, _ := strconv.ParseFloat(strconv.FormatFloat(r.Float64()*1000, 'f', digits, 64), 64)
			return v
		})
	}
	counter := func(i int) float64 { return float64(i*i%97 + 3*i) }
	sum := 0.0
	irregular := make([]Sample, 300)
	for i, ts := range irregular {
		ts.T = int64(i)*1000 + r.Int64N(900)
		ts.V = float64(i)
		irregular[i] = ts
	}
	tests := []struct {
		name    string
		samples []Sample
		kind    byte // the value column expected, 0 for either
	}{
		{"empty", nil, 0},
		{"single", at1s(42), valDecimal},
		{"single NaN", at1s(math.NaN()), 0},
		{"integers", at1s(gen(2000, counter)...), valDecimal},
		{"negative", at1s(gen(1000, func(i int) float64 { return -float64(i) * 2.5 })...), valDecimal},
		{"counter resets", at1s(gen(1000, func(i int) float64 { return float64(i % 137 * 3) })...), valDecimal},
		{"constant", at1s(gen(1000, func(int) float64 { return 0.25 })...), valDecimal},
		{"zero and minus zero", at1s(0, math.Copysign(0, -1), 0, 1), valDecimal},
		{"NaN bit patterns", at1s(1, math.NaN(), math.Float64frombits(0x7ff0000000000001),
			math.Float64frombits(0xfff8000000000abc), 2, 3, 4, 5, 6, 7, 8, 9), valDecimal},
		{"infinities", at1s(1, math.Inf(1), 2, math.Inf(-1), 3, 4, 5, 6, 7, 8), valDecimal},
		{"staleness markers", at1s(1, 2, staleNaN, 3, 4, 5, 6, 7, 8, staleNaN, 9, 10), valDecimal},
		{"all stale", at1s(staleNaN, staleNaN, staleNaN), 0},
		{"noisy floats", at1s(gen(1000, func(int) float64 { return r.Float64() })...), 0},
		{"histogram sum", at1s(gen(1000, func(int) float64 { sum += 0.05 * r.Float64() * 8; return sum })...), 0},
		{"cpu ratio", at1s(gen(1000, func(int) float64 { return 0.3 + 0.1*r.Float64() })...), 0},
		{"mantissa extremes", at1s(1<<53, -(1 << 53), 1<<53-1, 1<<53+2, math.MaxInt64, math.MinInt64, 1e22, 1e23,
			-1e23, 9.007199254740993e15, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 0},
		{"float extremes", at1s(math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, 2.2250738585072014e-308), 0},
		{"tiny among integers", at1s(1, 2, 3, 1e-300, 5, 6, 7, 8, 9, 10), 0},
		{"irregular timestamps", irregular, valDecimal},
		{"large gaps", []Sample{{math.MinInt64, 1}, {-1, 2}, {0, 3}, {1 << 40, 4}, {math.MaxInt64, 5}}, valDecimal},
		{"max samples", at1s(gen(maxBlockSamples, counter)...), valDecimal},
	}
	for digits := 1; digits <= 15; digits++ {
		tests = append(tests, struct {
			name    string
			samples []Sample
			kind    byte
		}{fmt.Sprintf("decimals %d digits", digits), at1s(decimals(digits)...), 0})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			block, err := c.Encode([]byte("prefix"), tt.samples)
			if err != nil {
				t.Fatal(err)
			}
			if string(block[:6]) != "prefix" {
				t.Fatal("Encode did not append to dst")
			}
			block = block[6:]
			got, err := c.Decode([]Sample{{1, 1}}, block)
			if err != nil {
				t.Fatal(err)
			}
			sameBlockSamples(t, got[1:], tt.samples)
			if k := blockValueKind(t, c, block); tt.kind != 0 && k != tt.kind {
				t.Errorf("value kind %d, want %d", k, tt.kind)
			}
		})
	}
}

// TestBlockSize checks that the decimal column pays off where the issue
// says XOR does not: integers and short decimals.
func TestBlockSize(t *testing.T) {
	c := testCodec(t)
	r := rand.New(rand.NewPCG(16, 2))
	f := func(name string, vs []float64, maxPerSample float64) {
		t.Helper()
		samples := at1s(vs...)
		block, err := c.Encode(nil, samples)
		if err != nil {
			t.Fatal(err)
		}
		xor := encodeChunk(samples)
		got := float64(len(block)) / float64(len(vs))
		if got > maxPerSample || len(block) >= len(xor) {
			t.Errorf("%s: %.3f B/sample (%d bytes; XOR %d), want at most %.2f and below XOR", name, got, len(block), len(xor), maxPerSample)
		}
	}
	v := 0.0
	f("counter", gen(7200, func(int) float64 { v += math.Floor(20 * r.Float64()); return v }), 0.8)
	f("gauge", gen(7200, func(int) float64 { return float64(r.IntN(8)) }), 0.5)
	f("decimal gauge", gen(7200, func(int) float64 { return float64(r.IntN(1000)) / 100 }), 1.7)
	f("constant", gen(7200, func(int) float64 { return 1 }), 0.01)
	sum := 0.0
	f("histogram sum", gen(7200, func(int) float64 { sum += math.Floor(20*r.Float64()) * 0.05 * r.Float64(); return sum }), 5.6)
}

func TestBlockBitsSize(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 3))
	for _, n := range []int{1, 2, 128, 129, 130, 1000} {
		samples := at1s(gen(n, func(int) float64 { return r.NormFloat64() })...)
		got := appendBitsDelta([]byte{1, 2}, samples)
		if len(got)-2 != bitsDeltaSize(samples) {
			t.Errorf("%d samples: %d bytes, bitsDeltaSize says %d", n, len(got)-2, bitsDeltaSize(samples))
		}
		d := decoder{b: got[2:]}
		out := make([]Sample, n)
		if err := decodeBitsDelta(&d, out); err != nil || !d.done() {
			t.Fatalf("%d samples: %v, %d bytes left", n, err, len(d.b))
		}
		for i := range out {
			out[i].T = samples[i].T
		}
		sameBlockSamples(t, out, samples)
	}
}

func TestBlockEncodeRejects(t *testing.T) {
	c := testCodec(t)
	f := func(name string, samples []Sample, want error) {
		t.Helper()
		block, err := c.Encode([]byte{9}, samples)
		if err == nil || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: error %v, want %v", name, err, want)
		}
		if len(block) != 1 {
			t.Errorf("%s: dst grew to %d bytes on error", name, len(block))
		}
	}
	f("duplicate timestamp", []Sample{{1, 1}, {1, 1}}, ErrOutOfOrder)
	f("backwards", []Sample{{2, 1}, {1, 1}}, ErrOutOfOrder)
	f("too many", at1s(make([]float64, maxBlockSamples+1)...), nil)
}

func TestBlockDecodeCorrupt(t *testing.T) {
	c := testCodec(t)
	good, err := c.Encode(nil, at1s(1, 2, math.NaN(), 4))
	if err != nil {
		t.Fatal(err)
	}
	raw := func(n int, parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		header := appendBlockHeader(nil, blockV1, n)
		if n > 0 {
			header = appendFloat(header, 0)
		}
		return c.enc.EncodeAll(b, header)
	}
	f := func(name string, block []byte) {
		t.Helper()
		got, err := c.Decode([]Sample{{7, 7}}, block)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: error %v, want ErrCorrupt", name, err)
		}
		if len(got) != 1 {
			t.Errorf("%s: dst grew to %d samples on error", name, len(got))
		}
	}
	f("empty", nil)
	f("unknown version", append([]byte{2}, good[1:]...))
	f("an XOR chunk", encodeChunk(at1s(1, 2)))
	f("header cut in its last value", good[:4])
	lastOff := append([]byte{}, good...)
	lastOff[2] ^= 1 // the header's last value, after the format byte and the count
	f("last value not the header's", lastOff)
	f("truncated", good[:len(good)-3])
	f("not zstd", []byte{blockV1, 1, 2, 3})
	f("count past data", raw(200, []byte{1}))
	f("count past the limit", appendBlockHeader(nil, blockV1, maxBlockSamples+1))
	f("timestamps backwards", raw(2, []byte{10, 1, valDecimal, 0, orderDelta, 2, 2, 0}))
	f("unknown value kind", raw(1, []byte{10, 9}))
	f("unknown order", raw(1, []byte{10, valDecimal, 0, 7, 2, 0}))
	f("exception past the end", raw(1, []byte{10, valDecimal, 0, orderDelta, 2, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0}))
	f("trailing bytes", raw(1, []byte{10, valDecimal, 0, orderDelta, 2, 0, 0}))
	f("bits short", raw(2, []byte{10, 2, valBits}, make([]byte, 15)))
	f("XOR count mismatch", raw(1, []byte{10, valXOR}, encodeXORValues(at1s(1, 2))))
}

func TestDecimal(t *testing.T) {
	f := func(v float64, m int64, e int, ok bool) {
		t.Helper()
		gm, ge, gok := toDecimal(v)
		if gm != m || ge != e || gok != ok {
			t.Errorf("toDecimal(%v) = %d, %d, %v; want %d, %d, %v", v, gm, ge, gok, m, e, ok)
		}
		if ok && math.Float64bits(fromDecimal(m, e)) != math.Float64bits(v) {
			t.Errorf("fromDecimal(%d, %d) = %v, want %v", m, e, fromDecimal(m, e), v)
		}
	}
	f(0, 0, 0, true)
	f(1200, 12, 2, true)
	f(-0.25, -25, -2, true)
	f(0.1, 1, -1, true)
	f(1e23, 1, 23, true)
	tenth := 0.1
	f(tenth+0.2, 30000000000000004, -17, true)
	f(math.NaN(), 0, 0, false)
	f(math.Inf(-1), 0, 0, false)
	f(math.Copysign(0, -1), 0, 0, false)
}

func TestBlockIterator(t *testing.T) {
	c := testCodec(t)
	samples := at1s(gen(100, func(i int) float64 { return float64(i) })...)
	block, err := c.Encode(nil, samples)
	if err != nil {
		t.Fatal(err)
	}
	var it blockIterator
	var _ chunkenc.Iterator = &it
	if err := it.reset(c, block); err != nil {
		t.Fatal(err)
	}
	f := func(op string, arg int64, want chunkenc.ValueType, wantT int64) {
		t.Helper()
		var got chunkenc.ValueType
		if op == "next" {
			got = it.Next()
		} else {
			got = it.Seek(arg)
		}
		if got != want || (want == chunkenc.ValFloat && it.AtT() != wantT) {
			t.Errorf("%s(%d) = %v at %d, want %v at %d", op, arg, got, it.AtT(), want, wantT)
		}
	}
	t0 := samples[0].T
	f("next", 0, chunkenc.ValFloat, t0)
	f("seek", t0-5, chunkenc.ValFloat, t0) // never backwards
	f("seek", t0+10_500, chunkenc.ValFloat, t0+11_000)
	f("seek", t0+1_000, chunkenc.ValFloat, t0+11_000)
	f("next", 0, chunkenc.ValFloat, t0+12_000)
	f("seek", t0+99_000, chunkenc.ValFloat, t0+99_000)
	if _, v := it.At(); v != 99 {
		t.Errorf("At = %v, want 99", v)
	}
	f("next", 0, chunkenc.ValNone, 0)
	f("next", 0, chunkenc.ValNone, 0)
	f("seek", 0, chunkenc.ValNone, 0)
	if err := it.reset(c, block[:len(block)-1]); !errors.Is(err, ErrCorrupt) || !errors.Is(it.Err(), ErrCorrupt) {
		t.Errorf("reset on a truncated block: %v, Err %v; want ErrCorrupt", err, it.Err())
	}
	f("next", 0, chunkenc.ValNone, 0)
	if err := it.reset(c, block); err != nil || it.Seek(t0+50_000) != chunkenc.ValFloat || it.AtT() != t0+50_000 {
		t.Errorf("reused iterator: %v at %d", err, it.AtT())
	}
}
