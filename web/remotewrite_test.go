package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/url"
	"strings"
	"testing"

	"atroz/collector"
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
		"queue_depth":     {{T: now - 1000, V: math.Float64frombits(value.StaleNaN)}, {T: now, V: 7}}, // the marker is stored as sent
	}
	for _, s := range got {
		name := s.Labels.Get("__name__")
		if w := want[name]; !sameBits(s.Samples, w) {
			t.Errorf("%s: %v, want %v", name, s.Samples, w)
		}
	}
	if !reported(is.col, collector.EndpointRemoteWrite) {
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
		batch, n, err := writeRequestBatch(req)
		if err == nil && (n != want || len(batch) != len(req.Timeseries)) {
			t.Fatalf("%d samples in %d series, want %d in %d", n, len(batch), want, len(req.Timeseries))
		}
	})
}

// sameBits compares samples bit for bit, so a staleness marker equals only a marker.
func sameBits(got, want []store.Sample) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].T != want[i].T || math.Float64bits(got[i].V) != math.Float64bits(want[i].V) {
			return false
		}
	}
	return true
}

// instant runs an instant query at t (unix ms) and returns the value of
// each series it finds, by job.
func (is *ingestServer) instant(t *testing.T, query string, at int64) map[string]string {
	t.Helper()
	w := is.do("GET", fmt.Sprintf("/api/v1/query?query=%s&time=%.3f", url.QueryEscape(query), float64(at)/1000), "")
	var resp struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || w.Code != 200 {
		t.Fatalf("query %s: %d %s", query, w.Code, w.Body)
	}
	out := map[string]string{}
	for _, r := range resp.Data.Result {
		out[r.Metric["job"]] = fmt.Sprint(r.Value[1])
	}
	return out
}

// TestRemoteWriteStaleMarkerEndsSeries remote-writes what a Prometheus
// sends when a target goes away: its last sample, then a staleness marker.
// A query just before the marker finds the value; one at or after it finds
// nothing, where without the marker the value would linger five minutes.
func TestRemoteWriteStaleMarkerEndsSeries(t *testing.T) {
	is := newIngestServer(t, Config{})
	now := ingestNow.UnixMilli()
	stale := math.Float64frombits(value.StaleNaN)
	body := writeBody(t,
		rwSeries("up", "gone", prompb.Sample{Timestamp: now - 60_000, Value: 1}, prompb.Sample{Timestamp: now - 45_000, Value: 1}, prompb.Sample{Timestamp: now - 30_000, Value: stale}),
		rwSeries("up", "alive", prompb.Sample{Timestamp: now - 60_000, Value: 1}, prompb.Sample{Timestamp: now - 45_000, Value: 1}),
	)
	if code, resp := is.write(body); code != 204 {
		t.Fatalf("write: %d %s", code, resp)
	}
	f := func(at int64, want map[string]string) {
		t.Helper()
		if got := is.instant(t, "up", at); !maps.Equal(got, want) {
			t.Fatalf("up at %+d ms: %v, want %v", at-now, got, want)
		}
	}
	f(now-30_001, map[string]string{"gone": "1", "alive": "1"})
	f(now-30_000, map[string]string{"alive": "1"})
	f(now, map[string]string{"alive": "1"})
	// The marker is no number for functions over a range either.
	if got := is.instant(t, "count_over_time(up[1m])", now-1); got["gone"] != "2" {
		t.Fatalf("count_over_time over the marker: %v, want 2 for gone", got)
	}
}

// TestRemoteWriteRefusesWhole sends, for each reason the store refuses a
// sample, a request that holds good samples too: the answer is 400 naming
// the reason, the count and where the first is, and the store is as before.
func TestRemoteWriteRefusesWhole(t *testing.T) {
	is := newIngestServerWith(t, t.TempDir(), Config{MetricsOnMain: true}, func(o *store.Options) { o.MaxSeries = 4 })
	now := ingestNow.UnixMilli()
	stored := rwSeries("stored", "a", prompb.Sample{Timestamp: now - 10_000, Value: 1})
	if code, resp := is.write(writeBody(t, stored, rwSeries("stored", "b", prompb.Sample{Timestamp: now - 10_000, Value: 1}))); code != 204 {
		t.Fatalf("write: %d %s", code, resp)
	}
	good := rwSeries("fresh", "a", prompb.Sample{Timestamp: now - 5000, Value: 1})
	behind := make([]prompb.Sample, 1000)
	for i := range behind {
		behind[i] = prompb.Sample{Timestamp: now - 20_000 - int64(i), Value: 1}
	}
	many := []prompb.TimeSeries{good}
	for i := range 5 {
		many = append(many, rwSeries("fresh", fmt.Sprint("s", i), prompb.Sample{Timestamp: now, Value: 1}, prompb.Sample{Timestamp: now + 1, Value: 1}))
	}
	f := func(name string, series []prompb.TimeSeries, want ...string) {
		t.Helper()
		before := is.db.Stats()
		samples := fmt.Sprint(is.db.Select(store.Query{MinT: now - 3600_000, MaxT: now + 1, Matchers: []*labels.Matcher{m("__name__", "stored")}}))
		code, resp := is.write(writeBody(t, series...))
		if code != 400 {
			t.Fatalf("%s: %d %s, want 400", name, code, resp)
		}
		for _, w := range append(want, "appended none") {
			if !strings.Contains(resp, w) {
				t.Fatalf("%s: %s\nlacks %q", name, resp, w)
			}
		}
		after := is.db.Stats()
		if after.Series != before.Series || after.Appended != before.Appended || after.HeadSamples != before.HeadSamples {
			t.Fatalf("%s: the store changed: %+v\n%+v", name, before, after)
		}
		if again := fmt.Sprint(is.db.Select(store.Query{MinT: now - 3600_000, MaxT: now + 1, Matchers: []*labels.Matcher{m("__name__", "stored")}})); again != samples {
			t.Fatalf("%s: stored samples changed:\n%s\n%s", name, samples, again)
		}
	}
	f("a thousand samples out of order", []prompb.TimeSeries{good, rwSeries("stored", "a", behind...)},
		"refused 1000 of 1001 samples", "out_of_order 1000", "timeseries[1].samples[0]")
	f("another value at a stored sample's time", []prompb.TimeSeries{good, rwSeries("stored", "a", prompb.Sample{Timestamp: now - 10_000, Value: 2})},
		"refused 1 of 2 samples", "duplicate 1", "timeseries[1].samples[0]")
	// Two series stored, room for two more: good and s0; s1 to s4 are refused.
	f("past the series limit", many, "refused 8 of 11 samples", "series_limit 8", "series limit reached", "timeseries[2].samples[0]")
	f("older than the raw retention", []prompb.TimeSeries{good, rwSeries("stored", "a", prompb.Sample{Timestamp: now - 16*24*3600_000, Value: 1})},
		"too_old 1", "older than the 360h0m0s raw retention", "timeseries[1].samples[0]")
	f("too far ahead", []prompb.TimeSeries{good, rwSeries("stored", "a", prompb.Sample{Timestamp: now + 3600_000, Value: 1})},
		"too_far_in_future 1", "ahead of the clock", "timeseries[1].samples[0]")
	// A resend of what is stored, and the same samples again in the request, are taken.
	if code, resp := is.write(writeBody(t, stored, stored)); code != 204 {
		t.Fatalf("a resend: %d %s", code, resp)
	}
	if m := is.metrics(t); !strings.Contains(m, `ingest_rejected_total{endpoint="remote_write"} 5`) || !strings.Contains(m, `store_samples_refused_total{reason="out_of_order"} 1000`) {
		t.Errorf("refusals not counted:\n%s", m)
	}
}
