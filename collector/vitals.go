package collector

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// Vital is one of the Core Web Vitals beacons carry: its field in a
// beacon's vitals object, the histogram it is counted in, and Google's
// thresholds between good, needs improvement and poor at the 75th
// percentile of page views, in the histogram's unit.
type Vital struct {
	Field  string // in a beacon's vitals object, e.g. "lcp_ms"
	Metric string // the histogram, e.g. "frontend_lcp_seconds"
	// Scale turns the beacon's value into the histogram's unit
	// (milliseconds to seconds for the timings).
	Scale float64
	// Max is the largest value a beacon may carry, in the beacon's unit:
	// more is not a measurement but a fault.
	Max float64
	// Good and Poor are Google's thresholds: a page's vital is good when
	// its p75 is at most Good, poor when it is over Poor. Both are bounds
	// of Buckets, so the share of page views on either side of them is
	// exact.
	Good, Poor float64
	Buckets    []float64
}

// Vitals are the Core Web Vitals in the order beacons, the dashboard and
// the built-in alerts list them.
var Vitals = []Vital{
	{Field: "lcp_ms", Metric: "frontend_lcp_seconds", Scale: 1e-3, Max: 600_000, Good: 2.5, Poor: 4,
		Buckets: []float64{0.5, 1, 1.5, 2, 2.5, 3, 4, 6, 10}},
	{Field: "inp_ms", Metric: "frontend_inp_seconds", Scale: 1e-3, Max: 600_000, Good: 0.2, Poor: 0.5,
		Buckets: []float64{0.05, 0.1, 0.2, 0.3, 0.5, 1, 2}},
	{Field: "cls", Metric: "frontend_cls", Scale: 1, Max: 100, Good: 0.1, Poor: 0.25,
		Buckets: []float64{0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1}},
	{Field: "ttfb_ms", Metric: "frontend_ttfb_seconds", Scale: 1e-3, Max: 600_000, Good: 0.8, Poor: 1.8,
		Buckets: []float64{0.1, 0.2, 0.4, 0.8, 1.2, 1.8, 3}},
}

// vitalFields lists the fields of a vitals object, for errors.
var vitalFields = func() string {
	fs := make([]string, len(Vitals))
	for i, v := range Vitals {
		fs[i] = v.Field
	}
	return strings.Join(fs, ", ")
}()

// VitalValues are a beacon's vitals by field, in the beacon's units.
type VitalValues map[string]*float64

// UnmarshalJSON decodes a vitals object, naming the vital whose value is
// not a number.
func (vs *VitalValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return badInput("vitals", "must be an object of numbers")
	}
	out := make(VitalValues, len(raw))
	for k, r := range raw {
		var v *float64
		if err := json.Unmarshal(r, &v); err != nil {
			return badInput("vitals."+k, "must be a number, got %.20s", r)
		}
		out[k] = v
	}
	*vs = out
	return nil
}

// vitalIndex returns the index in Vitals of the vital named field, or -1.
func vitalIndex(field string) int {
	return slices.IndexFunc(Vitals, func(v Vital) bool { return v.Field == field })
}

// checkVitals vets a beacon's vitals object: every name one of Vitals'
// fields, every value a number within [0, Max].
func checkVitals(vs VitalValues) error {
	names := make([]string, 0, len(vs))
	for k := range vs {
		names = append(names, k)
	}
	slices.Sort(names) // the first fault, whatever the map's order
	for _, k := range names {
		i := vitalIndex(k)
		if i < 0 {
			return badInput("vitals."+k, "is not a vital; the vitals are %s", vitalFields)
		}
		if vs[k] == nil {
			return badInput("vitals."+k, "must be a number, got null")
		}
		if err := checkNumber("vitals."+k, *vs[k], 0, Vitals[i].Max); err != nil {
			return err
		}
	}
	return nil
}

// vitalSeries holds one page's vitals histograms, in the order of Vitals.
type vitalSeries [4]*metrics.PrometheusHistogram

// vitalSeriesIn registers the vitals histograms of k in set.
func vitalSeriesIn(set *metrics.Set, k pageKey) *vitalSeries {
	var s vitalSeries
	for i, v := range Vitals {
		s[i] = set.GetOrCreatePrometheusHistogramExt(name(v.Metric, "service", k.service, "page", k.page), v.Buckets)
	}
	return &s
}

// record counts one page view's vitals, each in its histogram's unit.
func (s *vitalSeries) record(vs VitalValues) {
	for k, v := range vs {
		if i := vitalIndex(k); i >= 0 && v != nil {
			s[i].Update(*v * Vitals[i].Scale)
		}
	}
}

// vitalsOf returns the vitals histograms of k, creating them on its first
// vitals: they take more series than the frame rate's, and many pages
// never send vitals (older browsers, pages that are never interacted
// with), so they are charged to the beacon budget only when used. When
// the budget has no room for them they are counted under overflowPage's.
func (c *Collector) vitalsOf(k pageKey) (*vitalSeries, error) {
	f := c.front
	if s, ok := f.vitals.lookup(k); ok {
		return s, nil
	}
	f.budget.mu.Lock()
	defer f.budget.mu.Unlock()
	g, err := f.budget.fit(group{k, true}, f.exists)
	if err != nil {
		return nil, fmt.Errorf("the first vitals of service %q, page %q: %w", k.service, k.page, err)
	}
	if s, ok := f.vitals.lookup(g.page); ok {
		return s, nil
	}
	err = c.reserve(func(set *metrics.Set) {
		vitalSeriesIn(set, g.page)
		if !f.budget.services[g.page.service] && g.page.source() != dashboardSource {
			freshMetric(set, g.page.source())
		}
	})
	if err != nil {
		return nil, fmt.Errorf("the first vitals of service %q, page %q need new series: %w", g.page.service, g.page.page, err)
	}
	f.budget.charge(g)
	return f.vitals.get(g.page), nil
}
