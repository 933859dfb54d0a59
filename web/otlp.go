package web

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"atroz/collector"
	"atroz/otlp"
	"atroz/store"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// otlpMetrics takes OTLP/HTTP metrics (POST /api/v1/otlp/v1/metrics, the
// path Prometheus 3 uses), protobuf or JSON, gzipped or not, from a holder
// of an ingest token, translated as Prometheus 3 translates them (package
// otlp). It answers as OTLP/HTTP asks, in the request's encoding: 200 with
// an ExportMetricsServiceResponse, whose partial success counts the data
// points the store cannot keep (delta temporality, exponential histograms)
// and says why; a google.rpc.Status with 400 for bad input (nothing is
// kept), 413 past MAX_IMPORT_BYTES (after gzip too), 415 for another
// content type or encoding, 507 while the data volume is full, 503 once
// the store is closed, or while as many requests as the server decodes at
// once are decoded already (see otlpLimit), with Retry-After.
func (s *Server) otlpMetrics(c *gin.Context) {
	enc, gzipped, err := otlp.ParseHeaders(c.GetHeader("Content-Type"), c.GetHeader("Content-Encoding"))
	if err != nil {
		s.col.CountRejected(collector.EndpointOTLP)
		otlpError(c, otlp.Protobuf, http.StatusUnsupportedMediaType, code.Code_INVALID_ARGUMENT, err)
		return
	}
	if err := s.db.Writable(); err != nil {
		s.otlpUnavailable(c, enc, err)
		return
	}
	key := principalOf(c).name
	if !s.otlp.acquire(key) {
		c.Header("Retry-After", "1")
		otlpError(c, enc, http.StatusServiceUnavailable, code.Code_UNAVAILABLE, fmt.Errorf(
			"OTLP: %d requests are decoded at once, %d per token; try again shortly", s.otlp.total, s.otlp.each))
		return
	}
	defer s.otlp.release(key)
	body, ok := readBody(c, s.cfg.MaxImportBytes)
	if !ok {
		return
	}
	req, err := otlp.Decode(body, enc, gzipped, s.cfg.MaxImportBytes)
	if err != nil {
		s.col.CountRejected(collector.EndpointOTLP)
		if errors.Is(err, otlp.ErrTooLarge) {
			otlpError(c, enc, http.StatusRequestEntityTooLarge, code.Code_INVALID_ARGUMENT, err)
			return
		}
		otlpError(c, enc, http.StatusBadRequest, code.Code_INVALID_ARGUMENT, err)
		return
	}
	res, err := otlp.Translate(c.Request.Context(), req.Metrics(), s.db.Options().MaxLabels)
	if err == nil && res.Kept == 0 && res.Rejected > 0 {
		err = errors.New(res.Message)
	}
	if err != nil {
		s.col.CountRejected(collector.EndpointOTLP)
		otlpError(c, enc, http.StatusBadRequest, code.Code_INVALID_ARGUMENT, err)
		return
	}
	if err := s.db.AppendAll(res.Batch); err != nil {
		s.otlpRefused(c, enc, err)
		return
	}
	if res.Samples > 0 {
		s.col.MarkFresh(collector.EndpointOTLP, s.col.Now())
	}
	resp := pmetricotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.Message)
	}
	var out []byte
	if enc == otlp.JSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		otlpError(c, enc, http.StatusInternalServerError, code.Code_INTERNAL, err)
		return
	}
	c.Data(http.StatusOK, enc.ContentType(), out)
}

// otlpRefused answers the store's refusal of a batch: the data volume full
// or the store closed (which senders retry), or samples it cannot take
// (out of order, past the series limit), which is the sender's.
func (s *Server) otlpRefused(c *gin.Context, enc otlp.Encoding, err error) {
	if errors.Is(err, store.ErrDiskFull) || errors.Is(err, store.ErrClosed) {
		s.otlpUnavailable(c, enc, err)
		return
	}
	s.col.CountRejected(collector.EndpointOTLP)
	otlpError(c, enc, http.StatusBadRequest, code.Code_INVALID_ARGUMENT, err)
}

// otlpUnavailable answers 507 while the data volume is full, 503 once the
// store is closed, and counts it.
func (s *Server) otlpUnavailable(c *gin.Context, enc otlp.Encoding, err error) {
	s.col.CountUnavailable(collector.EndpointOTLP, err)
	if errors.Is(err, store.ErrDiskFull) {
		otlpError(c, enc, http.StatusInsufficientStorage, code.Code_UNAVAILABLE, errStorageFull)
		return
	}
	otlpError(c, enc, http.StatusServiceUnavailable, code.Code_UNAVAILABLE, err)
}

// otlpRoute is the OTLP metrics route.
const otlpRoute = "/api/v1/otlp/v1/metrics"

// isOTLP reports whether c is a request of the OTLP route, whose every
// error, the middleware's too (401, 413, 429), is a google.rpc.Status.
func isOTLP(c *gin.Context) bool { return c.FullPath() == otlpRoute }

// otlpAbort answers an error of the middleware on the OTLP route: the
// status in the request's encoding (protobuf when it is not JSON), with
// the gRPC code that matches httpCode.
func otlpAbort(c *gin.Context, httpCode int, msg string) {
	enc, _, err := otlp.ParseHeaders(c.GetHeader("Content-Type"), "")
	if err != nil {
		enc = otlp.Protobuf
	}
	rpc := code.Code_INVALID_ARGUMENT
	switch {
	case httpCode == http.StatusUnauthorized:
		rpc = code.Code_UNAUTHENTICATED
	case httpCode == http.StatusForbidden:
		rpc = code.Code_PERMISSION_DENIED
	case httpCode == http.StatusTooManyRequests:
		rpc = code.Code_RESOURCE_EXHAUSTED
	case httpCode == http.StatusServiceUnavailable, httpCode == http.StatusInsufficientStorage:
		rpc = code.Code_UNAVAILABLE
	case httpCode >= 500:
		rpc = code.Code_INTERNAL
	}
	otlpError(c, enc, httpCode, rpc, errors.New(msg))
}

// otlpError answers httpCode with the google.rpc.Status body OTLP/HTTP
// asks for, in enc.
func otlpError(c *gin.Context, enc otlp.Encoding, httpCode int, rpc code.Code, err error) {
	st := &status.Status{Code: int32(rpc), Message: err.Error()}
	var body []byte
	if enc == otlp.JSON {
		body, _ = protojson.Marshal(st)
	} else {
		body, _ = proto.Marshal(st)
	}
	c.Abort()
	c.Data(httpCode, enc.ContentType(), body)
}

// otlpLimit bounds the OTLP requests decoded at once: each holds its body
// (up to 16 MiB, inflated too) and its decoded form, several times larger,
// so they are bounded in all, and each token to half of them, so one
// sender cannot take every slot. A request past either is answered 503
// with Retry-After at once rather than queued with its body held;
// OpenTelemetry exporters retry it with backoff.
type otlpLimit struct {
	total, each int
	mu          sync.Mutex
	busy        int
	by          map[string]int // by principal
}

func newOTLPLimit(total int) *otlpLimit {
	return &otlpLimit{total: total, each: max(1, total/2), by: map[string]int{}}
}

// acquire takes a slot for principal key, if one is free for it.
func (l *otlpLimit) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy >= l.total || l.by[key] >= l.each {
		return false
	}
	l.busy++
	l.by[key]++
	return true
}

// release frees key's slot.
func (l *otlpLimit) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy--
	if l.by[key]--; l.by[key] == 0 {
		delete(l.by, key)
	}
}
