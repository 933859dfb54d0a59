package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// otlp posts body to the OTLP route with the ingest token and protobuf's
// content type, both changed by header (name, value, ...).
func (is *ingestServer) otlp(body []byte, header ...string) *httptest.ResponseRecorder {
	return is.do("POST", otlpPath, string(body), append([]string{"Authorization", "Bearer " + is.token, "Content-Type", "application/x-protobuf"}, header...)...)
}

// otlpProto is md as a protobuf ExportMetricsServiceRequest.
func otlpProto(t testing.TB, md pmetric.Metrics) []byte {
	t.Helper()
	b, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gzipped is b compressed with gzip.
func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rpcStatus decodes an OTLP/HTTP error body, a google.rpc.Status in the
// encoding of contentType.
func rpcStatus(contentType string, body []byte) (*status.Status, error) {
	st := &status.Status{}
	if strings.HasPrefix(contentType, "application/json") {
		return st, protojson.Unmarshal(body, st)
	}
	if contentType != "application/x-protobuf" {
		return nil, fmt.Errorf("content type %q", contentType)
	}
	return st, proto.Unmarshal(body, st)
}

// cumulative is the temporality the store keeps.
const cumulative = pmetric.AggregationTemporalityCumulative

// otlpHistogram adds to ms a cumulative histogram called name of one data
// point at t: count, sum and bucket counts over bounds.
func otlpHistogram(ms pmetric.MetricSlice, name string, t time.Time, sum float64, bounds []float64, counts []uint64) pmetric.HistogramDataPoint {
	m := ms.AppendEmpty()
	m.SetName(name)
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(cumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(t.Add(-time.Minute)))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
	dp.ExplicitBounds().FromRaw(bounds)
	dp.BucketCounts().FromRaw(counts)
	var n uint64
	for _, c := range counts {
		n += c
	}
	dp.SetCount(n)
	dp.SetSum(sum)
	return dp
}

// otlpExponential adds to ms a cumulative exponential histogram called
// name of one data point at t, of count values in two positive buckets.
func otlpExponential(ms pmetric.MetricSlice, name string, t time.Time) {
	m := ms.AppendEmpty()
	m.SetName(name)
	h := m.SetEmptyExponentialHistogram()
	h.SetAggregationTemporality(cumulative)
	dp := h.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t))
	dp.SetScale(1)
	dp.Positive().BucketCounts().FromRaw([]uint64{2, 3})
	dp.SetCount(5)
	dp.SetSum(9)
}

// TestOTLPRefusals sends what the OTLP route refuses: each answer has its
// status and names the field or metric at fault and why (a 400 as a
// google.rpc.Status of code 3, INVALID_ARGUMENT, in the request's
// encoding), nothing of any of them is stored, and each bad payload is
// counted in ingest_rejected_total{endpoint="otlp"}.
func TestOTLPRefusals(t *testing.T) {
	is := newIngestServer(t, Config{MetricsOnMain: true, MaxImportBytes: 64 << 10})
	now := ingestNow
	good := otlpProto(t, otlpRequest("billing", func(ms pmetric.MetricSlice) { otlpGauge(ms, "queue.depth", now, 1) }))
	refused := 0
	// f sends body; every answer is a google.rpc.Status in the request's
	// encoding, the middleware's too: code 16 (UNAUTHENTICATED) for the
	// token check's 401, else 3 (INVALID_ARGUMENT). The route's own
	// refusals are counted; the token check's and the body limit's (which
	// come before it) are not. Its text names want.
	f := func(name string, body []byte, wantCode int, want []string, header ...string) {
		t.Helper()
		w := is.otlp(body, header...)
		if w.Code != wantCode {
			t.Fatalf("%s: %d %q, want %d", name, w.Code, w.Body, wantCode)
		}
		wantRPC := int32(3)
		if wantCode == 401 {
			wantRPC = 16
		}
		st, err := rpcStatus(w.Header().Get("Content-Type"), w.Body.Bytes())
		if err != nil || st.Code != wantRPC {
			t.Fatalf("%s: %s %q is not a google.rpc.Status of code %d: %v", name, w.Header().Get("Content-Type"), w.Body, wantRPC, err)
		}
		text := st.Message
		if wantCode != 401 && !strings.Contains(text, "body exceeds") {
			refused++
		}
		for _, s := range want {
			if !strings.Contains(text, s) {
				t.Fatalf("%s: %q lacks %q", name, text, s)
			}
		}
	}
	f("no token", good, 401, []string{"unknown or revoked"}, "Authorization", "Bearer atz_nope")
	f("truncated protobuf", good[:len(good)-3], 400, []string{"body", "ExportMetricsServiceRequest"})
	f("garbage protobuf", []byte("\xff\xff\xff garbage"), 400, []string{"body", "ExportMetricsServiceRequest"})
	f("malformed JSON", []byte(`{"resourceMetrics": [{"resource": `), 400, []string{"body", "ExportMetricsServiceRequest"}, "Content-Type", "application/json")
	f("text", good, 415, []string{`Content-Type "text/plain"`}, "Content-Type", "text/plain")
	f("brotli", good, 415, []string{`Content-Encoding "br"`}, "Content-Encoding", "br")
	f("not gzip", good, 400, []string{"body is not gzip"}, "Content-Encoding", "gzip")
	f("past the limit", bytes.Repeat(good, 64<<10/len(good)+1), 413, []string{"body exceeds 65536 bytes"})
	f("inflating past the limit", gzipped(t, bytes.Repeat(good, 64<<10/len(good)+1)), 413, []string{"inflates past 65536 bytes"}, "Content-Encoding", "gzip")

	// A bad data point refuses the whole request: the good gauge beside it
	// is not stored either. Delta sums and exponential histograms are
	// refused only when nothing else is left (see TestOTLPPartialSuccess).
	type payload struct {
		name        string
		add         func(pmetric.MetricSlice)
		alone, json bool // sent without the good gauge; in JSON too (which has no NaN or Infinity)
		want        []string
	}
	for _, c := range []payload{
		{name: "NaN", add: func(ms pmetric.MetricSlice) { otlpGauge(ms, "queue.depth", now, math.NaN()) },
			want: []string{`metrics[1].gauge ("queue.depth").dataPoints[0].asDouble`, "NaN", "finite"}},
		{name: "+Inf", add: func(ms pmetric.MetricSlice) { otlpSum(ms, "orders", cumulative, now, math.Inf(1)) },
			want: []string{`metrics[1].sum ("orders").dataPoints[0].asDouble`, "+Inf", "finite"}},
		{name: "+Inf histogram sum", add: func(ms pmetric.MetricSlice) {
			otlpHistogram(ms, "payload", now, math.Inf(1), []float64{1}, []uint64{1, 0})
		},
			want: []string{`metrics[1].histogram ("payload").dataPoints[0].sum`, "+Inf"}},
		{name: "too many attributes", json: true, add: func(ms pmetric.MetricSlice) { otlpGauge(ms, "wide", now, 1, manyAttributes(store.DefaultMaxLabels)...) },
			want: []string{`metrics[1].gauge ("wide").dataPoints[0].attributes`, "32 attributes", "at most 29"}},
		{name: "delta only", alone: true, json: true, add: func(ms pmetric.MetricSlice) { otlpSum(ms, "orders", pmetric.AggregationTemporalityDelta, now, 3) },
			want: []string{`"orders"`, "delta temporality", "cumulative temporality", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative"}},
		{name: "exponential only", alone: true, json: true, add: func(ms pmetric.MetricSlice) { otlpExponential(ms, "latency", now) },
			want: []string{`"latency"`, "exponential histograms are not supported"}},
	} {
		md := otlpRequest("billing", func(ms pmetric.MetricSlice) {
			if !c.alone {
				otlpGauge(ms, "fine", now, 1)
			}
			c.add(ms)
		})
		f(c.name, otlpProto(t, md), 400, c.want)
		if c.json {
			body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			f(c.name+" in JSON", body, 400, c.want, "Content-Type", "application/json")
		}
	}

	if n := is.db.Stats().Series; n != 0 {
		t.Errorf("refused requests created %d series", n)
	}
	if m := is.metrics(t); !strings.Contains(m, fmt.Sprintf(`ingest_rejected_total{endpoint="otlp"} %d`, refused)) {
		t.Errorf("want %d refusals counted:\n%s", refused, grepLines(m, "ingest_rejected_total"))
	}
}

// manyAttributes returns n attributes (name, value, ...).
func manyAttributes(n int) []string {
	var kv []string
	for i := range n {
		kv = append(kv, fmt.Sprintf("attr.%02d", i), "v")
	}
	return kv
}

// TestOTLPPartialSuccess sends a cumulative counter beside a delta one and
// an exponential histogram: 200 with a partial success that counts the two
// data points rejected and names the first metric and why, in the
// request's encoding; the cumulative counter is stored.
func TestOTLPPartialSuccess(t *testing.T) {
	is := newIngestServer(t, Config{MetricsOnMain: true})
	now := ingestNow
	md := otlpRequest("billing", func(ms pmetric.MetricSlice) {
		otlpSum(ms, "orders.cumulative", cumulative, now, 3)
		otlpSum(ms, "orders.delta", pmetric.AggregationTemporalityDelta, now, 1)
		otlpExponential(ms, "latency", now)
	})
	for _, enc := range []string{"application/x-protobuf", "application/json"} {
		req := pmetricotlp.NewExportRequestFromMetrics(md)
		body, err := req.MarshalProto()
		if enc == "application/json" {
			body, err = req.MarshalJSON()
		}
		if err != nil {
			t.Fatal(err)
		}
		w := is.otlp(body, "Content-Type", enc)
		if w.Code != 200 || w.Header().Get("Content-Type") != enc {
			t.Fatalf("%s: %d %s %q", enc, w.Code, w.Header().Get("Content-Type"), w.Body)
		}
		resp := pmetricotlp.NewExportResponse()
		if enc == "application/json" {
			err = resp.UnmarshalJSON(w.Body.Bytes())
		} else {
			err = resp.UnmarshalProto(w.Body.Bytes())
		}
		if err != nil {
			t.Fatalf("%s: response %q: %v", enc, w.Body, err)
		}
		ps := resp.PartialSuccess()
		msg := ps.ErrorMessage()
		if ps.RejectedDataPoints() != 2 || !strings.Contains(msg, `"orders.delta"`) || !strings.Contains(msg, "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative") {
			t.Errorf("%s: partial success of %d data points, %q; want 2, naming orders.delta and cumulative temporality", enc, ps.RejectedDataPoints(), msg)
		}
	}
	wantStored(t, is.db, ".+", map[string]float64{seriesKey("orders_cumulative_total", "job", "billing", "instance", "billing-1"): 3})
	if m := is.metrics(t); !strings.Contains(m, `ingest_rejected_total{endpoint="otlp"} 0`) {
		t.Errorf("a partial success counted as a refusal:\n%s", grepLines(m, "ingest_rejected_total"))
	}
}
