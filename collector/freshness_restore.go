package collector

import (
	"math"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// restoreWindows are the spans restoreFrom reads back from now, widening
// until every freshness series of the last ForgetAfter is found: a restart
// finds them all in the first, and no read decodes a day of every one.
var restoreWindows = []time.Duration{15 * time.Minute, time.Hour, 6 * time.Hour, ForgetAfter}

// restoreFrom watches again the sources whose freshness series db holds
// from the last ForgetAfter, unless the series ends in a staleness marker,
// as the series of a forgotten or retired source does. A source that went
// quiet while AtroZ was stopped still has StaleData watch it.
func (f *freshness) restoreFrom(db *store.DB, now time.Time) {
	m := labels.MustNewMatcher(labels.MatchEqual, store.MetricName, "data_last_sample_timestamp_seconds")
	all, err := db.SeriesBetween(now.Add(-ForgetAfter).UnixMilli(), now.UnixMilli(), m)
	if err != nil || len(all) == 0 {
		return
	}
	found := map[string]bool{}
	for _, w := range restoreWindows {
		got, err := db.Select(store.Query{MinT: now.Add(-w).UnixMilli(), MaxT: now.UnixMilli(), Matchers: []*labels.Matcher{m}})
		if err != nil {
			return
		}
		for _, s := range got {
			name := s.Labels.Get("source")
			if found[name] || len(s.Samples) == 0 || name == dashboardSource {
				continue
			}
			found[name] = true
			if last := s.Samples[len(s.Samples)-1].V; !math.IsNaN(last) && now.Sub(time.Unix(int64(last), 0)) < ForgetAfter {
				f.restore(name, last)
			}
		}
		if len(found) >= len(all) {
			return
		}
	}
}
