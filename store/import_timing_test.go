package store

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
)

// benchOpenMetrics is what scripts/genopenmetrics writes, smaller: per
// route a latency histogram (ten buckets, _count and _sum), four request
// counters and a gauge, one sample a second for secs seconds ending at
// baseTime, family by family, series by series.
func benchOpenMetrics(routes, secs int) []byte {
	var b bytes.Buffer
	first := baseTime.Unix() - int64(secs) + 1
	b.WriteString("# TYPE http_request_duration_seconds histogram\n")
	bounds := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	for r := range routes {
		var counts [10]int
		sum := 0.0
		for i := range secs {
			for k := range counts {
				counts[k] += (i*7 + k*3 + r) % (k + 2)
			}
			sum += float64(counts[9]%97) * 0.0123
			for k, le := range bounds {
				fmt.Fprintf(&b, "http_request_duration_seconds_bucket{route=\"/r/%02d\",le=\"%s\"} %d %d\n", r, le, counts[k], first+int64(i))
			}
			fmt.Fprintf(&b, "http_request_duration_seconds_count{route=\"/r/%02d\"} %d %d\n", r, counts[9], first+int64(i))
			fmt.Fprintf(&b, "http_request_duration_seconds_sum{route=\"/r/%02d\"} %g %d\n", r, sum, first+int64(i))
		}
	}
	b.WriteString("# TYPE http_requests counter\n")
	for r := range routes {
		for _, code := range []string{"200", "301", "404", "500"} {
			v := 0
			for i := range secs {
				v += (i + r + len(code)) % 5
				fmt.Fprintf(&b, "http_requests_total{route=\"/r/%02d\",code=\"%s\"} %d %d\n", r, code, v, first+int64(i))
			}
		}
	}
	b.WriteString("# TYPE http_requests_in_flight gauge\n")
	for r := range routes {
		for i := range secs {
			fmt.Fprintf(&b, "http_requests_in_flight{route=\"/r/%02d\"} %d %d\n", r, (i*r)%8, first+int64(i))
		}
	}
	b.WriteString("# EOF\n")
	return b.Bytes()
}

// BenchmarkImport imports 20 routes' metrics over 15 minutes (306,000
// samples, 24 MB of OpenMetrics) into an empty store: both passes, chunks,
// rollups and the commits. scripts/bench-import.sh compares the command
// with promtool on a larger file.
func BenchmarkImport(b *testing.B) {
	text := benchOpenMetrics(20, 900)
	clk := &testClock{baseTime}
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	var samples int64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db := openTest(b, filepath.Join(b.TempDir(), fmt.Sprintf("i%d.db", i)), clk, nil)
		b.StartTimer()
		res, err := db.Import(bytes.NewReader(text), ImportOptions{})
		if err != nil || res.Rejected > 0 {
			b.Fatalf("import: %+v, %v", res, err)
		}
		samples += res.Samples
		b.StopTimer()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
}
