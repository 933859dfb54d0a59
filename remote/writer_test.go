package remote

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// receiver is a remote-write endpoint that answers with the statuses in
// codes, one per request (200 once they run out), and keeps what it took.
type receiver struct {
	mu      sync.Mutex
	codes   []int
	got     map[string][]prompb.Sample // by the labels' text
	auth    []string
	entered int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	raw, err := snappy.Decode(nil, body)
	var wr prompb.WriteRequest
	if err != nil || wr.Unmarshal(raw) != nil || req.Header.Get("Content-Encoding") != "snappy" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entered++
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	if len(r.codes) > 0 {
		code := r.codes[0]
		r.codes = r.codes[1:]
		if code != http.StatusOK {
			http.Error(w, "no", code)
			return
		}
	}
	for _, ts := range wr.Timeseries {
		var b strings.Builder
		for i, l := range ts.Labels {
			if i > 0 && ts.Labels[i-1].Name >= l.Name {
				http.Error(w, "labels not sorted", http.StatusBadRequest)
				return
			}
			b.WriteString(l.Name + "=" + l.Value + ",")
		}
		r.got[b.String()] = append(r.got[b.String()], ts.Samples...)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) samples() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.got {
		n += len(s)
	}
	return n
}

func startWriter(t *testing.T, cfg Config, codes ...int) (*Writer, *receiver, *metrics.Set) {
	t.Helper()
	rcv := &receiver{codes: codes, got: map[string][]prompb.Sample{}}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	cfg.URL = srv.URL + "/api/v1/write"
	cfg.MinBackoff, cfg.MaxBackoff = time.Millisecond, 5*time.Millisecond
	cfg.BatchDelay = 10 * time.Millisecond
	set := metrics.NewSet()
	w, err := New(cfg, srv.Client(), set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return w, rcv, set
}

func series(name string, from, n int) store.SeriesSamples {
	s := store.SeriesSamples{Labels: store.Labels{{Name: "job", Value: "x"}, {Name: "__name__", Value: name}}}
	for i := range n {
		s.Samples = append(s.Samples, store.Sample{T: int64(from + i), V: float64(from + i)})
	}
	return s
}

func metricText(set *metrics.Set) string {
	var b strings.Builder
	set.WritePrometheus(&b)
	return b.String()
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestWriterDeliversInOrder sends 3 flushes of 2 series through 500s and a
// 429 and checks every sample arrives once, in order, with labels sorted.
func TestWriterDeliversInOrder(t *testing.T) {
	w, rcv, set := startWriter(t, Config{BearerToken: "tok", BatchSamples: 50}, 500, 429, 503)
	for f := range 3 {
		w.Enqueue([]store.SeriesSamples{series("a", f*100, 100), series("b", f*100, 100)})
	}
	closeWriter(t, w)
	if n := rcv.samples(); n != 600 {
		t.Fatalf("received %d samples, want 600", n)
	}
	for key, got := range rcv.got {
		for i, s := range got {
			if s.Timestamp != int64(i) || s.Value != float64(i) {
				t.Fatalf("%s: sample %d is %+v: out of order or duplicated", key, i, s)
			}
		}
	}
	m := metricText(set)
	for _, line := range []string{`result="sent"} 600`, `result="failed"} 0`, `result="dropped"} 0`, `remote_write_retries_total{url="` + w.cfg.URL + `"} 3`, `remote_write_queue_length{url="` + w.cfg.URL + `"} 0`, `remote_write_lag_seconds{url="` + w.cfg.URL + `"} 0`} {
		if !strings.Contains(m, line) {
			t.Errorf("metrics lack %s:\n%s", line, m)
		}
	}
	if rcv.auth[0] != "Bearer tok" {
		t.Errorf("Authorization %q", rcv.auth[0])
	}
}

// TestWriterDropsRefusedBatch counts a batch a receiver refuses with 400 as
// failed, without retrying it, and sends the next.
func TestWriterDropsRefusedBatch(t *testing.T) {
	w, rcv, set := startWriter(t, Config{Username: "u", Password: "p", Shards: 1}, 400)
	w.Enqueue([]store.SeriesSamples{series("a", 0, 10)})
	closeWriter(t, w)
	w2, rcv2, _ := startWriter(t, Config{Shards: 1})
	w2.Enqueue([]store.SeriesSamples{series("a", 0, 10)})
	closeWriter(t, w2)
	if rcv.entered != 1 || rcv.samples() != 0 || !strings.Contains(metricText(set), `result="failed"} 10`) {
		t.Errorf("a 400 was retried or not counted: %d requests, %d stored\n%s", rcv.entered, rcv.samples(), metricText(set))
	}
	if !strings.HasPrefix(rcv.auth[0], "Basic ") || rcv2.samples() != 10 {
		t.Errorf("auth %q, second receiver %d samples", rcv.auth[0], rcv2.samples())
	}
}

// TestWriterQueueFull drops and counts what does not fit, never blocking.
func TestWriterQueueFull(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block; w.WriteHeader(204) }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(block) })
	set := metrics.NewSet()
	w, err := New(Config{URL: srv.URL, QueueSamples: 100, Shards: 1, BatchDelay: time.Millisecond}, srv.Client(), set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		w.Enqueue([]store.SeriesSamples{series("a", i*40, 40)})
	}
	m := metricText(set)
	if !strings.Contains(m, `result="dropped"} `) || strings.Contains(m, `result="dropped"} 0`) {
		t.Errorf("nothing dropped with 200 samples into a queue of 100:\n%s", m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.Close(ctx); err == nil {
		t.Error("Close with samples stuck reported no error")
	}
	if m := metricText(set); !strings.Contains(m, `result="failed"} 0`) || !strings.Contains(m, `result="sent"} 0`) {
		t.Errorf("samples given up at Close must count as dropped, not failed or sent:\n%s", m)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{URL: "vm:8428"}, "want an http or https URL"},
		{Config{URL: "http://vm/api/v1/write", BearerToken: "t", Username: "u"}, "exclusive"},
		{Config{URL: "http://vm/api/v1/write", Password: "p"}, "needs a username"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// BenchmarkEncode builds a 2,000-sample request (100 series of 20), the
// default batch.
func BenchmarkEncode(b *testing.B) {
	batch := make([]store.SeriesSamples, 100)
	for i := range batch {
		batch[i] = series("m"+string(rune('a'+i%26)), i*20, 20)
	}
	b.ReportAllocs()
	for b.Loop() {
		if body, _ := Encode(batch); len(body) == 0 {
			b.Fatal("empty request")
		}
	}
	b.ReportMetric(float64(b.N*2000)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkEnqueue is what a flush costs the store: queueing 100 series.
func BenchmarkEnqueue(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	b.Cleanup(srv.Close)
	w, err := New(Config{URL: srv.URL, QueueSamples: 1 << 30}, srv.Client(), metrics.NewSet(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]store.SeriesSamples, 100)
	for i := range batch {
		batch[i] = series("m"+string(rune('a'+i%26))+string(rune('a'+i/26)), i, 1)
	}
	b.ReportAllocs()
	for b.Loop() {
		w.Enqueue(batch)
	}
	b.StopTimer()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = w.Close(ctx)
}

// TestEncodeWithExternalLabels: external labels join every series that
// lacks them, keep the order the protocol wants, and never replace a
// series' own.
func TestEncodeWithExternalLabels(t *testing.T) {
	batch := []store.SeriesSamples{
		{Labels: store.Labels{{Name: "__name__", Value: "up"}, {Name: "job", Value: "x"}}, Samples: []store.Sample{{T: 1, V: 1}}},
		{Labels: store.Labels{{Name: "__name__", Value: "up"}, {Name: "atroz_instance", Value: "own"}}, Samples: []store.Sample{{T: 2, V: 1}}},
	}
	body, newest := EncodeWith(batch, store.Labels{{Name: "atroz_instance", Value: "eu-1"}, {Name: "zone", Value: "b"}})
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err != nil || req.Unmarshal(raw) != nil || newest != 2 {
		t.Fatalf("decode: %v, newest %d", err, newest)
	}
	want := []string{`[{__name__ up} {atroz_instance eu-1} {job x} {zone b}]`, `[{__name__ up} {atroz_instance own} {zone b}]`}
	for i, ts := range req.Timeseries {
		var got []string
		for _, l := range ts.Labels {
			got = append(got, "{"+l.Name+" "+l.Value+"}")
		}
		if s := "[" + strings.Join(got, " ") + "]"; s != want[i] {
			t.Errorf("series %d: %s, want %s", i, s, want[i])
		}
	}
}
