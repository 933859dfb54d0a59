package store

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// BenchmarkReader24hRaw reads and iterates 24 h of one series' raw 1 s
// samples through a Reader, as the PromQL engine does; BenchmarkRead24hRaw
// is the same read copied out by Select.
func BenchmarkReader24hRaw(b *testing.B) {
	db, end := oneSeries(b, 24*time.Hour)
	var it chunkenc.Iterator
	b.ReportAllocs()
	for b.Loop() {
		r := db.Reader()
		got, err := r.Select(end-24*hourMs, end, eq(MetricName, "http_request_duration_seconds_sum"))
		if err != nil || len(got) != 1 {
			b.Fatalf("read %d series: %v", len(got), err)
		}
		n := 0
		for it = got[0].Iterator(it); it.Next() == chunkenc.ValFloat; n++ {
		}
		if n < 86_399 || n > 86_401 {
			b.Fatalf("read %d samples, want 86,400", n)
		}
		_ = r.Close()
	}
}
