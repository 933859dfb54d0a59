package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"atroz/store"
)

// Bounds of one remote-read request.
const (
	// DefaultRemoteReadSamples bounds the samples one request reads. The
	// store counts them before copying their chunks, so a request past it
	// is refused having copied at most this many samples' chunks (1 to 2
	// bytes a sample for regular scrapes, 18 at XOR's worst). A SAMPLES
	// answer holds each sample decoded (16 bytes), marshalled (at most 22)
	// and compressed (snappy's worst, at most 26): with the chunks, at most
	// about 85 bytes a sample, 420 MB a request at this default; a streamed
	// answer holds one frame (about 1 MiB) besides the chunks. With
	// DefaultRemoteReadConcurrency reads at once, remote read holds at most
	// about 4.2 GB (Prometheus' defaults allow 10 reads of 50,000,000).
	DefaultRemoteReadSamples = 5_000_000
	// DefaultRemoteReadConcurrency bounds the remote reads served at once,
	// as Prometheus' --storage.remote.read-concurrent-limit does.
	DefaultRemoteReadConcurrency = 10
	// DefaultRemoteReadBytes bounds the bytes a streamed answer writes.
	DefaultRemoteReadBytes = 256 << 20
	// maxReadRequestBytes bounds a read request, compressed and not, as
	// Prometheus' own handler does.
	maxReadRequestBytes = 32 << 20
	// readFrameBytes is about the most one streamed frame holds (a chunk
	// more at worst), Prometheus' default.
	readFrameBytes = 1 << 20
)

// Errors of a remote-read query; each is answered with 400.
var (
	// errReadMatcher is returned for a matcher that does not parse.
	errReadMatcher = errors.New("bad matcher")
	// errReadSamples is answered when the store's read passes
	// Config.MaxRemoteReadSamples (store.ErrReadLimit).
	errReadSamples = errors.New("too many samples")
	// errReadBytes is returned when a streamed answer would pass Config.MaxRemoteReadBytes.
	errReadBytes = errors.New("answer too large")
)

// errReadBusy is answered with 503 when Config.MaxConcurrentRemoteReads
// reads are already being served.
var errReadBusy = errors.New("too many remote reads at once")

// castagnoli is the CRC-32 table of streamed frames.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// remoteRead answers Prometheus' remote read (/api/v1/read): a
// snappy-compressed prompb.ReadRequest whose queries select raw samples
// by matchers of any kind, between their times narrowed by their hints
// (raw samples only: what rollups hold past the raw retention is not a
// remote read's raw data).
// A client that accepts SAMPLES (Prometheus 2 asks for nothing else;
// Prometheus 3 accepts both) gets one snappy-compressed ReadResponse; one
// that accepts only STREAMED_XOR_CHUNKS gets chunked frames. Both are
// bounded: by Config.MaxRemoteReadSamples over the whole request, counted
// as the store reads, a 400 saying so before anything is written; streams
// by Config.MaxRemoteReadBytes, past which the stream is cut so the client
// sees an error, never a short answer taken for whole; and by
// Config.MaxConcurrentRemoteReads at once, past which a read is answered
// 503 at once rather than queued: a queued read would hold its request
// (up to 32 MiB) while waiting, and Prometheus reports the error and asks
// again at its next evaluation.
func (s *Server) remoteRead(c *gin.Context) {
	select {
	case s.reads <- struct{}{}:
		defer func() { <-s.reads }()
	default:
		c.Header("Retry-After", "1")
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, fmt.Errorf("remote read: %w: at most %d are served at once; try again shortly", errReadBusy, s.cfg.MaxConcurrentRemoteReads))
		return
	}
	if s.onRemoteRead != nil {
		s.onRemoteRead()
	}
	req, err := readRequest(c.Request.Body)
	if err != nil {
		badRequest(c, fmt.Errorf("remote read: %w", err))
		return
	}
	typ, err := responseType(req.AcceptedResponseTypes)
	if err != nil {
		badRequest(c, fmt.Errorf("remote read: %w", err))
		return
	}
	r := s.db.LimitedReader(s.cfg.MaxRemoteReadSamples)
	defer func() { _ = r.Close() }()
	if typ == prompb.ReadRequest_STREAMED_XOR_CHUNKS {
		s.readStreamed(c, r, req)
		return
	}
	s.readSamples(c, r, req)
}

// readRequest decodes a snappy-compressed prompb.ReadRequest.
func readRequest(body io.Reader) (*prompb.ReadRequest, error) {
	compressed, err := io.ReadAll(io.LimitReader(body, maxReadRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	n, err := snappy.DecodedLen(compressed)
	switch {
	case err != nil:
		return nil, fmt.Errorf("body: not snappy-compressed: %w", err)
	case len(compressed) > maxReadRequestBytes || n > maxReadRequestBytes:
		return nil, fmt.Errorf("body: more than %d bytes", maxReadRequestBytes)
	}
	raw, err := snappy.Decode(make([]byte, n), compressed)
	if err != nil {
		return nil, fmt.Errorf("body: snappy: %w", err)
	}
	var req prompb.ReadRequest
	if err := req.Unmarshal(raw); err != nil {
		return nil, fmt.Errorf("body: not a ReadRequest: %w", err)
	}
	return &req, nil
}

// responseType picks SAMPLES when the client accepts it (or names
// nothing, as Prometheus 2 does), else STREAMED_XOR_CHUNKS.
func responseType(accepted []prompb.ReadRequest_ResponseType) (prompb.ReadRequest_ResponseType, error) {
	if len(accepted) == 0 {
		return prompb.ReadRequest_SAMPLES, nil
	}
	streamed := false
	for _, t := range accepted {
		switch t {
		case prompb.ReadRequest_SAMPLES:
			return t, nil
		case prompb.ReadRequest_STREAMED_XOR_CHUNKS:
			streamed = true
		}
	}
	if streamed {
		return prompb.ReadRequest_STREAMED_XOR_CHUNKS, nil
	}
	return 0, fmt.Errorf("none of the accepted response types %v is served; SAMPLES and STREAMED_XOR_CHUNKS are", accepted)
}

// readSamples answers every query at once, in one snappy-compressed
// prompb.ReadResponse.
func (s *Server) readSamples(c *gin.Context, r *store.Reader, req *prompb.ReadRequest) {
	resp := prompb.ReadResponse{Results: make([]*prompb.QueryResult, len(req.Queries))}
	for i, q := range req.Queries {
		err := readQuery(r, q, func(ss storage.SeriesSet) error {
			var err error
			resp.Results[i], err = samplesResult(ss)
			return err
		})
		if err != nil {
			s.remoteReadError(c, i, err)
			return
		}
	}
	raw, err := resp.Marshal()
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("remote read: %w", err))
		return
	}
	c.Header("Content-Encoding", "snappy")
	c.Data(http.StatusOK, "application/x-protobuf", snappy.Encode(nil, raw))
}

// samplesResult converts ss.
func samplesResult(ss storage.SeriesSet) (*prompb.QueryResult, error) {
	res := &prompb.QueryResult{}
	var it chunkenc.Iterator
	for ss.Next() {
		sr := ss.At()
		it = sr.Iterator(it)
		ts := &prompb.TimeSeries{Labels: prompb.FromLabels(sr.Labels(), nil)}
		for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
			if vt != chunkenc.ValFloat {
				continue // the store keeps floats only
			}
			t, v := it.At()
			ts.Samples = append(ts.Samples, prompb.Sample{Timestamp: t, Value: v})
		}
		if err := it.Err(); err != nil {
			return nil, err
		}
		res.Timeseries = append(res.Timeseries, ts)
	}
	return res, ss.Err()
}

// readStreamed streams each query's series as XOR chunks, one series a
// frame at most, as Prometheus' own handler does.
func (s *Server) readStreamed(c *gin.Context, r *store.Reader, req *prompb.ReadRequest) {
	fw := &frameWriter{w: c.Writer, limit: s.cfg.MaxRemoteReadBytes}
	for i, q := range req.Queries {
		err := readQuery(r, q, func(ss storage.SeriesSet) error {
			return streamQuery(fw, int64(i), storage.NewSeriesSetToChunkSet(ss))
		})
		if err == nil {
			continue
		}
		if fw.n == 0 {
			s.remoteReadError(c, i, err)
			return
		}
		// Part of the answer is out: only cutting the connection tells the
		// client it is not whole.
		s.log.Warn("remote read: stream cut", "event_type", "api", "query", i, "error", err)
		panic(http.ErrAbortHandler)
	}
	fw.setType()
	c.Status(http.StatusOK)
	c.Writer.Flush()
}

// streamQuery writes the chunks of query i's series, a frame each time
// a series' chunks reach readFrameBytes and at its end.
func streamQuery(fw *frameWriter, i int64, ss storage.ChunkSeriesSet) error {
	var it chunks.Iterator
	for ss.Next() {
		sr := ss.At()
		it = sr.Iterator(it)
		lbls := prompb.FromLabels(sr.Labels(), nil)
		var chks []prompb.Chunk
		size := 0
		for more := it.Next(); more; {
			meta := it.At()
			chks = append(chks, prompb.Chunk{MinTimeMs: meta.MinTime, MaxTimeMs: meta.MaxTime, Type: prompb.Chunk_Encoding(meta.Chunk.Encoding()), Data: meta.Chunk.Bytes()})
			size += len(meta.Chunk.Bytes())
			if more = it.Next(); more && size < readFrameBytes {
				continue
			}
			frame := prompb.ChunkedReadResponse{ChunkedSeries: []*prompb.ChunkedSeries{{Labels: lbls, Chunks: chks}}, QueryIndex: i}
			if err := fw.writeFrame(&frame); err != nil {
				return err
			}
			chks, size = chks[:0], 0
		}
		if err := it.Err(); err != nil {
			return err
		}
	}
	return ss.Err()
}

// readQuery selects query q's series through r and hands them to fn. The
// hints narrow the query's time range, never widen it.
func readQuery(r *store.Reader, q *prompb.Query, fn func(storage.SeriesSet) error) error {
	ms, err := readMatchers(q.Matchers)
	if err != nil {
		return err
	}
	mint, maxt := q.StartTimestampMs, q.EndTimestampMs
	if h := q.Hints; h != nil {
		mint = max(mint, h.StartMs)
		if h.EndMs != 0 {
			maxt = min(maxt, h.EndMs)
		}
	}
	if mint > maxt {
		return fn(storage.EmptySeriesSet())
	}
	series, err := r.Select(mint, maxt, ms...)
	if err != nil {
		return err
	}
	return fn(&rawSet{series: series, i: -1})
}

// rawSet is a store read's series as a storage.SeriesSet.
type rawSet struct {
	series []store.RawSeries
	i      int
}

func (s *rawSet) Next() bool                        { s.i++; return s.i < len(s.series) }
func (s *rawSet) At() storage.Series                { return &s.series[s.i] }
func (s *rawSet) Err() error                        { return nil }
func (s *rawSet) Warnings() annotations.Annotations { return nil }

// readMatchers converts a query's matchers: equal, not equal, regular
// expression and its negation.
func readMatchers(in []*prompb.LabelMatcher) ([]*labels.Matcher, error) {
	out := make([]*labels.Matcher, 0, len(in))
	for _, m := range in {
		var t labels.MatchType
		switch m.Type {
		case prompb.LabelMatcher_EQ:
			t = labels.MatchEqual
		case prompb.LabelMatcher_NEQ:
			t = labels.MatchNotEqual
		case prompb.LabelMatcher_RE:
			t = labels.MatchRegexp
		case prompb.LabelMatcher_NRE:
			t = labels.MatchNotRegexp
		default:
			return nil, fmt.Errorf("%w: %s has unknown type %d", errReadMatcher, m.Name, m.Type)
		}
		lm, err := labels.NewMatcher(t, m.Name, m.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errReadMatcher, err)
		}
		out = append(out, lm)
	}
	return out, nil
}

// remoteReadError answers query i that failed: 400 for a bad matcher or
// an answer past its bound, 500 otherwise.
func (s *Server) remoteReadError(c *gin.Context, i int, err error) {
	switch {
	case errors.Is(err, store.ErrReadLimit):
		badRequest(c, fmt.Errorf("remote read: query %d: %w: a request may read at most %d samples; ask for a shorter range or fewer series", i, errReadSamples, s.cfg.MaxRemoteReadSamples))
	case errors.Is(err, errReadBytes):
		badRequest(c, fmt.Errorf("remote read: query %d: %w: a streamed answer may hold at most %d bytes; ask for a shorter range or fewer series", i, err, s.cfg.MaxRemoteReadBytes))
	case errors.Is(err, errReadMatcher):
		badRequest(c, fmt.Errorf("remote read: query %d: %w", i, err))
	default:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("remote read: query %d: %w", i, err))
	}
}

// frameWriter writes the frames of a streamed answer, at most limit bytes
// in all: each frame is uvarint(len(data)), the CRC-32 (Castagnoli) of
// data, big-endian, then data, as Prometheus' ChunkedReader expects.
type frameWriter struct {
	w     http.ResponseWriter
	limit int
	n     int // written so far
	buf   []byte
}

func (f *frameWriter) writeFrame(m *prompb.ChunkedReadResponse) error {
	size := m.Size()
	f.buf = binary.AppendUvarint(f.buf[:0], uint64(size)) // #nosec G115 -- a message size is never negative
	head := len(f.buf)
	f.buf = append(f.buf, make([]byte, 4+size)...)
	if _, err := m.MarshalToSizedBuffer(f.buf[head+4:]); err != nil {
		return fmt.Errorf("marshal frame: %w", err)
	}
	binary.BigEndian.PutUint32(f.buf[head:], crc32.Checksum(f.buf[head+4:], castagnoli))
	if f.n+len(f.buf) > f.limit {
		return errReadBytes
	}
	if f.n == 0 {
		f.setType()
	}
	f.n += len(f.buf)
	if _, err := f.w.Write(f.buf); err != nil {
		return fmt.Errorf("write frame: %w", err)
	}
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return nil
}

// setType sets the Content-Type of a streamed answer. It is set when the
// first frame goes out, or when the answer holds none, so an error answered
// before any frame keeps the JSON type of its body.
func (f *frameWriter) setType() {
	f.w.Header().Set("Content-Type", "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
}
