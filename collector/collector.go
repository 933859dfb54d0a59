// Package collector owns AtroZ's metric objects. Middleware, beacon and
// request-event handlers, the host sampler and WebSocket hooks only update
// counters, gauges and Prometheus-style histograms in a
// VictoriaMetrics/metrics Set, without locks on the hot path and without
// touching the disk. Every scrape interval the Set is written in the
// Prometheus text format, the same text /metrics serves, and appended to the
// store with one timestamp.
package collector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
)

// Options configure a Collector. Zero fields take the documented defaults.
type Options struct {
	// Service is the service label of AtroZ's own requests. Default "atroz".
	Service string
	// ScrapeInterval is how often the metrics are appended to the store. Default 5s.
	ScrapeInterval time.Duration
	// MaxServices caps the services request events may name; more become
	// "<other>". Default 50.
	MaxServices int
	// MaxBeaconServices caps the services anonymous beacons may name; more
	// become "<other>". Default 20.
	MaxBeaconServices int
	// MaxPagesPerService caps the pages a service's beacons may name; more
	// become "<other>". Default 200.
	MaxPagesPerService int
	// MaxBeaconSeries caps the series all beacons together may create, so
	// they never take the room under the store's MaxSeries that the other
	// sources need; a page past it counts as service and page "<other>".
	// Default a tenth of the store's MaxSeries (10,000 of 100,000: 526
	// pages of 19 series).
	MaxBeaconSeries int
	// MaxRoutesPerService caps the routes a service's request events may
	// name; more become "<other>". Default 200.
	MaxRoutesPerService int
	// MaxCodesPerRoute caps the status codes kept apart per service and
	// route of request events; more count under their class ("4xx",
	// "5xx"), so no reporter can multiply a route's series by the 500
	// codes. Default 10.
	MaxCodesPerRoute int
	// DataDir is the directory whose volume's free space is sampled. Default ".".
	DataDir string
	// Logger receives failed scrapes. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

func (o *Options) withDefaults(maxSeries int) Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.Service == "" {
		r.Service = "atroz"
	}
	if r.ScrapeInterval <= 0 {
		r.ScrapeInterval = 5 * time.Second
	}
	r.MaxServices = orDefault(r.MaxServices, 50)
	r.MaxBeaconServices = orDefault(r.MaxBeaconServices, 20)
	r.MaxBeaconSeries = orDefault(r.MaxBeaconSeries, max(maxSeries/10, 1))
	r.MaxPagesPerService = orDefault(r.MaxPagesPerService, 200)
	r.MaxRoutesPerService = orDefault(r.MaxRoutesPerService, 200)
	r.MaxCodesPerRoute = orDefault(r.MaxCodesPerRoute, 10)
	if r.DataDir == "" {
		r.DataDir = "."
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Collector holds the metric objects and appends them to the store.
type Collector struct {
	opts  Options
	db    *store.DB
	set   *metrics.Set
	http  *httpMetrics
	front *frontendMetrics
	sys   *systemMetrics
	ws    *wsMetrics
	cache *registry[cacheKey, *metrics.Counter]
	fresh *freshness
	// routes caps the services and routes request events may name.
	routes *valueCap
	// codes caps the status codes kept apart per service and route.
	codes *codeCap
	// rejected counts refused payloads per ingest endpoint.
	rejected map[string]*metrics.Counter
	// unavailable counts payloads the store could not take, per endpoint and reason.
	unavailable map[[2]string]*metrics.Counter

	scrapeMu  sync.Mutex
	scrapeBuf bytes.Buffer
	scraped   scrapeState
}

// New returns a Collector over db with every metric of Defs registered.
func New(db *store.DB, opts *Options) *Collector {
	o := opts.withDefaults(db.Options().MaxSeries)
	set := metrics.NewSet()
	c := &Collector{opts: o, db: db, set: set}
	c.http = newHTTPMetrics(set)
	c.fresh = newFreshness(set)
	c.fresh.restoreFrom(db, o.Now())
	c.front = newFrontendMetrics(set, o, beaconSeriesIn(db))
	c.sys = newSystemMetrics(set, o.DataDir)
	c.ws = newWSMetrics(set)
	c.cache = newCacheMetrics(set)
	c.routes = newValueCap(o.MaxServices, o.MaxRoutesPerService)
	c.codes = newCodeCap(o.MaxCodesPerRoute)
	c.rejected = newRejected(set)
	c.unavailable = newUnavailable(set)
	registerStoreMetrics(set, db)
	return c
}

// WritePrometheus writes every metric in the Prometheus text format: the
// collector's own, then the Go runtime and process metrics.
func (c *Collector) WritePrometheus(w io.Writer) {
	c.set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
}

// Scrape samples the host, then appends every metric to the store with
// timestamp now: the same numbers WritePrometheus shows. A series the
// previous scrape held and this one lacks gets a staleness marker, as
// Prometheus' scrape loop writes one, so queries stop finding it at once.
// While the data volume is full the store refuses the scrape with
// store.ErrDiskFull; counters and histograms are cumulative, so the first
// scrape after it catches up.
func (c *Collector) Scrape() (err error) {
	c.scrapeMu.Lock()
	defer c.scrapeMu.Unlock()
	now := c.opts.Now()
	defer func(began time.Time) { c.scraped.record(now, time.Since(began), err) }(time.Now())
	c.sys.sample()
	c.fresh.mark("host", now, now)
	c.fresh.sweep(now)
	if err := c.db.Writable(); err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	c.scrapeBuf.Reset()
	c.WritePrometheus(&c.scrapeBuf)
	res, err := c.scraped.appendScrape(c.db, c.scrapeBuf.Bytes(), now.UnixMilli())
	if err != nil {
		return fmt.Errorf("scrape: %w", err)
	}
	if res.refused > 0 {
		return fmt.Errorf("scrape: store refused %d of %d samples, first: %w", res.refused, res.refused+res.appended+res.markers, res.first)
	}
	return nil
}

// Run scrapes every ScrapeInterval until ctx is done.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.opts.ScrapeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.logScrapeError(c.Scrape())
		}
	}
}

// logScrapeError logs a failed scrape, but not one refused because the
// data volume is full: the store logs that once when it fills and once
// when it frees, not every scrape interval.
func (c *Collector) logScrapeError(err error) {
	if err != nil && !errors.Is(err, store.ErrDiskFull) {
		c.opts.Logger.Error("self-scrape failed", "event_type", "collector", "error", err)
	}
}

// Now returns the collector's clock.
func (c *Collector) Now() time.Time { return c.opts.Now() }

// AddWriter has fn write more metrics (the alert manager's, say) wherever
// the collector's are written: /metrics and the self-scrape.
func (c *Collector) AddWriter(fn func(w io.Writer)) {
	c.set.RegisterMetricsWriter(fn)
}
