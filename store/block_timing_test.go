package store

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// openMetricsMix returns the series scripts/genopenmetrics writes, with its
// generators and seeds (seed 1): per route ten latency buckets, the
// histogram's _count and _sum, four request counters by status code and a
// gauge of requests in flight, n samples each at 1 s. 50 routes of 7,200
// are the 6,120,000 samples.
func openMetricsMix(routes, n int) (series [][]Sample, names []string) {
	t0 := int64(1_700_000_000_000)
	add := func(name string, vs []float64) {
		s := make([]Sample, len(vs))
		for i, v := range vs {
			s[i] = Sample{t0 + int64(i)*1000, v}
		}
		series, names = append(series, s), append(names, name)
	}
	for r := range routes {
		rnd := rand.New(rand.NewPCG(1, uint64(r)))
		var buckets [10][]float64
		var counts [10]float64
		var sum []float64
		s := 0.0
		for range n {
			reqs := math.Floor(20 * rnd.Float64())
			for k := range counts[:9] {
				counts[k] += math.Floor(reqs * float64(k+1) / 10 * rnd.Float64())
			}
			counts[9] += reqs
			s += reqs * 0.05 * rnd.Float64()
			for k := range buckets {
				buckets[k] = append(buckets[k], counts[k])
			}
			sum = append(sum, s)
		}
		for k := range buckets {
			add("bucket", buckets[k])
		}
		add("count", buckets[9])
		add("sum", sum)
	}
	for r := range routes {
		for j, rate := range []float64{20, 1, 0.5, 0.02} {
			rnd := rand.New(rand.NewPCG(1, uint64(r)<<8|uint64(4+j)))
			v := 0.0
			add("counter", gen(n, func(int) float64 { v += math.Floor(rate * 2 * rnd.Float64()); return v }))
		}
	}
	for r := range routes {
		rnd := rand.New(rand.NewPCG(1, uint64(r)<<8|2))
		add("gauge", gen(n, func(int) float64 { return float64(rnd.IntN(8)) }))
	}
	return series, names
}

// mixExamples picks one series of each kind from route 0's: a counter, a
// histogram bucket, a gauge and the noisy _sum.
func mixExamples() map[string][]Sample {
	series, names := openMetricsMix(1, 7200)
	out := map[string][]Sample{}
	for i, name := range names {
		if _, ok := out[name]; !ok || name == "bucket" && i == 4 {
			out[name] = series[i]
		}
	}
	delete(out, "count")
	return out
}

// BenchmarkBlockEncode encodes one 2 h block of 1 s samples of each kind.
func BenchmarkBlockEncode(b *testing.B) {
	c := testCodec(b)
	for _, name := range []string{"counter", "bucket", "gauge", "sum"} {
		samples := mixExamples()[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			buf, _ := c.Encode(nil, samples) // the encoder's tables are allocated once, at its first block
			for b.Loop() {
				var err error
				if buf, err = c.Encode(buf[:0], samples); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(buf))/float64(len(samples)), "B/sample")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(samples)), "ns/sample")
		})
	}
}

// BenchmarkBlockDecode reads one 2 h block of each kind through its iterator.
func BenchmarkBlockDecode(b *testing.B) {
	c := testCodec(b)
	for _, name := range []string{"counter", "bucket", "gauge", "sum"} {
		samples := mixExamples()[name]
		block, err := c.Encode(nil, samples)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var it blockIterator
			for b.Loop() {
				if err := it.reset(c, block); err != nil {
					b.Fatal(err)
				}
				for it.Next() == chunkenc.ValFloat {
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(samples)), "ns/sample")
		})
	}
}

// BenchmarkXORChunks encodes the same blocks as XOR chunks of 120 and 480
// samples, the store's chunks today, for comparison in the same run.
func BenchmarkXORChunks(b *testing.B) {
	for _, name := range []string{"counter", "bucket", "gauge", "sum"} {
		samples := mixExamples()[name]
		for _, size := range []int{120, 480} {
			b.Run(name+"/"+strconv.Itoa(size), func(b *testing.B) {
				b.ReportAllocs()
				var n int
				for b.Loop() {
					n = xorBytes(samples, size)
				}
				b.ReportMetric(float64(n)/float64(len(samples)), "B/sample")
			})
		}
	}
}

// BenchmarkBlockMix encodes the whole of the mix (50 routes, 2 h at
// 1 s, 6,120,000 samples) as one block a series, and as XOR chunks of 120
// and 480 samples, reporting each one's payload bytes per sample (keys and
// bbolt's pages not counted).
func BenchmarkBlockMix(b *testing.B) {
	series, _ := openMetricsMix(50, 7200)
	total := 0
	for _, s := range series {
		total += len(s)
	}
	c := testCodec(b)
	b.Run("block", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		var buf []byte
		for b.Loop() {
			n = 0
			for _, s := range series {
				var err error
				if buf, err = c.Encode(buf[:0], s); err != nil {
					b.Fatal(err)
				}
				n += len(buf)
			}
		}
		b.ReportMetric(float64(n)/float64(total), "B/sample")
	})
	for _, size := range []int{120, 480} {
		b.Run("xor"+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n = 0
				for _, s := range series {
					n += xorBytes(s, size)
				}
			}
			b.ReportMetric(float64(n)/float64(total), "B/sample")
		})
	}
}

// xorBytes returns the bytes of samples cut into XOR chunks of size.
func xorBytes(samples []Sample, size int) int {
	n := 0
	for i := 0; i < len(samples); i += size {
		n += len(encodeChunk(samples[i:min(i+size, len(samples))]))
	}
	return n
}
