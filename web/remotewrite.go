package web

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"atroz/collector"
	"atroz/store"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/prometheus/prompb"
)

// maxRemoteWriteDecoded bounds a remote-write body once decompressed, so a
// small snappy body cannot claim gigabytes.
const maxRemoteWriteDecoded = 64 << 20

// remoteWrite takes Prometheus remote write 1.0 (a snappy-compressed
// prompb.WriteRequest), so a Prometheus or Grafana Agent can feed AtroZ.
// The request is taken whole (204) or refused whole with 400, which senders
// do not retry, as Prometheus' own receiver refuses a 1.0 request with an
// out-of-order, duplicate or out-of-bounds sample: the answer counts the
// refused samples by reason (out of order, series limit, too old, ...)
// and locates the first. Values are stored as sent, NaN and staleness
// markers among them, so a series a Prometheus marks stale ends here too.
// 507 while the data volume is full, which senders retry.
func (s *Server) remoteWrite(c *gin.Context) {
	if !s.writable(c, collector.EndpointRemoteWrite) {
		return
	}
	if err := remoteWriteHeaders(c.Request.Header); err != nil {
		s.col.CountRejected(collector.EndpointRemoteWrite)
		abortWithError(c, http.StatusUnsupportedMediaType, ErrorBadData, err)
		return
	}
	body, ok := readBody(c, s.cfg.MaxImportBytes)
	if !ok {
		return
	}
	wb := getWriteBuffers()
	defer wb.release()
	if err := wb.decode(body); err != nil {
		s.badInput(c, collector.EndpointRemoteWrite, err)
		return
	}
	n := wb.n
	if err := s.db.AppendAll(wb.batch); err != nil {
		s.appendRefused(c, collector.EndpointRemoteWrite, locateRefusal(err))
		return
	}
	if n > 0 {
		s.col.MarkFresh(collector.EndpointRemoteWrite, s.col.Now())
	}
	c.Status(http.StatusNoContent)
}

// locateRefusal names where in the request a refused batch's first refused sample was.
func locateRefusal(err error) error {
	var re *store.RefusedError
	if errors.As(err, &re) {
		return fmt.Errorf("%w; at timeseries[%d].samples[%d]", err, re.Series, re.Sample)
	}
	return err
}

// remoteWriteHeaders refuses what is not remote write 1.0: another
// encoding, or the 2.0 message, which a sender falls back from on 415.
func remoteWriteHeaders(h http.Header) error {
	if enc := h.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "snappy") {
		return fmt.Errorf("Content-Encoding %q is not supported: remote write bodies are snappy-compressed", enc)
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/x-protobuf" {
			return fmt.Errorf("Content-Type %q is not supported: want application/x-protobuf", ct)
		}
		if p := params["proto"]; p != "" && p != "prometheus.WriteRequest" {
			return fmt.Errorf("Content-Type proto %q is not supported: only remote write 1.0 (prometheus.WriteRequest)", p)
		}
	}
	return nil
}

// decodeWriteRequest decompresses and unmarshals a remote-write body with prompb.
func decodeWriteRequest(body []byte) (*prompb.WriteRequest, error) {
	raw, err := snappyDecode(nil, body)
	if err != nil {
		return nil, err
	}
	return unmarshalWriteRequest(raw)
}

// writeRequestBatch gives the float samples of req as a batch for the
// store, and their number; a native histogram refuses the request, since
// the store has no place for it.
func writeRequestBatch(req *prompb.WriteRequest) ([]store.SeriesSamples, int, error) {
	batch := make([]store.SeriesSamples, len(req.Timeseries))
	n := 0
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		if len(ts.Histograms) > 0 {
			return nil, 0, fmt.Errorf("timeseries[%d]: native histograms are not supported", i)
		}
		ls := make(store.Labels, len(ts.Labels))
		for j, l := range ts.Labels {
			ls[j] = store.Label{Name: l.Name, Value: l.Value}
		}
		samples := make([]store.Sample, len(ts.Samples))
		for j, smp := range ts.Samples {
			samples[j] = store.Sample{T: smp.Timestamp, V: smp.Value}
		}
		batch[i] = store.SeriesSamples{Labels: ls, Samples: samples}
		n += len(samples)
	}
	return batch, n, nil
}
