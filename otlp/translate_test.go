package otlp

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

var testNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// shop returns a request of one resource (service shop in namespace web,
// instance i-1, one more attribute) whose scope holds the metrics add makes.
func shop(add func(ms pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	attrs := rm.Resource().Attributes()
	attrs.PutStr("service.name", "shop")
	attrs.PutStr("service.namespace", "web")
	attrs.PutStr("service.instance.id", "i-1")
	attrs.PutStr("deployment.environment", "prod")
	add(rm.ScopeMetrics().AppendEmpty().Metrics())
	return md
}

func counter(ms pmetric.MetricSlice, name, unit string, temporality pmetric.AggregationTemporality, v float64) {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetUnit(unit)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(temporality)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(testNow))
	dp.SetDoubleValue(v)
	dp.Attributes().PutStr("kind", "online")
}

// duration adds http.server.request.duration points: per route and code,
// count requests with the given bucket counts over bounds 0.1, 0.5, 1.
func duration(ms pmetric.MetricSlice, points ...[]any) {
	m := ms.AppendEmpty()
	m.SetName("http.server.request.duration")
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	for _, p := range points {
		dp := h.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(testNow))
		dp.Attributes().PutStr("http.route", p[0].(string))
		dp.Attributes().PutStr("http.request.method", "GET")
		dp.Attributes().PutInt("http.response.status_code", int64(p[1].(int)))
		dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
		counts := p[2].([]uint64)
		dp.BucketCounts().FromRaw(counts)
		var n uint64
		for _, c := range counts {
			n += c
		}
		dp.SetCount(n)
		dp.SetSum(p[3].(float64))
	}
}

// series returns the batch as sorted "name{k=v,...} value" lines.
func series(batch []store.SeriesSamples) []string {
	var out []string
	for _, s := range batch {
		ls := slices.Clone(s.Labels)
		slices.SortFunc(ls, func(a, b store.Label) int { return strings.Compare(a.Name, b.Name) })
		var name string
		var kv []string
		for _, l := range ls {
			if l.Name == "__name__" {
				name = l.Value
				continue
			}
			kv = append(kv, l.Name+"="+l.Value)
		}
		for _, smp := range s.Samples {
			out = append(out, name+"{"+strings.Join(kv, ",")+"} "+strconv.FormatFloat(smp.V, 'g', -1, 64))
		}
	}
	slices.Sort(out)
	return out
}

// TestTranslateAsPrometheus3 translates a counter and the HTTP server
// duration: names and labels as Prometheus 3 gives them, target_info with
// the other resource attribute, and AtroZ's request metrics under the
// service's name.
func TestTranslateAsPrometheus3(t *testing.T) {
	md := shop(func(ms pmetric.MetricSlice) {
		counter(ms, "app.orders", "{order}", pmetric.AggregationTemporalityCumulative, 7)
		duration(ms, []any{"/pay", 200, []uint64{3, 1, 0, 0}, 0.6}, []any{"/pay", 500, []uint64{0, 0, 1, 1}, 2.1})
	})
	res, err := Translate(t.Context(), md, store.DefaultMaxLabels)
	if err != nil {
		t.Fatal(err)
	}
	got := series(res.Batch)
	want := []string{
		`app_orders_total{instance=i-1,job=web/shop,kind=online} 7`,
		`http_request_duration_seconds_bucket{code=200,instance=i-1,le=+Inf,method=GET,route=/pay,service=shop} 4`,
		`http_request_duration_seconds_bucket{code=200,instance=i-1,le=0.1,method=GET,route=/pay,service=shop} 3`,
		`http_request_duration_seconds_bucket{code=500,instance=i-1,le=1,method=GET,route=/pay,service=shop} 1`,
		`http_request_duration_seconds_count{code=500,instance=i-1,method=GET,route=/pay,service=shop} 2`,
		`http_request_duration_seconds_sum{code=500,instance=i-1,method=GET,route=/pay,service=shop} 2.1`,
		`http_requests_total{code=200,instance=i-1,method=GET,route=/pay,service=shop} 4`,
		`http_requests_total{code=500,instance=i-1,method=GET,route=/pay,service=shop} 2`,
		`http_server_request_duration_seconds_bucket{http_request_method=GET,http_response_status_code=200,http_route=/pay,instance=i-1,job=web/shop,le=0.5} 4`,
		`http_server_request_duration_seconds_count{http_request_method=GET,http_response_status_code=500,http_route=/pay,instance=i-1,job=web/shop} 2`,
		`target_info{deployment_environment=prod,instance=i-1,job=web/shop} 1`,
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s", w)
		}
	}
	if t.Failed() {
		t.Logf("got:\n%s", strings.Join(got, "\n"))
	}
	// 1 counter point and 2 histogram points; 2×(4 buckets+sum+count) each
	// way, 2 totals, the counter and target_info.
	if res.Kept != 3 || res.Rejected != 0 || res.Samples != 1+2*6*2+2+1 {
		t.Errorf("kept %d, rejected %d, %d samples", res.Kept, res.Rejected, res.Samples)
	}
}

// TestTranslateRejectsWhatTheStoreCannotKeep keeps the cumulative counter
// and counts the delta one and the exponential histogram as rejected,
// saying why.
func TestTranslateRejectsWhatTheStoreCannotKeep(t *testing.T) {
	md := shop(func(ms pmetric.MetricSlice) {
		counter(ms, "app.orders", "", pmetric.AggregationTemporalityCumulative, 7)
		counter(ms, "app.clicks", "", pmetric.AggregationTemporalityDelta, 3)
		e := ms.AppendEmpty()
		e.SetName("app.latency")
		e.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
	})
	res, err := Translate(t.Context(), md, store.DefaultMaxLabels)
	if err != nil {
		t.Fatal(err)
	}
	if res.Kept != 1 || res.Rejected != 2 || !strings.Contains(res.Message, `metric "app.clicks": delta temporality is not supported`) {
		t.Fatalf("kept %d, rejected %d: %s", res.Kept, res.Rejected, res.Message)
	}
	for _, s := range series(res.Batch) {
		if strings.Contains(s, "clicks") || strings.Contains(s, "latency") {
			t.Fatalf("a rejected metric was translated: %s", s)
		}
	}
}

func TestTranslateRefusesBadInput(t *testing.T) {
	f := func(name string, md pmetric.Metrics, field, reason string) {
		t.Helper()
		_, err := Translate(t.Context(), md, 8)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != field || !strings.Contains(fe.Reason, reason) {
			t.Errorf("%s: %v, want %s %s", name, err, field, reason)
		}
	}
	f("NaN", shop(func(ms pmetric.MetricSlice) {
		counter(ms, "app.orders", "", pmetric.AggregationTemporalityCumulative, math.NaN())
	}),
		`resourceMetrics[0].scopeMetrics[0].metrics[0].sum ("app.orders").dataPoints[0].asDouble`, "is NaN")
	f("+Inf", shop(func(ms pmetric.MetricSlice) {
		counter(ms, "a", "", pmetric.AggregationTemporalityCumulative, 1)
		counter(ms, "app.orders", "", pmetric.AggregationTemporalityCumulative, math.Inf(1))
	}), `resourceMetrics[0].scopeMetrics[0].metrics[1].sum ("app.orders").dataPoints[0].asDouble`, "is +Inf")
	f("attributes", shop(func(ms pmetric.MetricSlice) {
		counter(ms, "app.orders", "", pmetric.AggregationTemporalityCumulative, 1)
		for i := range 5 {
			ms.At(0).Sum().DataPoints().At(0).Attributes().PutInt("a"+strconv.Itoa(i), 1)
		}
	}), `resourceMetrics[0].scopeMetrics[0].metrics[0].sum ("app.orders").dataPoints[0].attributes`, "has 6 attributes, at most 5 allowed")
}

// BenchmarkTranslate translates a request of 100 gauge series of 10
// points each, the size BenchmarkRemoteWrite sends.
func BenchmarkTranslate(b *testing.B) {
	md := shop(func(ms pmetric.MetricSlice) {
		for i := range 100 {
			m := ms.AppendEmpty()
			m.SetName("app.queue.depth." + strconv.Itoa(i))
			g := m.SetEmptyGauge()
			for k := range 10 {
				dp := g.DataPoints().AppendEmpty()
				dp.SetTimestamp(pcommon.NewTimestampFromTime(testNow.Add(time.Duration(k) * time.Second)))
				dp.SetDoubleValue(float64(k))
			}
		}
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Translate(b.Context(), md, store.DefaultMaxLabels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "samples/s")
}
