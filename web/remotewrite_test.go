package web

import (
	"math"
	"strings"
	"testing"

	"atroz/store"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/prompb"
)

// writeBody encodes series as a remote-write 1.0 body.
func writeBody(t testing.TB, series ...prompb.TimeSeries) string {
	t.Helper()
	raw, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(snappy.Encode(nil, raw))
}

func rwSeries(name, job string, samples ...prompb.Sample) prompb.TimeSeries {
	return prompb.TimeSeries{Labels: []prompb.Label{{Name: "__name__", Value: name}, {Name: "job", Value: job}}, Samples: samples}
}

var rwHeaders = []string{"Content-Encoding", "snappy", "Content-Type", "application/x-protobuf", "X-Prometheus-Remote-Write-Version", "0.1.0"}

func (is *ingestServer) write(body string, header ...string) (int, string) {
	w := is.do("POST", "/api/v1/write", body, append(append([]string{"Authorization", "Bearer " + is.token}, rwHeaders...), header...)...)
	return w.Code, w.Body.String()
}

func TestRemoteWriteStores(t *testing.T) {
	is := newIngestServer(t, Config{MetricsOnMain: true})
	now := ingestNow.UnixMilli()
	body := writeBody(t,
		rwSeries("jobs_done_total", "nightly", prompb.Sample{Timestamp: now - 2000, Value: 40}, prompb.Sample{Timestamp: now - 1000, Value: 42}),
		rwSeries("queue_depth", "nightly", prompb.Sample{Timestamp: now - 1000, Value: math.Float64frombits(value.StaleNaN)}, prompb.Sample{Timestamp: now, Value: 7}),
	)
	if code, resp := is.write(body); code != 204 {
		t.Fatalf("write: %d %s", code, resp)
	}
	got, err := is.db.Select(store.Query{MinT: now - 10_000, MaxT: now + 1, Matchers: []*labels.Matcher{m("job", "nightly")}})
	if err != nil || len(got) != 2 {
		t.Fatalf("select: %v, %d series", err, len(got))
	}
	want := map[string][]store.Sample{
		"jobs_done_total": {{T: now - 2000, V: 40}, {T: now - 1000, V: 42}},
		"queue_depth":     {{T: now, V: 7}}, // the staleness marker is skipped
	}
	for _, s := range got {
		name := s.Labels.Get("__name__")
		if w := want[name]; len(s.Samples) != len(w) || s.Samples[len(w)-1] != w[len(w)-1] || s.Samples[0] != w[0] {
			t.Errorf("%s: %v, want %v", name, s.Samples, w)
		}
	}
	if m := is.metrics(t); !strings.Contains(m, `data_last_sample_timestamp_seconds{source="remote_write"}`) {
		t.Error("remote write is not marked fresh")
	}
}

func TestRemoteWriteRefusals(t *testing.T) {
	is := newIngestServer(t, Config{MetricsOnMain: true})
	now := ingestNow.UnixMilli()
	good := rwSeries("up", "a", prompb.Sample{Timestamp: now, Value: 1})
	f := func(body string, wantCode int, wantErr string, header ...string) {
		t.Helper()
		code, resp := is.write(body, header...)
		if code != wantCode || !strings.Contains(resp, wantErr) {
			t.Fatalf("%d %s\nwant %d with %q", code, resp, wantCode, wantErr)
		}
	}
	f(writeBody(t, good), 401, "unknown or revoked", "Authorization", "Bearer atz_nope")
	f(writeBody(t, good), 415, `Content-Encoding \"gzip\" is not supported`, "Content-Encoding", "gzip")
	f(writeBody(t, good), 415, "only remote write 1.0", "Content-Type", "application/x-protobuf;proto=io.prometheus.write.v2.Request")
	f("not snappy at all", 400, "body: ")
	f(string(snappy.Encode(nil, []byte("\xff\xff\xff garbage"))), 400, "not a prometheus.WriteRequest")
	// One bad sample refuses the whole request: the good series is not stored either.
	f(writeBody(t, good, rwSeries("up", "b", prompb.Sample{Timestamp: now + 3600_000, Value: 1})), 400, "timeseries[1].samples[0]")
	f(writeBody(t, good, prompb.TimeSeries{Labels: []prompb.Label{{Name: "job", Value: "c"}}, Samples: []prompb.Sample{{Timestamp: now, Value: 1}}}), 400, "timeseries[1]")
	f(writeBody(t, good, prompb.TimeSeries{Labels: good.Labels, Histograms: []prompb.Histogram{{Timestamp: now}}}), 400, "native histograms are not supported")
	if n := is.db.Stats().Series; n != 0 {
		t.Errorf("refused writes created %d series", n)
	}
	if m := is.metrics(t); !strings.Contains(m, `ingest_rejected_total{endpoint="remote_write"} 7`) {
		t.Errorf("rejections not counted:\n%s", m)
	}
}

// BenchmarkRemoteWrite measures decoding and storing a 1,000-sample request,
// the size Prometheus sends by default (max_samples_per_send: 2000).
func BenchmarkRemoteWrite(b *testing.B) {
	is := newIngestServer(b, Config{})
	series := make([]prompb.TimeSeries, 100)
	for i := range series {
		series[i] = rwSeries("bench_metric", "j"+string(rune('a'+i%26))+string(rune('a'+i/26)), make([]prompb.Sample, 10)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range series {
			for k := range series[j].Samples {
				series[j].Samples[k] = prompb.Sample{Timestamp: ingestNow.UnixMilli() - 600_000 + int64(i)*10 + int64(k), Value: float64(i)}
			}
		}
		b.StopTimer()
		body := writeBody(b, series...)
		b.StartTimer()
		if code, resp := is.write(body); code != 204 {
			b.Fatalf("%d %s", code, resp)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "samples/s")
}

// FuzzRemoteWriteDecode feeds arbitrary bodies to the remote-write decoder
// and walks the samples it yields: an error is fine, a panic is not.
func FuzzRemoteWriteDecode(f *testing.F) {
	f.Add(writeBody(f, rwSeries("up", "a", prompb.Sample{Timestamp: 1, Value: 1})))
	f.Add(writeBody(f, prompb.TimeSeries{Histograms: []prompb.Histogram{{Timestamp: 1}}}))
	f.Add("")
	f.Fuzz(func(t *testing.T, body string) {
		req, err := decodeWriteRequest([]byte(body))
		if err != nil {
			return
		}
		want := 0
		for _, ts := range req.Timeseries {
			want += len(ts.Samples)
		}
		n := 0
		if err := writeRequestSamples(req)(func(store.Labels, *int64, float64) error { n++; return nil }); err == nil && n != want {
			t.Fatalf("walked %d samples of %d", n, want)
		}
	})
}
