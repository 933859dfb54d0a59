package store

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

func benchDB(b *testing.B, clk *testClock) (*DB, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "bench.db")
	db := openTest(b, path, clk, func(o *Options) { o.MaxSeries = 200_000 })
	return db, path
}

// BenchmarkAppendFlush appends one sample to each of 10,000 series per
// simulated second and flushes once per second of data, as the background
// flusher would: the whole write path, WAL records and closed chunks included.
func BenchmarkAppendFlush(b *testing.B) {
	const series = 10_000
	rs := newRealisticSeries(series, 1)
	clk := &testClock{baseTime}
	db, _ := benchDB(b, clk)
	t := baseTime.UnixMilli()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % series
		if j == 0 && i > 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
			t += 1000
			clk.t = time.UnixMilli(t)
		}
		if err := db.Append(rs.labels[j], t, rs.gens[j]()); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkBytesPerSample writes 24 h of 1 s data from 1,000 realistic
// series (1 h with -short), compacts the file and reports its size per sample.
func BenchmarkBytesPerSample(b *testing.B) {
	span := 24 * time.Hour
	if testing.Short() {
		span = 10 * time.Minute // keeps make test quick; the figure needs the full day to amortise open chunks
	}
	for i := 0; i < b.N; i++ {
		live, file, ds := writeRealistic(b, 1000, span)
		samples := 1000 * span.Seconds()
		b.ReportMetric(float64(live)/samples, "live-B/sample")
		b.ReportMetric(float64(file)/samples, "B/sample")
		b.ReportMetric(float64(ds.Tiers[0].Bytes)/samples, "raw-B/sample")
		b.ReportMetric(float64(ds.Tiers[1].Bytes+ds.Tiers[2].Bytes)/samples, "rollup-B/sample")
		b.ReportMetric(float64(ds.Tiers[0].Bytes)/float64(ds.Tiers[0].Blocks), "B/chunk")
	}
}

// writeRealistic writes series for span as a server does: a flush every
// second of data and the block encoder every minute. It returns the
// file's size as the server leaves it, its size compacted, and its
// contents' figures.
func writeRealistic(b *testing.B, series int, span time.Duration) (int64, int64, DiskStats) {
	b.Helper()
	rs := newRealisticSeries(series, 2)
	t0 := baseTime.UnixMilli() - span.Milliseconds()
	clk := &testClock{time.UnixMilli(t0)}
	db, path := benchDB(b, clk)
	for t := t0; t < baseTime.UnixMilli(); t += 1000 {
		clk.t = time.UnixMilli(t)
		for j, ls := range rs.labels {
			if err := db.Append(ls, t, rs.gens[j]()); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
		if t%minuteMs == 0 {
			if _, err := db.EncodeBlocks(false); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	live := fileSize(path)
	if _, _, err := Compact(path, nil); err != nil {
		b.Fatal(err)
	}
	db, err := Open(path, &Options{FlushInterval: -1, PruneInterval: -1, EncodeInterval: -1, Now: clk.now})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ds, err := db.DiskStats()
	if err != nil {
		b.Fatal(err)
	}
	return live, fileSize(path), ds
}

// oneSeries writes a single realistic series (a histogram's _sum, whose
// values are noisy floats, the slowest kind to decode) at 1 s for the given
// span and returns the open DB and the time of its last sample.
func oneSeries(b *testing.B, span time.Duration) (*DB, int64) {
	b.Helper()
	const k = 9
	rs := newRealisticSeries(k+1, 3)
	end := baseTime.UnixMilli()
	t0 := end - span.Milliseconds()
	clk := &testClock{baseTime}
	db, _ := benchDB(b, clk)
	for t, n := t0, 0; t < end; t, n = t+1000, n+1 {
		clk.t = time.UnixMilli(t) // written as it happens, so nothing is older than retention
		if err := db.Append(rs.labels[k], t, rs.gens[k]()); err != nil {
			b.Fatal(err)
		}
		if n%3600 == 0 {
			if err := db.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		b.Fatal(err)
	}
	clk.t = baseTime
	return db, end
}

// BenchmarkRead24hRaw reads 24 h of one series' raw 1 s samples.
func BenchmarkRead24hRaw(b *testing.B) {
	db, end := oneSeries(b, 24*time.Hour)
	q := Query{MinT: end - 24*hourMs, MaxT: end, Matchers: []*labelsMatcher{eq(MetricName, "http_request_duration_seconds_sum")}}
	benchSelect(b, db, q, TierRaw, 86_400)
}

// BenchmarkRead30dRollup reads 30 days of one series at a 1 h step, which
// the 1-hour tier serves (3 days with -short).
func BenchmarkRead30dRollup(b *testing.B) {
	days := 30
	if testing.Short() {
		days = 3
	}
	db, end := oneSeries(b, time.Duration(days)*24*time.Hour)
	q := Query{MinT: end - int64(days)*24*hourMs, MaxT: end, Resolution: time.Hour, Aggregate: AggregateMax,
		Matchers: []*labelsMatcher{eq(MetricName, "http_request_duration_seconds_sum")}}
	benchSelect(b, db, q, TierHour, days*24)
}

func benchSelect(b *testing.B, db *DB, q Query, wantTier Tier, wantPoints int) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := db.Select(q)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 1 {
			b.Fatalf("read %d series, want 1", len(got))
		}
		if got[0].Tier != wantTier || len(got[0].Samples) < wantPoints-1 || len(got[0].Samples) > wantPoints+1 {
			b.Fatalf("read tier %v, %d points; want tier %s, %d points", got[0].Tier, len(got[0].Samples), wantTier, wantPoints)
		}
	}
}

// BenchmarkRSS100kSeries holds 100,000 active series with open chunks and
// reports the process's resident memory after a GC, and its growth.
func BenchmarkRSS100kSeries(b *testing.B) {
	for i := 0; i < b.N; i++ {
		before := rssBytes()
		db := hold100k(b)
		runtime.GC()
		after := rssBytes()
		b.ReportMetric(float64(after)/1e6, "RSS-MB")
		b.ReportMetric(float64(after-before)/1e6, "RSS-growth-MB")
		runtime.KeepAlive(db)
		_ = db.Close()
	}
}

func hold100k(b *testing.B) *DB {
	const series = 100_000
	clk := &testClock{baseTime}
	db, _ := benchDB(b, clk)
	t := baseTime.UnixMilli() - 60_000
	for k := range 10 { // ten scrapes, flushed: open chunks of ten samples each
		for i := range series {
			ls := lbl("http_requests_total", "service", "shop", "route", "/api/v1/items/"+strconv.Itoa(i%500), "method", "GET", "code", strconv.Itoa(200+i/500))
			if err := db.Append(ls, t+int64(k)*5000, float64(k)); err != nil {
				b.Fatal(err)
			}
		}
		if err := db.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// rssBytes returns the resident set size after returning free memory to the OS.
func rssBytes() int64 {
	debug.FreeOSMemory()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
