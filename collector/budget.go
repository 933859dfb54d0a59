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

// beaconBudget bounds the series beacons create in total, so anonymous
// browsers can never take the room under MAX_SERIES that request events,
// imports, remote write and AtroZ's own metrics need. A page's series are
// charged when they are first reserved; a page that does not fit is folded
// into overflowPage, whose room is kept aside so it always fits.
type beaconBudget struct {
	mu       sync.Mutex
	limit    int
	used     int
	pageCost int             // series of one page, its service's freshness gauge apart
	services map[string]bool // services whose freshness gauge is charged
}

// newBeaconBudget returns a budget of limit series, of which used are
// taken already (by beacons of an earlier run the store still holds).
func newBeaconBudget(limit, used int) *beaconBudget {
	scratch := metrics.NewSet()
	pageSeriesIn(scratch, overflowPage)
	var b bytes.Buffer
	scratch.WritePrometheus(&b)
	lsets, _ := exposedSeries(b.Bytes())
	return &beaconBudget{limit: limit, used: used, pageCost: len(lsets), services: map[string]bool{}}
}

// cost returns the series a first beacon of k adds: its page's, and its
// service's freshness gauge when the service is new.
func (b *beaconBudget) cost(k pageKey) int {
	if b.services[k.service] {
		return b.pageCost
	}
	return b.pageCost + 1
}

// fit returns k when its series fit under the budget beside the room
// kept for overflowPage, and overflowPage otherwise; ErrBeaconBudget when
// even overflowPage is new and does not fit, as with a budget smaller
// than one page. b.mu must be held.
func (b *beaconBudget) fit(k pageKey, overflowExists bool) (pageKey, error) {
	room := b.limit - b.used
	if overflowExists {
		if k == overflowPage || b.cost(k) > room {
			return overflowPage, nil
		}
		return k, nil
	}
	over := b.cost(overflowPage)
	switch {
	case k != overflowPage && b.cost(k)+over <= room:
		return k, nil
	case over <= room:
		return overflowPage, nil
	}
	return k, fmt.Errorf("%w: %d series of %d taken, a page needs %d", ErrBeaconBudget, b.used, b.limit, over)
}

// charge records that k's series were reserved. b.mu must be held.
func (b *beaconBudget) charge(k pageKey) {
	b.used += b.cost(k)
	b.services[k.service] = true
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
