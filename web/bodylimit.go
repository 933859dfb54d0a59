package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"atroz/collector"
)

// Body limits of the route classes that have no limit of their own.
const (
	// maxSmallBodyBytes bounds a login, refresh or logout, and any request
	// of a route that takes no body (GETs, deletes, the dashboard's files).
	maxSmallBodyBytes = 4 << 10
	// maxAdminBodyBytes bounds admin JSON: a token to create, a silence
	// with its matchers and comment, an SLO with its routes.
	maxAdminBodyBytes = 16 << 10
	// maxQueryBodyBytes bounds a query API form posted instead of sent in
	// the URL, as Grafana does for long queries.
	maxQueryBodyBytes = 1 << 20
	// maxBufferedBodyBytes is the largest limit under which a chunked body,
	// whose length is unknown up front, is read whole before the handler
	// runs, so it too is refused with 413 however the handler reads.
	maxBufferedBodyBytes = 1 << 20
)

// bodyLimitFor returns the largest body the route (gin's FullPath, empty
// for no route) takes.
func (s *Server) bodyLimitFor(route string) int64 {
	switch route {
	case "/api/v1/beacons":
		return collector.MaxBeaconBytes
	case "/api/v1/ingest/requests":
		return collector.MaxEventsBytes
	case "/api/v1/import/prometheus", "/api/v1/write", "/api/v1/otlp/v1/metrics":
		return s.cfg.MaxImportBytes
	case "/api/v1/read":
		return maxReadRequestBytes
	case "/api/v1/admin/tokens", "/api/v1/silences", "/api/v1/admin/slos", "/api/v1/admin/slos/:name":
		return maxAdminBodyBytes
	}
	if strings.HasPrefix(route, "/api/v1/") && !strings.HasPrefix(route, "/api/v1/auth/") &&
		!strings.HasPrefix(route, "/api/v1/admin/") && !strings.HasPrefix(route, "/api/v1/silences/") {
		return maxQueryBodyBytes
	}
	return maxSmallBodyBytes
}

// bodyLimit bounds every request's body by its route's class. A declared
// Content-Length past the limit is answered 413 at once, body unread, and
// the connection closed: net/http sends "100 Continue" only when a handler
// first reads the body, so a client that asked for it is refused before
// sending a byte. A chunked body is read whole up to the limit when the
// limit is small, and otherwise capped as the handler reads it; either way
// an overflow closes the connection after its answer. A chunked request's
// connection is closed after its answer in any case.
func (s *Server) bodyLimit(c *gin.Context) {
	if c.Request.TransferEncoding != nil {
		// net/http drops a Content-Length sent beside Transfer-Encoding,
		// so that pair, a smuggling attempt, looks like any chunked
		// request here: closing after every chunked request is what
		// RFC 9112 §6.3 requires of it.
		c.Header("Connection", "close")
	}
	limit := s.bodyLimitFor(c.FullPath())
	switch n := c.Request.ContentLength; {
	case n > limit:
		tooLarge(c, limit)
	case n < 0 && limit <= maxBufferedBodyBytes:
		s.bufferBody(c, limit)
	default:
		c.Request.Body = &cappedBody{ReadCloser: http.MaxBytesReader(c.Writer, c.Request.Body, limit), c: c}
	}
}

// bufferBody reads a chunked body of at most limit bytes into memory,
// answering 413 past it and 400 when it cannot be read.
func (s *Server) bufferBody(c *gin.Context, limit int64) {
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	switch {
	case err != nil:
		c.Header("Connection", "close")
		abortWithError(c, http.StatusBadRequest, ErrorBadData, fmt.Errorf("read body: %w", err))
	case int64(len(body)) > limit:
		tooLarge(c, limit)
	default:
		_ = c.Request.Body.Close()
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		c.Request.ContentLength = int64(len(body))
	}
}

// tooLarge answers 413 and closes the connection, so the rest of the body
// is never read.
func tooLarge(c *gin.Context, limit int64) {
	c.Header("Connection", "close")
	abortWithError(c, http.StatusRequestEntityTooLarge, ErrorTooLarge, fmt.Errorf("body exceeds %d bytes, this route's limit", limit))
}

// cappedBody is a body capped by http.MaxBytesReader that, once past its
// cap, marks the answer to close the connection: the handler's 413 then
// leaves the rest of the body unread.
type cappedBody struct {
	io.ReadCloser
	c *gin.Context
}

// Read reads from the capped body.
func (b *cappedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) && !b.c.Writer.Written() {
		b.c.Header("Connection", "close")
	}
	return n, err
}
