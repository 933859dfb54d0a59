package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"atroz/collector"
	"atroz/store"
	"atroz/ui"

	"github.com/gin-gonic/gin"
)

// readJSON reads a body of at most limit bytes into v, refusing unknown
// fields. It reports false when it has already answered (413, or a body
// that could not be read); a decoding error is returned for the caller to
// answer with the field it names.
func readJSON(c *gin.Context, limit int64, v any) (bool, error) {
	body, ok := readBody(c, limit)
	if !ok {
		return false, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return true, dec.Decode(v)
}

// readBody reads the request body, answering 413 past limit bytes.
func readBody(c *gin.Context, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		abortWithError(c, http.StatusRequestEntityTooLarge, ErrorTooLarge, fmt.Errorf("body exceeds %d bytes", limit))
		return nil, false
	case err != nil:
		abortWithError(c, http.StatusBadRequest, ErrorBadData, fmt.Errorf("read body: %w", err))
		return nil, false
	}
	return body, true
}

// badInput answers a refused payload with 400 naming the field and reason,
// and counts it.
func (s *Server) badInput(c *gin.Context, endpoint string, err error) {
	s.col.CountRejected(endpoint)
	abortWithError(c, http.StatusBadRequest, ErrorBadData, err)
}

// beacons takes a frame-rate beacon from a browser: JSON sent as text/plain
// by navigator.sendBeacon, so no preflight; 204 when recorded. Beacons
// reach the store through the self-scrape, so while the data volume is full
// they are refused (507) like every other ingest: the 204 would be a
// promise the server cannot keep across a restart. Beacons together hold
// at most their series budget (BEACON_MAX_SERIES), pages past it counted
// as "<other>", so a flood of forged services and pages cannot take the
// series the other sources need. The first beacon of a page the store has
// no room for (its series limit) is refused with 400 for the same reason.
func (s *Server) beacons(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if err := s.allowOrigin(c, origin); err != nil {
		s.col.CountRejected(collector.EndpointBeacons)
		abortWithError(c, http.StatusForbidden, ErrorForbidden, err)
		return
	}
	if origin != "" {
		c.Header("Access-Control-Allow-Origin", origin)
		c.Header("Vary", "Origin")
	}
	if !s.writable(c, collector.EndpointBeacons) {
		return
	}
	body, ok := readBody(c, collector.MaxBeaconBytes)
	if !ok {
		return
	}
	b, err := collector.DecodeBeacon(body, s.col.Window())
	if err != nil {
		s.badInput(c, collector.EndpointBeacons, err)
		return
	}
	if err := s.col.RecordBeacon(b); err != nil {
		s.appendRefused(c, collector.EndpointBeacons, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// allowOrigin admits beacons from AllowedOrigins, from the server's own
// origin (the dashboard measures itself), or from anywhere in development.
func (s *Server) allowOrigin(c *gin.Context, origin string) error {
	switch {
	case s.cfg.Development:
		return nil
	case origin == "":
		return errors.New("beacons need an Origin header from an allowed origin")
	case origin != s.self(c) && !s.origins[origin]:
		return fmt.Errorf("origin %q is not in ALLOWED_ORIGINS", origin)
	}
	return nil
}

// checkOrigin vets an ALLOWED_ORIGINS entry: scheme://host[:port], nothing more.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin like https://shop.example.com", o)
	}
	return nil
}

// ingestRequests takes a batch of request events from another service,
// whole or not at all: 507 while the data volume is full, as for beacons,
// and 400 when the store has no room for the series of label sets it has
// not seen before (its series limit).
func (s *Server) ingestRequests(c *gin.Context) {
	if !s.writable(c, collector.EndpointRequests) {
		return
	}
	body, ok := readBody(c, collector.MaxEventsBytes)
	if !ok {
		return
	}
	events, err := collector.DecodeRequestEvents(body, s.col.Window())
	if err != nil {
		s.badInput(c, collector.EndpointRequests, err)
		return
	}
	if err := s.col.RecordRequests(events); err != nil {
		s.appendRefused(c, collector.EndpointRequests, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "success", "data": gin.H{"accepted": len(events)}})
}

// importPrometheus stores pushed Prometheus text exposition or
// OpenMetrics, all of it or none: 200 only when every sample is stored.
// A syntax error, or any sample the store refuses (a non-finite value, a
// timestamp too far ahead or older than every tier, bad labels, a new
// series past MAX_SERIES, a sample out of order) stores nothing and
// answers 400 counting the refused samples by reason; a full data volume
// answers 507. Samples older than the raw retention go into the rollup
// tiers that keep their time. The store reads the body twice, spooling it
// to a temporary file past 1 MiB.
func (s *Server) importPrometheus(c *gin.Context) {
	if !s.writable(c, collector.EndpointImport) {
		return
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxImportBytes)
	res, err := s.db.Import(body, store.ImportOptions{Strict: true, OpenMetrics: c.ContentType() == "application/openmetrics-text"})
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		abortWithError(c, http.StatusRequestEntityTooLarge, ErrorTooLarge, fmt.Errorf("body exceeds %d bytes", s.cfg.MaxImportBytes))
		return
	case err != nil:
		s.appendRefused(c, collector.EndpointImport, err)
		return
	}
	s.col.MarkFresh(collector.EndpointImport, s.col.Now())
	c.JSON(http.StatusOK, gin.H{"status": "success", "data": res})
}

// beaconJS serves the frame-rate script that frontends include from any
// origin; browsers may cache it for an hour.
func beaconJS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Header("Cross-Origin-Resource-Policy", "cross-origin")
	c.Data(http.StatusOK, "application/javascript; charset=utf-8", ui.BeaconJS())
}

// metricsHandler serves the collector's metrics in the Prometheus text format.
func metricsHandler(col *collector.Collector) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		c.Status(http.StatusOK)
		col.WritePrometheus(c.Writer)
	}
}

// MetricsHandler serves the collector's metrics on a port of their own.
func MetricsHandler(col *collector.Collector) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/metrics", metricsHandler(col))
	return e
}
