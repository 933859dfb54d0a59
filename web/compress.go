package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/zstd"
)

// Compression of answers. klauspost/compress's gzhttp negotiates by the
// request's Accept-Encoding with its q-values, preferring zstd to gzip at
// equal weight, sets Vary: Accept-Encoding, leaves bodies under
// compressMinSize and answers that already have a Content-Encoding alone,
// and never compresses a HEAD. The levels were chosen by
// BenchmarkCompressQueryRange on a 168 KB query_range answer: gzip 1, 5,
// 6 and 9 send 32.1, 30.0, 29.4 and 25.9 KB, 9 at thirty times the CPU of
// the others; zstd's fastest, default and better levels send 30.2, 29.2
// and 27.7 KB, the better one at three times the CPU.
const (
	// compressMinSize is the smallest body compressed: below one packet,
	// compression saves no round trip, so errors and tiny answers go plain.
	compressMinSize = 1024
	// compressGzipLevel is gzip's level.
	compressGzipLevel = 5
	// compressZstdLevel is zstd's level, which browsers since 2024 accept.
	compressZstdLevel = int(zstd.SpeedDefault)
)

// uncompressedRoutes are the route prefixes whose answers are never
// compressed. Logins, token creation and the admin pages answer secrets
// beside what the request sent (BREACH guesses a secret from the
// compressed length of such answers); the WebSocket upgrades; remote read
// is snappy already and its streamed answer flushes frame by frame; the
// ingest routes answer a few bytes.
var uncompressedRoutes = []string{
	"/api/v1/auth/",
	"/api/v1/admin/",
	"/ws",
	"/api/v1/read",
	"/api/v1/write",
	"/api/v1/otlp/",
	"/api/v1/beacons",
	"/api/v1/ingest/",
	"/api/v1/import/",
}

// newCompressor returns the middleware that compresses a route's answer
// with gzip or zstd as the client accepts. Unmatched paths are the
// dashboard's files, gzipped once at start by staticFiles, and 404s.
func newCompressor() (gin.HandlerFunc, error) {
	wrap, err := gzhttp.NewWrapper(
		gzhttp.MinSize(compressMinSize),
		gzhttp.CompressionLevel(compressGzipLevel),
		gzhttp.ZstdCompressionLevel(compressZstdLevel),
	)
	if err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}
	return func(c *gin.Context) {
		if !compressible(c.FullPath()) {
			c.Next()
			return
		}
		orig := c.Writer
		defer func() { c.Writer = orig }()
		wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			c.Writer = &compressWriter{ResponseWriter: orig, w: w}
			c.Next()
		})).ServeHTTP(orig, c.Request)
	}, nil
}

// compressible reports whether route's answers may be compressed.
func compressible(route string) bool {
	if route == "" {
		return false
	}
	for _, p := range uncompressedRoutes {
		if strings.HasPrefix(route, p) {
			return false
		}
	}
	return true
}

// compressWriter is the gin.ResponseWriter a handler sees while its answer
// is compressed: the body goes through w, gzhttp's writer, which holds it
// until it knows the body is large enough and then writes it compressed
// to ResponseWriter. The status goes to ResponseWriter, which sends it
// with the first byte, so gin's Status and the access log see it.
type compressWriter struct {
	gin.ResponseWriter
	w     http.ResponseWriter
	wrote bool
}

// WriteHeader records the status; it is sent with the body.
func (w *compressWriter) WriteHeader(code int) { w.ResponseWriter.WriteHeader(code) }

// WriteHeaderNow sends the header at once only for an answer that has no
// body; any other waits for gzhttp to choose its Content-Encoding.
func (w *compressWriter) WriteHeaderNow() {
	if s := w.Status(); s < 200 || s == http.StatusNoContent || s == http.StatusNotModified {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// Write compresses b into the answer. Before the first byte it restores
// Vary: Accept-Encoding, which gzhttp set and CORS, setting Vary: Origin,
// may have replaced.
func (w *compressWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.wrote = true
		varyAcceptEncoding(w.Header())
	}
	return w.w.Write(b)
}

// varyAcceptEncoding adds Accept-Encoding to h's Vary unless it is there.
func varyAcceptEncoding(h http.Header) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}

// WriteString compresses s into the answer.
func (w *compressWriter) WriteString(s string) (int, error) {
	return w.Write([]byte(s))
}

// Written reports whether the handler has written any of its body, which
// gzhttp may still hold.
func (w *compressWriter) Written() bool { return w.wrote || w.ResponseWriter.Written() }

// Flush sends what is compressed so far.
func (w *compressWriter) Flush() {
	if f, ok := w.w.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (w *compressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
