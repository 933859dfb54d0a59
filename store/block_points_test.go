package store

import (
	"errors"
	"math"
	"testing"
)

// pointsFromRaw rolls raw samples up into minute points, as the store does.
func pointsFromRaw(raw []Sample) []Point {
	return wantRollup(raw, minuteMs)
}

func samePointBits(t testing.TB, got, want []Point) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range want {
		for a := Aggregate(0); a < numAggregates; a++ {
			if got[i].T != want[i].T || math.Float64bits(got[i].Get(a)) != math.Float64bits(want[i].Get(a)) {
				t.Fatalf("point %d %s: %d %v, want %d %v", i, a, got[i].T, got[i].Get(a), want[i].T, want[i].Get(a))
			}
		}
	}
}

// pointSeeds are blocks of points of each kind: a counter's, a gauge's,
// one with special values, one whose columns are all alike.
func pointSeeds() [][]Point {
	ex := mixExamples()
	special := []Point{{T: 1, Last: math.NaN(), Min: math.Inf(-1), Max: math.Inf(1), Sum: staleNaN, Count: 0, Counter: math.Copysign(0, -1)}, {T: 2, Last: 1, Min: 1, Max: 1, Sum: 1, Count: 1, Counter: 1}}
	var alike []Point
	for i := range 50 {
		v := float64(i * 3)
		alike = append(alike, Point{T: int64(i) * minuteMs, Last: v, Min: v, Max: v, Sum: v, Count: 1, Counter: v})
	}
	return [][]Point{nil, pointsFromRaw(ex["counter"]), pointsFromRaw(ex["gauge"]), pointsFromRaw(ex["sum"]), special, alike}
}

func TestPointsBlockRoundTrip(t *testing.T) {
	c := testCodec(t)
	for i, pts := range pointSeeds() {
		block, err := c.EncodePoints([]byte("prefix"), pts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.DecodePoints([]Point{{T: -1}}, block[len("prefix"):])
		if err != nil {
			t.Fatalf("seed %d: %v", i, err)
		}
		if got[0].T != -1 {
			t.Fatalf("seed %d: dst's first point overwritten", i)
		}
		samePointBits(t, got[1:], pts)
	}
}

// TestPointsBlockStoresNoDerivableColumn: a column equal to an earlier one
// costs a byte, so a block whose six columns are alike is barely larger
// than one column's.
func TestPointsBlockStoresNoDerivableColumn(t *testing.T) {
	c := testCodec(t)
	alike := pointSeeds()[5]
	block, err := c.EncodePoints(nil, alike)
	if err != nil {
		t.Fatal(err)
	}
	one := make([]Sample, len(alike))
	for i, p := range alike {
		one[i] = Sample{p.T, p.Last}
	}
	single, err := c.Encode(nil, one)
	if err != nil {
		t.Fatal(err)
	}
	// The count column differs (all ones): it costs a few bytes of its own.
	if len(block) > len(single)+16 {
		t.Fatalf("six alike columns take %d bytes, one column %d", len(block), len(single))
	}
}

func TestPointsBlockRefuses(t *testing.T) {
	c := testCodec(t)
	if _, err := c.EncodePoints(nil, []Point{{T: 2}, {T: 2}}); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("duplicate times: %v, want ErrOutOfOrder", err)
	}
	good, err := c.EncodePoints(nil, pointSeeds()[1])
	if err != nil {
		t.Fatal(err)
	}
	raw := func(n int, b ...byte) []byte { return c.enc.EncodeAll(b, appendBlockHeader(nil, blockPointsV1, n)) }
	f := func(name string, block []byte) {
		t.Helper()
		got, err := c.DecodePoints([]Point{{T: 7}}, block)
		if !errors.Is(err, ErrCorrupt) || len(got) != 1 {
			t.Errorf("%s: %v with %d points, want ErrCorrupt and dst as it was", name, err, len(got))
		}
	}
	f("empty", nil)
	f("a raw block", good[:0:0])
	f("raw block format", append([]byte{blockV1}, good[1:]...))
	f("truncated", good[:len(good)-2])
	f("reference forward", raw(1, 10, 3, 0, 0, 0, 0, 0))
	f("reference to itself", raw(1, 10, colValues, 5, valDecimal, 0, orderRaw, 2, 0, 1, 0, 0, 0, 0))
	f("columns missing", raw(1, 10, colValues, 5, valDecimal, 0, orderRaw, 2, 0))
	f("column past the end", raw(1, 10, colValues, 50, valDecimal, 0, orderRaw, 2, 0, 0, 0, 0, 0, 0))
	f("column longer than its values", raw(1, 10, colValues, 6, valDecimal, 0, orderRaw, 2, 0, 7, 0, 0, 0, 0, 0))
	f("bytes past the columns", raw(1, 10, colValues, 5, valDecimal, 0, orderRaw, 2, 0, 0, 0, 0, 0, 0, 9))
}

func FuzzDecodePoints(f *testing.F) {
	c := testCodec(f)
	for _, pts := range pointSeeds() {
		block, err := c.EncodePoints(nil, pts)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(block)
	}
	f.Fuzz(func(t *testing.T, block []byte) {
		pts, err := c.DecodePoints(nil, block)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) || len(pts) != 0 {
				t.Fatalf("error %v with %d points, want ErrCorrupt and none", err, len(pts))
			}
			return
		}
		for i := 1; i < len(pts); i++ {
			if pts[i].T <= pts[i-1].T {
				t.Fatalf("decoded times not increasing at %d", i)
			}
		}
		again, err := c.EncodePoints(nil, pts)
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.DecodePoints(nil, again)
		if err != nil {
			t.Fatal(err)
		}
		samePointBits(t, back, pts)
	})
}
