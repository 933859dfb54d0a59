package collector

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"sync"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/prometheus/model/labels"
)

// ErrBeaconBudget is returned by RecordBeacon when the beacon series
// budget (Options.MaxBeaconSeries) has no room for even the "<other>" page
// that pages past it count under: a budget smaller than one page's series.
var ErrBeaconBudget = errors.New("beacon series budget (BEACON_MAX_SERIES) exhausted")

// overflowPage is the page every beacon counts under once the beacon series
// budget has no room for its own page's series.
var overflowPage = pageKey{OtherValue, OtherValue}

// group is what the beacon budget charges at once: a page's frame-rate
// series, or its vitals histograms, which are created on the page's first
// vitals.
type group struct {
	page   pageKey
	vitals bool
}

// beaconBudget bounds the series beacons create in total, so anonymous
// browsers can never take the room under MAX_SERIES that request events,
// imports, remote write and AtroZ's own metrics need. A group's series are
// charged when they are first reserved; a group that does not fit is
// folded into overflowPage's group of its kind, whose room is kept aside
// (for both kinds) so it always fits.
type beaconBudget struct {
	mu       sync.Mutex
	limit    int
	used     int
	costs    [2]int          // series of a frame-rate group and of a vitals group, the freshness gauge apart
	services map[string]bool // services whose freshness gauge is charged
}

// newBeaconBudget returns a budget of limit series, of which used are
// taken already (by beacons of an earlier run the store still holds).
func newBeaconBudget(limit, used int) *beaconBudget {
	return &beaconBudget{limit: limit, used: used, services: map[string]bool{}, costs: [2]int{
		seriesOf(func(set *metrics.Set) { pageSeriesIn(set, overflowPage) }),
		seriesOf(func(set *metrics.Set) { vitalSeriesIn(set, overflowPage) }),
	}}
}

// seriesOf returns the number of series register creates.
func seriesOf(register func(set *metrics.Set)) int {
	scratch := metrics.NewSet()
	register(scratch)
	var b bytes.Buffer
	scratch.WritePrometheus(&b)
	lsets, _ := exposedSeries(b.Bytes())
	return len(lsets)
}

// cost returns the series g adds: its own, and its service's freshness
// gauge when the service is new.
func (b *beaconBudget) cost(g group) int {
	n := b.costs[0]
	if g.vitals {
		n = b.costs[1]
	}
	if !b.services[g.page.service] {
		n++
	}
	return n
}

// reserved returns the room kept for overflowPage's groups not created yet.
func (b *beaconBudget) reserved(exists func(group) bool) int {
	n := 0
	for i, vitals := range []bool{false, true} {
		if !exists(group{overflowPage, vitals}) {
			n += b.costs[i]
		}
	}
	if n > 0 && !b.services[OtherValue] {
		n++
	}
	return n
}

// fit returns g when its series fit under the budget beside the room
// kept for overflowPage's groups, and overflowPage's group of g's kind
// otherwise; ErrBeaconBudget when even that group is new and does not
// fit, as with a budget smaller than one page. b.mu must be held.
func (b *beaconBudget) fit(g group, exists func(group) bool) (group, error) {
	over := group{overflowPage, g.vitals}
	room := b.limit - b.used
	if g != over && b.cost(g)+b.reserved(exists) <= room {
		return g, nil
	}
	if exists(over) || b.cost(over) <= room {
		return over, nil
	}
	return g, fmt.Errorf("%w: %d series of %d taken, a page needs %d", ErrBeaconBudget, b.used, b.limit, b.cost(over))
}

// charge records that g's series were reserved. b.mu must be held.
func (b *beaconBudget) charge(g group) {
	b.used += b.cost(g)
	b.services[g.page.service] = true
}

// beaconSeriesIn counts the beacon series db holds already: the frontend
// metrics and the beacons' freshness gauges.
func beaconSeriesIn(db *store.DB) int {
	n := 0
	for _, m := range []*labels.Matcher{
		labels.MustNewMatcher(labels.MatchRegexp, store.MetricName, "frontend_.+"),
		labels.MustNewMatcher(labels.MatchRegexp, "source", "beacons:.+"),
	} {
		ls, err := db.SeriesBetween(math.MinInt64, math.MaxInt64, m)
		if err == nil {
			n += len(ls)
		}
	}
	return n
}
