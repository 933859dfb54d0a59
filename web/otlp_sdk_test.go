package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
)

// otlpPath is the OTLP/HTTP metrics route.
const otlpPath = "/api/v1/otlp/v1/metrics"

// durationBounds are the semantic conventions' advised buckets of
// http.server.request.duration, in seconds.
var durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// serviceResource is the resource of service name in the shop namespace,
// its instance name-1, in the test environment.
func serviceResource(name string) *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(name), semconv.ServiceNamespace("shop"), semconv.ServiceInstanceID(name+"-1"),
		semconv.DeploymentEnvironmentName("test"))
}

// otlpProvider is a MeterProvider of res that exports to ls's OTLP route
// with the ingest token, cumulative, on ForceFlush only (its interval is an
// hour), and never retries, so a refusal is ForceFlush's error. opts add
// to the exporter's options. It shuts down when the test ends.
func otlpProvider(t testing.TB, ls *liveServer, res *resource.Resource, opts ...otlpmetrichttp.Option) *sdkmetric.MeterProvider {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	exp, err := otlpmetrichttp.New(context.Background(), append([]otlpmetrichttp.Option{
		otlpmetrichttp.WithEndpointURL(ls.url + otlpPath),
		otlpmetrichttp.WithHeaders(map[string]string{"Authorization": "Bearer " + ls.token}),
		otlpmetrichttp.WithTemporalitySelector(sdkmetric.DefaultTemporalitySelector),
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}),
		otlpmetrichttp.WithHTTPClient(&http.Client{Transport: tr, Timeout: 10 * time.Second}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() {
		if err := mp.Shutdown(context.Background()); err != nil {
			t.Errorf("meter provider shutdown: %v", err)
		}
	})
	return mp
}

// flush exports what mp holds now, and fails the test if the export fails.
func flush(t testing.TB, mp *sdkmetric.MeterProvider) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
}

// serverDuration is the semantic conventions' HTTP server duration
// histogram on mp, in seconds over their advised buckets.
func serverDuration(t testing.TB, mp *sdkmetric.MeterProvider) metric.Float64Histogram {
	t.Helper()
	h, err := mp.Meter("net/http").Float64Histogram("http.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."), metric.WithExplicitBucketBoundaries(durationBounds...))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// appInstruments are a service's own instruments: an order counter, a
// queue depth gauge and a payload size histogram (bytes, buckets at 100,
// 1000 and 10000).
type appInstruments struct {
	orders metric.Int64Counter
	depth  metric.Float64Gauge
	size   metric.Int64Histogram
}

// newAppInstruments creates appInstruments on mp.
func newAppInstruments(t testing.TB, mp *sdkmetric.MeterProvider) appInstruments {
	t.Helper()
	meter := mp.Meter("shop/billing")
	orders, err1 := meter.Int64Counter("app.orders", metric.WithUnit("{order}"))
	depth, err2 := meter.Float64Gauge("app.queue.depth")
	size, err3 := meter.Int64Histogram("app.payload.size", metric.WithUnit("By"), metric.WithExplicitBucketBoundaries(100, 1000, 10000))
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	return appInstruments{orders: orders, depth: depth, size: size}
}

// storedLastAll returns the last value of every series of db matched by
// ms, up to an hour from now, by the series' labels (store.Labels.String).
func storedLastAll(t testing.TB, db *store.DB, ms ...*labels.Matcher) map[string]float64 {
	t.Helper()
	got, err := db.Select(store.Query{MinT: 0, MaxT: time.Now().Add(time.Hour).UnixMilli(), Matchers: ms})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range got {
		if len(s.Samples) > 0 {
			out[s.Labels.String()] = s.Samples[len(s.Samples)-1].V
		}
	}
	return out
}

// seriesKey is the store's name for the series of metric name and labels kv
// (name, value, ...): store.Labels.String of them sorted.
func seriesKey(name string, kv ...string) string {
	ls := store.Labels{{Name: "__name__", Value: name}}
	for i := 0; i+1 < len(kv); i += 2 {
		ls = append(ls, store.Label{Name: kv[i], Value: kv[i+1]})
	}
	slices.SortFunc(ls, func(a, b store.Label) int { return strings.Compare(a.Name, b.Name) })
	return ls.String()
}

// wantStored fails the test unless the series of db whose name matches
// the regular expression name, and their last values, are want's, to
// within 1e-9.
func wantStored(t testing.TB, db *store.DB, name string, want map[string]float64) {
	t.Helper()
	got := storedLastAll(t, db, labels.MustNewMatcher(labels.MatchRegexp, "__name__", name))
	if !maps.EqualFunc(got, want, func(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }) {
		t.Errorf("%s stored:\n%v\nwant\n%v", name, got, want)
	}
}

// TestOTLPFromTheSDK exports a counter, a gauge, a byte-size histogram and
// the HTTP server duration histogram through the OpenTelemetry Go SDK's
// OTLP/HTTP exporter (protobuf) to a running server, and reads each back
// from the store under Prometheus 3's names and labels, with target_info
// for the resource and AtroZ's own request metrics for the HTTP server
// histogram; a second export after more recordings is cumulative.
func TestOTLPFromTheSDK(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	mp := otlpProvider(t, ls, serviceResource("billing"))
	app := newAppInstruments(t, mp)
	orders, depth, size := app.orders, app.depth, app.size
	dur := serverDuration(t, mp)
	card := metric.WithAttributes(attribute.String("payment.method", "card"))
	ctx := context.Background()
	id := []string{"job", "shop/billing", "instance", "billing-1"}
	with := func(kv ...string) []string { return append(slices.Clone(id), kv...) }

	orders.Add(ctx, 3, card)
	depth.Record(ctx, 7.5)
	for _, b := range []int64{50, 500, 5000} {
		size.Record(ctx, b)
	}
	traffic := []request{{"/invoices/:id", "GET", 200, 2, 0.02}, {"/invoices/:id", "GET", 500, 1, 1.5}, {"/pay", "POST", 200, 1, 0.04}}
	served(dur, traffic...)
	flush(t, mp)

	wantStored(t, ls.db, "app_orders_total", map[string]float64{seriesKey("app_orders_total", with("payment_method", "card")...): 3})
	wantStored(t, ls.db, "app_queue_depth", map[string]float64{seriesKey("app_queue_depth", id...): 7.5})
	wantStored(t, ls.db, "app_payload_size_bytes_bucket", map[string]float64{
		seriesKey("app_payload_size_bytes_bucket", with("le", "100")...):   1,
		seriesKey("app_payload_size_bytes_bucket", with("le", "1000")...):  2,
		seriesKey("app_payload_size_bytes_bucket", with("le", "10000")...): 3,
		seriesKey("app_payload_size_bytes_bucket", with("le", "+Inf")...):  3,
	})
	wantStored(t, ls.db, "app_payload_size_bytes_sum", map[string]float64{seriesKey("app_payload_size_bytes_sum", id...): 5550})
	wantStored(t, ls.db, "app_payload_size_bytes_count", map[string]float64{seriesKey("app_payload_size_bytes_count", id...): 3})
	wantStored(t, ls.db, "target_info", map[string]float64{seriesKey("target_info", with("deployment_environment_name", "test")...): 1})
	wantRequests(t, ls.db, "billing", traffic)

	orders.Add(ctx, 2, card)
	depth.Record(ctx, 4)
	size.Record(ctx, 20_000)
	more := request{"/pay", "POST", 200, 3, 0.04}
	served(dur, more)
	traffic[2].n += more.n
	flush(t, mp)
	wantStored(t, ls.db, "app_orders_total", map[string]float64{seriesKey("app_orders_total", with("payment_method", "card")...): 5})
	wantStored(t, ls.db, "app_queue_depth", map[string]float64{seriesKey("app_queue_depth", id...): 4})
	wantStored(t, ls.db, "app_payload_size_bytes_count", map[string]float64{seriesKey("app_payload_size_bytes_count", id...): 4})
	wantStored(t, ls.db, "app_payload_size_bytes_sum", map[string]float64{seriesKey("app_payload_size_bytes_sum", id...): 25550})
	wantStored(t, ls.db, "app_payload_size_bytes_bucket", map[string]float64{
		seriesKey("app_payload_size_bytes_bucket", with("le", "100")...):   1,
		seriesKey("app_payload_size_bytes_bucket", with("le", "1000")...):  2,
		seriesKey("app_payload_size_bytes_bucket", with("le", "10000")...): 3,
		seriesKey("app_payload_size_bytes_bucket", with("le", "+Inf")...):  4,
	})
	wantRequests(t, ls.db, "billing", traffic)
	if text := metricsText(t, ls); !strings.Contains(text, `ingest_rejected_total{endpoint="otlp"} 0`) {
		t.Errorf("/metrics does not count the otlp endpoint's refusals at 0:\n%s", grepLines(text, "ingest_rejected_total"))
	}
}

// request is n HTTP requests of route, method and status code, each taking d seconds.
type request struct {
	route, method string
	code, n       int
	d             float64
}

// served records reqs on h.
func served(h metric.Float64Histogram, reqs ...request) {
	for _, r := range reqs {
		set := metric.WithAttributeSet(attribute.NewSet(semconv.HTTPRoute(r.route), semconv.HTTPRequestMethodKey.String(r.method), semconv.HTTPResponseStatusCode(r.code)))
		for range r.n {
			h.Record(context.Background(), r.d, set)
		}
	}
}

// wantRequests checks the HTTP server duration histogram of service (job
// shop/service, instance service-1) holding reqs (one of each route,
// method and code): stored under Prometheus' names and labels, and again
// as AtroZ's request metrics by service, route, method and code, with
// http_requests_total the histogram's count.
func wantRequests(t testing.TB, db *store.DB, service string, reqs []request) {
	t.Helper()
	for _, name := range []string{"http_server_request_duration_seconds", "http_request_duration_seconds"} {
		buckets, sums, counts, totals := map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
		for _, r := range reqs {
			code := strconv.Itoa(r.code)
			kv := []string{"http_route", r.route, "http_request_method", r.method, "http_response_status_code", code, "job", "shop/" + service, "instance", service + "-1"}
			if name == "http_request_duration_seconds" {
				kv = []string{"service", service, "route", r.route, "method", r.method, "code", code, "instance", service + "-1"}
			}
			for _, le := range append(slices.Clone(durationBounds), math.Inf(1)) {
				n := 0.0
				if r.d <= le {
					n = float64(r.n)
				}
				buckets[seriesKey(name+"_bucket", append(kv, "le", formatLe(le))...)] = n
			}
			sums[seriesKey(name+"_sum", kv...)] = float64(r.n) * r.d
			counts[seriesKey(name+"_count", kv...)] = float64(r.n)
			totals[seriesKey("http_requests_total", kv...)] = float64(r.n)
		}
		wantStored(t, db, name+"_bucket", buckets)
		wantStored(t, db, name+"_sum", sums)
		wantStored(t, db, name+"_count", counts)
		if name == "http_request_duration_seconds" {
			wantStored(t, db, "http_requests_total", totals)
		}
	}
}

// formatLe is a bucket bound as Prometheus' OTLP translator writes it in le.
func formatLe(le float64) string {
	if math.IsInf(le, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(le, 'f', -1, 64)
}

// TestOTLPGzipFromTheSDK exports through the SDK with gzip compression:
// the server inflates the body and stores the counter.
func TestOTLPGzipFromTheSDK(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	mp := otlpProvider(t, ls, serviceResource("checkout"), otlpmetrichttp.WithCompression(otlpmetrichttp.GzipCompression))
	app := newAppInstruments(t, mp)
	app.orders.Add(context.Background(), 9, metric.WithAttributes(attribute.String("payment.method", "cash")))
	flush(t, mp)
	wantStored(t, ls.db, "app_orders_total", map[string]float64{
		seriesKey("app_orders_total", "job", "shop/checkout", "instance", "checkout-1", "payment_method", "cash"): 9,
	})
}

// TestOTLPJSON posts a request in OTLP's JSON encoding, as pmetricotlp
// writes it: 200 with an ExportMetricsServiceResponse in JSON, no partial
// success, and the gauge and counter stored.
func TestOTLPJSON(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	now := time.Now()
	md := otlpRequest("ledger", func(ms pmetric.MetricSlice) {
		otlpGauge(ms, "ledger.balance", now, 12.5, "currency", "EUR")
		otlpSum(ms, "ledger.entries", pmetric.AggregationTemporalityCumulative, now, 42)
		ms.At(ms.Len() - 1).SetUnit("{entry}")
	})
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	code, ctype, resp := ls.postOTLP(t, body, "Content-Type", "application/json")
	if code != 200 || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("%d %s %s", code, ctype, resp)
	}
	er := pmetricotlp.NewExportResponse()
	if err := er.UnmarshalJSON(resp); err != nil {
		t.Fatalf("response %s: %v", resp, err)
	}
	if ps := er.PartialSuccess(); ps.RejectedDataPoints() != 0 || ps.ErrorMessage() != "" {
		t.Errorf("partial success %d %q, want none", ps.RejectedDataPoints(), ps.ErrorMessage())
	}
	id := []string{"job", "ledger", "instance", "ledger-1"}
	wantStored(t, ls.db, "ledger_balance", map[string]float64{seriesKey("ledger_balance", append(id, "currency", "EUR")...): 12.5})
	wantStored(t, ls.db, "ledger_entries_total", map[string]float64{seriesKey("ledger_entries_total", id...): 42})
}

// postOTLP posts body to the OTLP route with the ingest token and
// protobuf's content type, both changed by header (name, value, ...); it
// returns the status, the response's content type and body.
func (ls *liveServer) postOTLP(t testing.TB, body []byte, header ...string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", ls.url+otlpPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ls.token)
	req.Header.Set("Content-Type", "application/x-protobuf")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// otlpRequest is an OTLP request of one resource (service.name service,
// service.instance.id service-1) and one scope, with the metrics add adds.
func otlpRequest(service string, add func(pmetric.MetricSlice)) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", service)
	rm.Resource().Attributes().PutStr("service.instance.id", service+"-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("atroz/web/test")
	add(sm.Metrics())
	return md
}

// otlpGauge adds to ms a gauge called name of one data point, v at t,
// with the attributes kv (name, value, ...).
func otlpGauge(ms pmetric.MetricSlice, name string, t time.Time, v float64, kv ...string) pmetric.NumberDataPoint {
	m := ms.AppendEmpty()
	m.SetName(name)
	return numberPoint(m.SetEmptyGauge().DataPoints(), t, v, kv)
}

// otlpSum adds to ms a monotonic sum called name of temporality, of one
// data point, v at t, with the attributes kv (name, value, ...).
func otlpSum(ms pmetric.MetricSlice, name string, temporality pmetric.AggregationTemporality, t time.Time, v float64, kv ...string) pmetric.NumberDataPoint {
	m := ms.AppendEmpty()
	m.SetName(name)
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(temporality)
	return numberPoint(s.DataPoints(), t, v, kv)
}

func numberPoint(dps pmetric.NumberDataPointSlice, t time.Time, v float64, kv []string) pmetric.NumberDataPoint {
	dp := dps.AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(t.Add(-time.Minute)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
	dp.SetDoubleValue(v)
	for i := 0; i+1 < len(kv); i += 2 {
		dp.Attributes().PutStr(kv[i], kv[i+1])
	}
	return dp
}
