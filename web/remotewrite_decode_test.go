package web

import (
	"math"
	"testing"

	"atroz/store"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// TestRemoteWriteDecodeInPlace checks the common message is read in place,
// not left to prompb, and reads as prompb reads it.
func TestRemoteWriteDecodeInPlace(t *testing.T) {
	raw, err := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{
		{Labels: benchLabels(7), Samples: []prompb.Sample{{Timestamp: 5, Value: 1.5}, {Timestamp: 6, Value: math.Inf(-1)}}},
		{Labels: benchLabels(8)},
		{Samples: []prompb.Sample{{Timestamp: -3}}},
	}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	wb := getWriteBuffers()
	defer wb.release()
	if !wb.decodeSeries(raw) {
		t.Fatal("a request of labels and samples was left to prompb")
	}
	assertSameDecode(t, wb, raw)
}

// TestRemoteWriteDecodeRefusals checks what the in-place decoder leaves to
// prompb is refused with prompb's words.
func TestRemoteWriteDecodeRefusals(t *testing.T) {
	f := func(body []byte, want string) {
		t.Helper()
		wb := getWriteBuffers()
		defer wb.release()
		err := wb.decode(body)
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %s", err, want)
		}
	}
	hist, _ := (&prompb.WriteRequest{Timeseries: []prompb.TimeSeries{benchSeriesAt(1), {Histograms: []prompb.Histogram{{Timestamp: 1}}}}}).Marshal()
	f(snappy.Encode(nil, hist), "timeseries[1]: native histograms are not supported")
	f(snappy.Encode(nil, []byte{0x0a, 0x05, 0x01}), "body: not a prometheus.WriteRequest: unexpected EOF")
	f([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "body: not snappy-compressed: snappy: corrupt input")
}

func benchSeriesAt(i int) prompb.TimeSeries {
	return prompb.TimeSeries{Labels: benchLabels(i), Samples: []prompb.Sample{{Timestamp: int64(i), Value: float64(i)}}}
}

// FuzzRemoteWriteDecodeProto compares the decoder with
// prompb.WriteRequest.Unmarshal on arbitrary message bytes: both accept or
// both refuse, and accepted messages read the same.
func FuzzRemoteWriteDecodeProto(f *testing.F) {
	for _, ts := range [][]prompb.TimeSeries{
		{benchSeriesAt(1), benchSeriesAt(2)},
		{{Labels: []prompb.Label{{Name: "a"}}, Exemplars: []prompb.Exemplar{{Value: 1}}}},
		{{Histograms: []prompb.Histogram{{Timestamp: 1}}}},
	} {
		raw, err := (&prompb.WriteRequest{Timeseries: ts}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		wb := getWriteBuffers()
		defer wb.release()
		err := wb.decode(snappy.Encode(nil, raw))
		req, perr := unmarshalWriteRequest(raw)
		if perr == nil {
			_, _, perr = writeRequestBatch(req)
		}
		if (err == nil) != (perr == nil) {
			t.Fatalf("decode: %v, prompb: %v", err, perr)
		}
		if err == nil {
			assertSameDecode(t, wb, raw)
		}
	})
}

// assertSameDecode fails unless wb holds what prompb reads from raw.
func assertSameDecode(t *testing.T, wb *writeBuffers, raw []byte) {
	t.Helper()
	req, err := unmarshalWriteRequest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(wb.batch) != len(req.Timeseries) {
		t.Fatalf("%d series, prompb reads %d", len(wb.batch), len(req.Timeseries))
	}
	n := 0
	for i, ts := range req.Timeseries {
		got := wb.batch[i]
		want := store.SeriesSamples{Labels: make(store.Labels, len(ts.Labels)), Samples: make([]store.Sample, len(ts.Samples))}
		for j, l := range ts.Labels {
			want.Labels[j] = store.Label{Name: l.Name, Value: l.Value}
		}
		for j, smp := range ts.Samples {
			want.Samples[j] = store.Sample{T: smp.Timestamp, V: smp.Value}
		}
		if !got.Labels.Equal(want.Labels) || !sameBits(got.Samples, want.Samples) {
			t.Fatalf("timeseries[%d]: %v %v, prompb reads %v %v", i, got.Labels, got.Samples, want.Labels, want.Samples)
		}
		n += len(ts.Samples)
	}
	if wb.n != n {
		t.Fatalf("%d samples, prompb reads %d", wb.n, n)
	}
}
