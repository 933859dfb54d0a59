package web

import (
	"fmt"
	"sync"

	"atroz/store"

	"github.com/VictoriaMetrics/easyproto"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// maxPooledWrite is the largest decompressed body whose buffers go back to
// writePool: a rare huge request should not pin its memory for the next.
const maxPooledWrite = 8 << 20

// writePool recycles writeBuffers between requests, so a steady load
// decodes into memory it already has.
var writePool = sync.Pool{New: func() any { return new(writeBuffers) }}

// writeBuffers is one decoded remote-write request: the decompressed body,
// and the batch for the store whose label strings point into it, so
// decoding makes no string per label. The batch is valid until the
// buffers go back to writePool; the store copies what it keeps.
type writeBuffers struct {
	raw     []byte
	batch   []store.SeriesSamples
	labels  []store.Label
	samples []store.Sample
	spans   []writeSpan
	n       int // samples in batch
}

// writeSpan is where one series' labels and samples lie in the buffers.
type writeSpan struct{ labels, samples int }

// getWriteBuffers takes buffers from writePool.
func getWriteBuffers() *writeBuffers { return writePool.Get().(*writeBuffers) }

// release gives wb back to writePool unless it grew too large to keep.
func (wb *writeBuffers) release() {
	if cap(wb.raw) > maxPooledWrite {
		return
	}
	clear(wb.batch) // no stale label strings into an old body
	clear(wb.labels)
	writePool.Put(wb)
}

func (wb *writeBuffers) reset() {
	wb.batch, wb.labels, wb.samples, wb.spans, wb.n = wb.batch[:0], wb.labels[:0], wb.samples[:0], wb.spans[:0], 0
}

// decode decompresses a remote-write body into wb and decodes it. The
// common message (series of labels and float samples, nothing else) is
// read in place; anything else (exemplars, histograms, metadata, unknown
// fields, odd encodings) is left to prompb, which decides what is refused.
func (wb *writeBuffers) decode(body []byte) error {
	raw, err := snappyDecode(wb.raw, body)
	if err != nil {
		return err
	}
	wb.raw = raw
	if wb.decodeSeries(raw) {
		return nil
	}
	req, err := unmarshalWriteRequest(raw)
	if err != nil {
		return err
	}
	batch, n, err := writeRequestBatch(req)
	if err != nil {
		return err
	}
	wb.reset()
	wb.batch, wb.n = append(wb.batch, batch...), n
	return nil
}

// snappyDecode decompresses body into dst's memory when it is large enough.
func snappyDecode(dst, body []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return nil, fmt.Errorf("body: not snappy-compressed: %w", err)
	}
	if n > maxRemoteWriteDecoded {
		return nil, fmt.Errorf("body: decompresses to %d bytes, over the %d-byte limit", n, maxRemoteWriteDecoded)
	}
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	raw, err := snappy.Decode(dst[:n], body)
	if err != nil {
		return nil, fmt.Errorf("body: snappy: %w", err)
	}
	return raw, nil
}

// unmarshalWriteRequest unmarshals a decompressed remote-write body with prompb.
func unmarshalWriteRequest(raw []byte) (*prompb.WriteRequest, error) {
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("body: not a prometheus.WriteRequest: %w", err)
	}
	return &req, nil
}

// decodeSeries reads a WriteRequest made only of timeseries (field 1) into
// wb, and reports whether it could: false for anything it does not know.
func (wb *writeBuffers) decodeSeries(src []byte) bool {
	wb.reset()
	var fc easyproto.FieldContext
	var err error
	for len(src) > 0 {
		if src, err = fc.NextField(src); err != nil || fc.FieldNum != 1 {
			return false
		}
		data, ok := fc.MessageData()
		if !ok || !wb.decodeTimeSeries(data) {
			return false
		}
	}
	wb.spans = append(wb.spans, writeSpan{len(wb.labels), len(wb.samples)})
	for i := range len(wb.spans) - 1 {
		a, b := wb.spans[i], wb.spans[i+1]
		wb.batch = append(wb.batch, store.SeriesSamples{
			Labels:  store.Labels(wb.labels[a.labels:b.labels:b.labels]),
			Samples: wb.samples[a.samples:b.samples:b.samples],
		})
	}
	wb.n = len(wb.samples)
	return true
}

// decodeTimeSeries reads a TimeSeries of labels (field 1) and samples (field 2).
func (wb *writeBuffers) decodeTimeSeries(src []byte) bool {
	wb.spans = append(wb.spans, writeSpan{len(wb.labels), len(wb.samples)})
	var fc easyproto.FieldContext
	var err error
	for len(src) > 0 {
		if src, err = fc.NextField(src); err != nil {
			return false
		}
		data, ok := fc.MessageData()
		switch {
		case !ok:
			return false
		case fc.FieldNum == 1:
			l, ok := decodeLabel(data)
			if !ok {
				return false
			}
			wb.labels = append(wb.labels, l)
		case fc.FieldNum == 2:
			smp, ok := decodeSample(data)
			if !ok {
				return false
			}
			wb.samples = append(wb.samples, smp)
		default:
			return false
		}
	}
	return true
}

// decodeLabel reads a Label: name (field 1) and value (field 2), as
// strings pointing into src.
func decodeLabel(src []byte) (store.Label, bool) {
	var l store.Label
	var fc easyproto.FieldContext
	var err error
	for len(src) > 0 {
		if src, err = fc.NextField(src); err != nil {
			return l, false
		}
		s, ok := fc.String()
		switch {
		case !ok:
			return l, false
		case fc.FieldNum == 1:
			l.Name = s
		case fc.FieldNum == 2:
			l.Value = s
		default:
			return l, false
		}
	}
	return l, true
}

// decodeSample reads a Sample: value (field 1, double) and timestamp (field 2, int64).
func decodeSample(src []byte) (store.Sample, bool) {
	var smp store.Sample
	var fc easyproto.FieldContext
	var err error
	for len(src) > 0 {
		if src, err = fc.NextField(src); err != nil {
			return smp, false
		}
		ok := false
		switch fc.FieldNum {
		case 1:
			smp.V, ok = fc.Double()
		case 2:
			smp.T, ok = fc.Int64()
		}
		if !ok {
			return smp, false
		}
	}
	return smp, true
}
