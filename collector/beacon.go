package collector

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Beacon is one report from a browser, as beacon.js sends it:
//
//	{"service":"shop","page":"/checkout","fps":[58.9,60,41.2],"long_frames":2,"duration_ms":10000,
//	 "vitals":{"lcp_ms":1840,"cls":0.02},"ts":1732700000000}
//
// fps holds one frame rate per second measured; vitals, when present, the
// Core Web Vitals of the page view that became final since the last beacon
// (see Vitals), each once per page view; a beacon holds frame rates,
// vitals or both. ts is unix milliseconds at sending (0 or absent: the
// time it arrives).
type Beacon struct {
	Service    string      `json:"service"`
	Page       string      `json:"page"`
	FPS        []float64   `json:"fps"`
	LongFrames int64       `json:"long_frames"`
	DurationMs float64     `json:"duration_ms"`
	Vitals     VitalValues `json:"vitals,omitempty"`
	TS         int64       `json:"ts"`
}

// Limits of a beacon.
const (
	MaxBeaconBytes   = 64 << 10
	MaxBeaconSamples = 600 // ten minutes of one-second frame rates
	MaxFPS           = 1000
)

// DecodeBeacon parses and vets a beacon body. Any fault is an *InputError
// naming the field; a beacon that decodes is entirely valid.
func DecodeBeacon(body []byte, w Window) (Beacon, error) {
	var b Beacon
	if err := decodeJSON(body, &b, ""); err != nil {
		return Beacon{}, err
	}
	return b, b.check(w)
}

func (b *Beacon) check(w Window) error {
	if err := checkLabel("service", b.Service); err != nil {
		return err
	}
	if err := checkLabel("page", b.Page); err != nil {
		return err
	}
	if !strings.HasPrefix(b.Page, "/") {
		return badInput("page", "must be a path starting with /, got %q", b.Page)
	}
	if err := b.checkSamples(); err != nil {
		return err
	}
	if err := checkVitals(b.Vitals); err != nil {
		return err
	}
	if err := checkNumber("long_frames", float64(b.LongFrames), 0, 1e9); err != nil {
		return err
	}
	if err := checkNumber("duration_ms", b.DurationMs, 0, 24*3600*1000); err != nil {
		return err
	}
	var err error
	b.TS, err = w.checkTime("ts", b.TS)
	return err
}

func (b *Beacon) checkSamples() error {
	switch n := len(b.FPS); {
	case n == 0 && len(b.Vitals) == 0:
		return badInput("fps", "must hold at least one frame rate when the beacon has no vitals")
	case n > MaxBeaconSamples:
		return badInput("fps", "holds %d frame rates, at most %d allowed", n, MaxBeaconSamples)
	}
	for i, v := range b.FPS {
		if err := checkNumber("fps["+strconv.Itoa(i)+"]", v, 0, MaxFPS); err != nil {
			return err
		}
	}
	return nil
}

// frontendMetrics holds the beacon metrics per service and page.
type frontendMetrics struct {
	pages  *valueCap
	series *registry[pageKey, *pageSeries]
	vitals *registry[pageKey, *vitalSeries] // created on a page's first vitals
	// budget bounds the series all pages hold; its lock also serialises
	// the creation of pages, so no two first beacons overspend it.
	budget *beaconBudget
}

type pageKey struct{ service, page string }

type pageSeries struct {
	key        pageKey // the page counted under, overflowPage when folded
	fps        *metrics.PrometheusHistogram
	longFrames *metrics.Counter
	beacons    *metrics.Counter
	source     string // the freshness source, beacons:<service>
}

func newFrontendMetrics(set *metrics.Set, o Options, used int) *frontendMetrics {
	return &frontendMetrics{
		pages:  newValueCap(o.MaxBeaconServices, o.MaxPagesPerService),
		budget: newBeaconBudget(o.MaxBeaconSeries, used),
		series: newRegistry(func(k pageKey) *pageSeries {
			s := pageSeriesIn(set, k)
			s.key, s.source = k, k.source()
			return s
		}),
		vitals: newRegistry(func(k pageKey) *vitalSeries { return vitalSeriesIn(set, k) }),
	}
}

// exists reports whether g's series were created.
func (f *frontendMetrics) exists(g group) bool {
	if g.vitals {
		_, ok := f.vitals.lookup(g.page)
		return ok
	}
	_, ok := f.series.lookup(g.page)
	return ok
}

// pageSeriesIn registers the frame-rate metrics of k in set; key and
// source are left unset.
func pageSeriesIn(set *metrics.Set, k pageKey) *pageSeries {
	kv := []string{"service", k.service, "page", k.page}
	return &pageSeries{
		fps:        set.GetOrCreatePrometheusHistogramExt(name("frontend_fps", kv...), fpsBuckets),
		longFrames: set.GetOrCreateCounter(name("frontend_long_frames_total", kv...)),
		beacons:    set.GetOrCreateCounter(name("frontend_beacons_total", kv...)),
	}
}

// source is the freshness source of k's beacons.
func (k pageKey) source() string { return "beacons:" + k.service }

// RecordBeacon counts a beacon that DecodeBeacon accepted: every frame rate
// into the frontend_fps histogram of its service and normalised page, and
// every vital into its histogram (created on the page's first vitals).
// Services past MaxBeaconServices and pages past MaxPagesPerService count
// as "<other>", and a page whose series would pass MaxBeaconSeries counts
// under service and page "<other>", so beacons never hold more series than
// their budget. The first beacon of a page reserves room in the store for
// the page's series, which the next scrape appends; when there is none
// (store.ErrSeriesLimit) it records nothing and returns the error, so the
// beacon is refused rather than acknowledged and lost.
func (c *Collector) RecordBeacon(b Beacon) error {
	service, page := c.front.pages.admit(b.Service, NormalizePage(b.Page))
	s, ok := c.front.series.lookup(pageKey{service, page})
	if !ok {
		var err error
		if s, err = c.newPage(pageKey{service, page}); err != nil {
			return err
		}
	}
	if len(b.Vitals) > 0 {
		vs, err := c.vitalsOf(s.key)
		if err != nil {
			return err
		}
		vs.record(b.Vitals)
	}
	for _, v := range b.FPS {
		s.fps.Update(v)
	}
	s.longFrames.AddInt64(b.LongFrames)
	s.beacons.Inc()
	c.fresh.mark(s.source, time.UnixMilli(b.TS), c.opts.Now())
	return nil
}

// newPage returns the series of k's first beacon, or of overflowPage when
// the beacon budget has no room for k's, reserving them in the store.
func (c *Collector) newPage(k pageKey) (*pageSeries, error) {
	f := c.front
	f.budget.mu.Lock()
	defer f.budget.mu.Unlock()
	g, err := f.budget.fit(group{k, false}, f.exists)
	if err != nil {
		return nil, fmt.Errorf("the first beacon of service %q, page %q: %w", k.service, k.page, err)
	}
	k = g.page
	if s, ok := f.series.lookup(k); ok {
		return s, nil
	}
	err = c.reserve(func(set *metrics.Set) {
		pageSeriesIn(set, k)
		if k.source() != dashboardSource { // never watched, so never created
			freshMetric(set, k.source())
		}
	})
	if err != nil {
		return nil, fmt.Errorf("the first beacon of service %q, page %q needs new series: %w", k.service, k.page, err)
	}
	f.budget.charge(g)
	return f.series.get(k), nil
}
