package web

import (
	"strconv"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// BenchmarkOTLPWrite measures decoding, translating and storing a
// 1,000-data-point OTLP/HTTP protobuf request through the handler, the
// shape of BenchmarkRemoteWrite: a gauge of 100 series (by attribute) of
// 10 points each, so the two compare per sample.
func BenchmarkOTLPWrite(b *testing.B) {
	is := newIngestServer(b, Config{})
	md := otlpRequest("bench", func(ms pmetric.MetricSlice) {
		m := ms.AppendEmpty()
		m.SetName("bench.metric")
		dps := m.SetEmptyGauge().DataPoints()
		for j := range 100 {
			for range 10 {
				dps.AppendEmpty().Attributes().PutStr("j", "j"+strconv.Itoa(j))
			}
		}
	})
	dps := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Gauge().DataPoints()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		for d := range dps.Len() {
			at := ingestNow.Add(-10*time.Minute + time.Duration(i*10+d%10)*time.Millisecond)
			dps.At(d).SetTimestamp(pcommon.NewTimestampFromTime(at))
			dps.At(d).SetDoubleValue(float64(i))
		}
		body := otlpProto(b, md)
		b.StartTimer()
		if w := is.otlp(body); w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "samples/s")
}
