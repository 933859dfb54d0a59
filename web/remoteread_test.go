package web

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// readServer is a live server holding, for remote reads, rr_metric{k="0".."2"}
// with a sample every 15 s over the last 30 minutes (value i*k), the last
// of k="2" a staleness marker.
func readServer(t testing.TB, opt ...func(*Config)) (*liveServer, *http.Client, time.Time) {
	t.Helper()
	ls := startLive(t, slog.New(slog.DiscardHandler))
	for _, o := range opt {
		o(&ls.s.cfg)
	}
	now := ls.col.Now()
	for k := range 3 {
		series := store.Labels{{Name: "__name__", Value: "rr_metric"}, {Name: "k", Value: fmt.Sprint(k)}}
		for i := range 120 {
			v := float64(i * k)
			if k == 2 && i == 119 {
				v = math.Float64frombits(0x7ff0000000000002) // Prometheus' staleness marker
			}
			if err := ls.db.Append(series, now.Add(-30*time.Minute).Add(time.Duration(i)*15*time.Second).UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return ls, c, now
}

// postRead sends req snappy-compressed to /api/v1/read with the viewer's session.
func postRead(t testing.TB, ls *liveServer, c *http.Client, req *prompb.ReadRequest) *http.Response {
	t.Helper()
	raw, err := req.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := http.NewRequest("POST", ls.url+"/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw)))
	hreq.Header.Set("Authorization", "Bearer "+ls.session)
	hreq.Header.Set("Content-Encoding", "snappy")
	hreq.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := c.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}

func readSamplesResponse(t testing.TB, resp *http.Response) prompb.ReadResponse {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("read: %d %s", resp.StatusCode, body)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		t.Fatal(err)
	}
	var rr prompb.ReadResponse
	if err := rr.Unmarshal(raw); err != nil {
		t.Fatal(err)
	}
	return rr
}

func matcher(t prompb.LabelMatcher_Type, name, value string) *prompb.LabelMatcher {
	return &prompb.LabelMatcher{Type: t, Name: name, Value: value}
}

// TestRemoteReadSamples: each query's series and samples in its range,
// by matchers of all four kinds, hints narrowing the range, staleness
// markers kept as stored, as Prometheus answers them.
func TestRemoteReadSamples(t *testing.T) {
	ls, c, now := readServer(t)
	name := matcher(prompb.LabelMatcher_EQ, "__name__", "rr_metric")
	start, end := now.Add(-10*time.Minute).UnixMilli(), now.UnixMilli()
	rr := readSamplesResponse(t, postRead(t, ls, c, &prompb.ReadRequest{Queries: []*prompb.Query{
		{StartTimestampMs: start, EndTimestampMs: end, Matchers: []*prompb.LabelMatcher{name, matcher(prompb.LabelMatcher_NEQ, "k", "0")}},
		{StartTimestampMs: start, EndTimestampMs: end, Matchers: []*prompb.LabelMatcher{name, matcher(prompb.LabelMatcher_RE, "k", "0|2")}},
		{StartTimestampMs: start, EndTimestampMs: end, Matchers: []*prompb.LabelMatcher{name, matcher(prompb.LabelMatcher_NRE, "k", "[01]")},
			Hints: &prompb.ReadHints{StartMs: now.Add(-time.Minute).UnixMilli(), EndMs: end, StepMs: 15000, Func: "rate"}},
		{StartTimestampMs: start, EndTimestampMs: end, Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_EQ, "__name__", "nothing")}},
	}}))
	keys := func(r *prompb.QueryResult) string {
		var out []string
		for _, ts := range r.Timeseries {
			out = append(out, fmt.Sprintf("%s:%d", ts.Labels[1].Value, len(ts.Samples)))
		}
		return strings.Join(out, " ")
	}
	// 10 minutes at 15 s is 40 samples (the range's start is a sample's time too, and its end is 15 s after the last).
	for i, want := range []string{"1:40 2:40", "0:40 2:40", "2:4", ""} {
		if got := keys(rr.Results[i]); got != want {
			t.Errorf("query %d: %q, want %q", i, got, want)
		}
	}
	last := rr.Results[0].Timeseries[1].Samples
	if s := last[len(last)-1]; math.Float64bits(s.Value) != 0x7ff0000000000002 || s.Timestamp != now.Add(-30*time.Minute+119*15*time.Second).UnixMilli() {
		t.Errorf("k=2's last sample %+v, want the staleness marker", s)
	}
	if s := rr.Results[0].Timeseries[0].Samples[0]; s.Value != 80 || s.Timestamp != start {
		t.Errorf("k=1's first sample %+v, want 80 at %d", s, start)
	}
}

// TestRemoteReadErrors: a body that is not a snappy ReadRequest, a bad
// matcher, no response type served and an answer past the sample bound
// are 400s saying why; no credentials is 401.
func TestRemoteReadErrors(t *testing.T) {
	ls, c, now := readServer(t, func(cfg *Config) { cfg.MaxRemoteReadSamples = 100 })
	q := func(ms ...*prompb.LabelMatcher) *prompb.Query {
		return &prompb.Query{StartTimestampMs: now.Add(-time.Hour).UnixMilli(), EndTimestampMs: now.UnixMilli(), Matchers: ms}
	}
	name := matcher(prompb.LabelMatcher_EQ, "__name__", "rr_metric")
	f := func(req *prompb.ReadRequest, want string) {
		t.Helper()
		resp := postRead(t, ls, c, req)
		var b apiBody
		_ = json.NewDecoder(resp.Body).Decode(&b)
		if resp.StatusCode != http.StatusBadRequest || b.ErrorType != "bad_data" || !strings.Contains(b.Error, want) {
			t.Errorf("%d %+v, want 400 saying %q", resp.StatusCode, b, want)
		}
	}
	f(&prompb.ReadRequest{Queries: []*prompb.Query{q(name, matcher(prompb.LabelMatcher_RE, "k", "("))}}, "query 0: bad matcher")
	f(&prompb.ReadRequest{Queries: []*prompb.Query{q(name, matcher(7, "k", "1"))}}, "unknown type 7")
	f(&prompb.ReadRequest{Queries: []*prompb.Query{q(name)}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{5}}, "none of the accepted response types")
	// 3 series of 120 samples pass 100 samples; so do two queries of 60 each.
	f(&prompb.ReadRequest{Queries: []*prompb.Query{q(name)}}, "query 0: too many samples: a request may read at most 100 samples")
	k1 := q(name, matcher(prompb.LabelMatcher_EQ, "k", "1"))
	k1.StartTimestampMs = now.Add(-15 * time.Minute).UnixMilli() // 60 samples
	f(&prompb.ReadRequest{Queries: []*prompb.Query{k1, k1}}, "query 1: too many samples")
	f(&prompb.ReadRequest{Queries: []*prompb.Query{q(name)}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}}, "query 0: too many samples")
	rr := readSamplesResponse(t, postRead(t, ls, c, &prompb.ReadRequest{Queries: []*prompb.Query{k1}}))
	if n := len(rr.Results[0].Timeseries[0].Samples); n != 60 {
		t.Errorf("within the bound: %d samples, want 60", n)
	}

	for _, body := range []string{"not snappy", string(snappy.Encode(nil, []byte("not a protobuf \xff\xff")))} {
		hreq, _ := http.NewRequest("POST", ls.url+"/api/v1/read", strings.NewReader(body))
		hreq.Header.Set("Authorization", "Bearer "+ls.session)
		resp, err := c.Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), "remote read: body") {
			t.Errorf("body %q: %d %s", body, resp.StatusCode, msg)
		}
	}
	resp, err := c.Post(ls.url+"/api/v1/read", "application/x-protobuf", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", resp.StatusCode)
	}
}

// TestRemoteReadStreamed: a client accepting only STREAMED_XOR_CHUNKS gets
// checksummed frames of XOR chunks holding the same samples as SAMPLES;
// one accepting both gets SAMPLES. Past the byte bound the stream is cut.
func TestRemoteReadStreamed(t *testing.T) {
	ls, c, now := readServer(t)
	q := &prompb.Query{StartTimestampMs: now.Add(-time.Hour).UnixMilli(), EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_EQ, "__name__", "rr_metric")}}
	both := postRead(t, ls, c, &prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS, prompb.ReadRequest_SAMPLES}})
	want := readSamplesResponse(t, both).Results[0]

	resp := postRead(t, ls, c, &prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusOK || ct != "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse" {
		t.Fatalf("streamed: %d %q", resp.StatusCode, ct)
	}
	stream, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := readFrames(t, bytes.NewReader(stream))
	if len(got) != len(want.Timeseries) {
		t.Fatalf("streamed %d series, want %d", len(got), len(want.Timeseries))
	}
	for i, ts := range want.Timeseries {
		if len(got[i]) != len(ts.Samples) {
			t.Fatalf("series %d: %d samples streamed, want %d", i, len(got[i]), len(ts.Samples))
		}
		for j, s := range ts.Samples {
			if got[i][j].Timestamp != s.Timestamp || math.Float64bits(got[i][j].Value) != math.Float64bits(s.Value) {
				t.Fatalf("series %d sample %d: %+v, want %+v", i, j, got[i][j], s)
			}
		}
	}

	ls.s.cfg.MaxRemoteReadBytes = len(stream) - 1 // all frames but the last fit
	resp = postRead(t, ls, c, &prompb.ReadRequest{Queries: []*prompb.Query{q}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS}})
	if cut, err := io.ReadAll(resp.Body); err == nil || len(cut) == 0 || len(cut) >= len(stream) {
		t.Errorf("a stream cut at its byte bound: %d of %d bytes, error %v", len(cut), len(stream), err)
	}
}

// readFrames decodes a streamed answer: per series, its samples.
func readFrames(t *testing.T, r io.Reader) [][]prompb.Sample {
	t.Helper()
	br := bufio.NewReader(r)
	var out [][]prompb.Sample
	for {
		size, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		frame := make([]byte, 4+size)
		if _, err := io.ReadFull(br, frame); err != nil {
			t.Fatal(err)
		}
		if crc32.Checksum(frame[4:], crc32.MakeTable(crc32.Castagnoli)) != binary.BigEndian.Uint32(frame) {
			t.Fatal("frame checksum mismatch")
		}
		var cr prompb.ChunkedReadResponse
		if err := cr.Unmarshal(frame[4:]); err != nil {
			t.Fatal(err)
		}
		for _, cs := range cr.ChunkedSeries {
			var samples []prompb.Sample
			for _, chk := range cs.Chunks {
				xc, err := chunkenc.FromData(chunkenc.EncXOR, chk.Data)
				if err != nil {
					t.Fatal(err)
				}
				it := xc.Iterator(nil)
				for it.Next() == chunkenc.ValFloat {
					ts, v := it.At()
					samples = append(samples, prompb.Sample{Timestamp: ts, Value: v})
				}
			}
			out = append(out, samples)
		}
	}
}

func BenchmarkRemoteRead(b *testing.B) {
	ls, c, now := readServer(b)
	req := &prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: now.Add(-time.Hour).UnixMilli(), EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_EQ, "__name__", "rr_metric")}}}}
	b.ReportAllocs()
	for b.Loop() {
		resp := postRead(b, ls, c, req)
		if _, err := io.Copy(io.Discard, resp.Body); err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		_ = resp.Body.Close()
	}
}

// FuzzReadRequest: any body decodes to a request or an error, never a
// panic, and a request decoded re-encodes to one equal to it.
func FuzzReadRequest(f *testing.F) {
	req := &prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: 1, EndTimestampMs: 2, Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_RE, "a", "b.*")}}}}
	raw, _ := req.Marshal()
	f.Add(snappy.Encode(nil, raw))
	f.Add([]byte("not snappy"))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := readRequest(bytes.NewReader(body))
		if err != nil {
			return
		}
		raw, err := req.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var again prompb.ReadRequest
		if err := again.Unmarshal(raw); err != nil || again.String() != req.String() {
			t.Fatalf("re-encoded request differs: %v", err)
		}
	})
}

// bigReadServer is a live server whose store holds 100 series of 5,000
// random values each, 500,000 samples (about 4 MB of XOR chunks), past a
// remote-read bound of 5,000 samples.
func bigReadServer(t *testing.T) (*liveServer, *http.Client, time.Time) {
	t.Helper()
	ls, c, now := readServer(t, func(cfg *Config) { cfg.MaxRemoteReadSamples = 5_000 })
	r := rand.New(rand.NewPCG(1, 2))
	t0 := now.Add(-5000 * time.Second).UnixMilli()
	for s := range 100 {
		series := store.Labels{{Name: "__name__", Value: fmt.Sprintf("big_%d", s)}}
		for i := range 5000 {
			if err := ls.db.Append(series, t0+int64(i)*1000, r.Float64()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := ls.db.Flush(); err != nil {
		t.Fatal(err)
	}
	return ls, c, now
}

// TestRemoteReadBoundedMemory: a read of everything, {__name__=~".+"}
// from 0 to now, over a store 100 times the sample bound is refused with
// a 400 naming the bound, SAMPLES and streamed alike, having allocated a
// small part of the data: the store stops copying chunks at the bound.
func TestRemoteReadBoundedMemory(t *testing.T) {
	ls, c, now := bigReadServer(t)
	const stored = 500_000 * 8 // random values take 8 bytes a sample and more
	all := &prompb.Query{StartTimestampMs: 0, EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_RE, "__name__", ".+")}}
	for _, typ := range []prompb.ReadRequest_ResponseType{prompb.ReadRequest_SAMPLES, prompb.ReadRequest_STREAMED_XOR_CHUNKS} {
		req := &prompb.ReadRequest{Queries: []*prompb.Query{all}, AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{typ}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		resp := postRead(t, ls, c, req)
		body, _ := io.ReadAll(resp.Body)
		runtime.ReadMemStats(&after)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "too many samples: a request may read at most 5000 samples") {
			t.Errorf("%s: %d %s, want 400 naming the bound", typ, resp.StatusCode, body)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > stored/10 {
			t.Errorf("%s: a refused read allocated %d bytes; the store holds over %d", typ, alloc, stored)
		} else {
			t.Logf("%s: a refused read allocated %d bytes; the store holds over %d", typ, alloc, stored)
		}
	}
}

// TestRemoteReadConcurrency: with MaxConcurrentRemoteReads reads held
// open, one more is answered 503 naming the bound, with Retry-After; once
// they finish, reads are served again.
func TestRemoteReadConcurrency(t *testing.T) {
	ls, c, now := readServer(t)
	const limit = 2
	ls.s.cfg.MaxConcurrentRemoteReads, ls.s.reads = limit, make(chan struct{}, limit)
	entered, release := make(chan struct{}, 10), make(chan struct{})
	ls.s.onRemoteRead = func() {
		entered <- struct{}{}
		<-release
	}
	req := &prompb.ReadRequest{Queries: []*prompb.Query{{StartTimestampMs: now.Add(-time.Hour).UnixMilli(), EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_EQ, "__name__", "rr_metric")}}}}
	raw, _ := req.Marshal()
	send := func() (int, error) {
		hreq, _ := http.NewRequest("POST", ls.url+"/api/v1/read", bytes.NewReader(snappy.Encode(nil, raw)))
		hreq.Header.Set("Authorization", "Bearer "+ls.session)
		resp, err := c.Do(hreq)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Body.Close()
	}
	codes := make(chan int, limit)
	for range limit {
		go func() {
			code, err := send()
			if err != nil {
				t.Error(err)
			}
			codes <- code
		}()
	}
	for range limit {
		<-entered
	}
	resp := postRead(t, ls, c, req)
	var b apiBody
	_ = json.NewDecoder(resp.Body).Decode(&b)
	if resp.StatusCode != http.StatusServiceUnavailable || b.ErrorType != "unavailable" || !strings.Contains(b.Error, "at most 2 are served at once") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("read %d of %d: %d %+v Retry-After %q, want 503 naming the bound", limit+1, limit, resp.StatusCode, b, resp.Header.Get("Retry-After"))
	}
	close(release)
	for range limit {
		if code := <-codes; code != http.StatusOK {
			t.Errorf("a read held open: %d, want 200", code)
		}
	}
	if code, err := send(); err != nil || code != http.StatusOK {
		t.Errorf("a read after the others finished: %d %v, want 200", code, err)
	}
}

// TestRemoteReadStreamedErrorType: a streamed read that fails before any
// frame is written answers its JSON error as JSON.
func TestRemoteReadStreamedErrorType(t *testing.T) {
	ls, c, now := readServer(t)
	resp := postRead(t, ls, c, &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_RE, "k", "(")}}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	})
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(ct, "application/json") {
		t.Errorf("a streamed read with a bad matcher: %d %q, want 400 application/json", resp.StatusCode, ct)
	}
	empty := postRead(t, ls, c, &prompb.ReadRequest{
		Queries:               []*prompb.Query{{StartTimestampMs: 0, EndTimestampMs: now.UnixMilli(), Matchers: []*prompb.LabelMatcher{matcher(prompb.LabelMatcher_EQ, "__name__", "nothing")}}},
		AcceptedResponseTypes: []prompb.ReadRequest_ResponseType{prompb.ReadRequest_STREAMED_XOR_CHUNKS},
	})
	if ct := empty.Header.Get("Content-Type"); empty.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "application/x-streamed-protobuf") {
		t.Errorf("a streamed read of nothing: %d %q, want 200 and the stream's type", empty.StatusCode, ct)
	}
}
