package web

import (
	"strconv"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Shape of atroz load -kind remote-write: 10,000 series sent 2,000 to a
// request, one sample each, so five requests make a round over the series.
const (
	benchSeries    = 10_000
	benchPerWrite  = 2_000
	benchPerRound  = benchSeries / benchPerWrite
	benchRoundStep = 1_000 // ms between rounds
)

// benchLabels are series i's labels: six, as a latency histogram's buckets
// carry them, 50 routes by 20 instances by 10 buckets.
func benchLabels(i int) []prompb.Label {
	return []prompb.Label{
		{Name: "__name__", Value: "http_request_duration_seconds_bucket"},
		{Name: "instance", Value: "10.0.3." + strconv.Itoa((i/50)%20) + ":9090"},
		{Name: "job", Value: "api"},
		{Name: "le", Value: strconv.FormatFloat(0.005*float64(int(1)<<((i/1000)%10)), 'g', -1, 64)},
		{Name: "method", Value: "GET"},
		{Name: "route", Value: "/api/v1/items/" + strconv.Itoa(i%50)},
	}
}

// benchRound returns the snappy bodies of one round over the series, at t (unix ms).
func benchRound(tb testing.TB, t int64, round int) [][]byte {
	tb.Helper()
	bodies := make([][]byte, benchPerRound)
	for r := range bodies {
		req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, benchPerWrite)}
		for j := range req.Timeseries {
			req.Timeseries[j] = prompb.TimeSeries{
				Labels:  benchLabels(r*benchPerWrite + j),
				Samples: []prompb.Sample{{Timestamp: t, Value: float64(round)}},
			}
		}
		raw, err := req.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		bodies[r] = snappy.Encode(nil, raw)
	}
	return bodies
}

// BenchmarkRemoteWriteSeries10k posts 2,000-sample requests over 10,000
// series of six labels through the handler into a store, as atroz load
// -kind remote-write does; the series exist after the first round, as in a
// steady load.
func BenchmarkRemoteWriteSeries10k(b *testing.B) {
	is := newIngestServer(b, Config{})
	start := ingestNow.UnixMilli() - 3_600_000
	post := func(body []byte) {
		if code, resp := is.write(string(body)); code != 204 {
			b.Fatalf("%d %s", code, resp)
		}
	}
	for _, body := range benchRound(b, start, 0) {
		post(body)
	}
	var bodies [][]byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if i%benchPerRound == 0 {
			b.StopTimer()
			round := 1 + i/benchPerRound
			bodies = benchRound(b, start+int64(round)*benchRoundStep, round)
			b.StartTimer()
		}
		post(bodies[i%benchPerRound])
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPerWrite), "ns/sample")
}

// BenchmarkRemoteWriteDecode decodes a 2,000-sample request of the same
// shape into the batch the store takes, without storing it.
func BenchmarkRemoteWriteDecode(b *testing.B) {
	body := benchRound(b, ingestNow.UnixMilli(), 0)[0]
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.ResetTimer()
	for range b.N {
		wb := getWriteBuffers()
		if err := wb.decode(body); err != nil || wb.n != benchPerWrite {
			b.Fatal(wb.n, err)
		}
		wb.release()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPerWrite), "ns/sample")
}
