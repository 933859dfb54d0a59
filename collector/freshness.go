package collector

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// The rule of a watched source. A source is watched, its
// data_last_sample_timestamp_seconds written and StaleData evaluated on
// it, once it has reported steadily: in at least WatchMinutes distinct
// minutes of the last WatchWindow, the first and the last of them at least
// WatchSpan apart. A single curl of an event, a short atroz load or a
// dashboard open for a few minutes never is; a service reporting every
// minute is watched after ten. A watched source stays watched through
// silence, which is what StaleData is for, until ForgetAfter of it or an
// admin retires it; either way its series ends with a staleness marker at
// the next scrape, and its alert resolves.
const (
	// WatchMinutes is how many distinct minutes a source reports in before it is watched.
	WatchMinutes = 5
	// WatchSpan is the least time between the first and the last of those minutes.
	WatchSpan = 10 * time.Minute
	// WatchWindow is how recent those minutes must be.
	WatchWindow = time.Hour
	// ForgetAfter is the silence after which a source is forgotten.
	ForgetAfter = 24 * time.Hour
)

// DashboardService is the service of the dashboard's own beacons
// (beacon.js in index.html). Its source, beacons:atroz-dashboard, is never
// watched: nobody having the dashboard open is no fault of the product.
const DashboardService = "atroz-dashboard"

// ErrUnknownSource is returned by RetireSource when the collector keeps no
// source of that name: never reported, forgotten, or retired already.
var ErrUnknownSource = errors.New("unknown source")

// freshness keeps what each data source reported when, and for the
// watched sources data_last_sample_timestamp_seconds{source}: the newest
// data time, which never moves backwards.
type freshness struct {
	set     *metrics.Set
	sources *registry[string, *source]
}

// source is one data source's reports; its lock orders them.
type source struct {
	name string
	mu   sync.Mutex
	// gone is set when the source is forgotten or retired: a report that
	// found it meanwhile must look its name up again.
	gone   bool
	newest float64 // unix seconds of the newest data
	last   int64   // unix seconds of the last report
	// minutes has bit i set when the source reported in unix minute top-i.
	minutes uint64
	top     int64
	gauge   *metrics.Gauge // nil while the source is not watched
}

func newFreshness(set *metrics.Set) *freshness {
	return &freshness{set: set, sources: newRegistry(func(name string) *source { return &source{name: name} })}
}

// freshName is the series name of source's freshness gauge.
func freshName(source string) string {
	return name("data_last_sample_timestamp_seconds", "source", source)
}

// freshMetric registers source's gauge in set.
func freshMetric(set *metrics.Set, source string) *metrics.Gauge {
	return set.GetOrCreateGauge(freshName(source), nil)
}

// mark records that source reported, at now, data from t.
func (f *freshness) mark(name string, t, now time.Time) {
	if name == dashboardSource {
		return
	}
	for {
		if f.sources.get(name).mark(f.set, t, now) {
			return
		}
		// forgotten meanwhile: the next get makes it anew
	}
}

// dashboardSource is the freshness source of the dashboard's own beacons.
var dashboardSource = pageKey{service: DashboardService}.source()

// mark records a report at now of data from t, and starts watching s
// when the report makes it steady. It returns false when s is gone.
func (s *source) mark(set *metrics.Set, t, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return false
	}
	s.newest = math.Max(s.newest, float64(t.UnixMilli())/1000)
	s.last = max(s.last, now.Unix())
	s.report(now.Unix() / 60)
	if s.gauge == nil && s.steady(now) {
		s.gauge = freshMetric(set, s.name)
	}
	if s.gauge != nil {
		s.gauge.Set(s.newest)
	}
	return true
}

// report sets the bit of unix minute m.
func (s *source) report(m int64) {
	switch d := m - s.top; {
	case d >= 64:
		s.minutes, s.top = 0, m
	case d > 0:
		s.minutes, s.top = s.minutes<<d, m
	case -d >= 64:
		return
	}
	s.minutes |= 1 << (s.top - m)
}

// steady reports whether s reported in WatchMinutes distinct minutes of
// the WatchWindow before now, the first and last WatchSpan apart.
func (s *source) steady(now time.Time) bool {
	age := now.Unix()/60 - s.top // minutes since the newest bit
	window := int64(WatchWindow / time.Minute)
	if age >= window {
		return false
	}
	in := s.minutes & (1<<(window-age) - 1) // the bits still inside the window
	if bits.OnesCount64(in) < WatchMinutes {
		return false
	}
	span := (63 - bits.LeadingZeros64(in)) - bits.TrailingZeros64(in)
	return int64(span) >= int64(WatchSpan/time.Minute)
}

// sweep forgets the sources silent for ForgetAfter, and those never
// watched whose reports have all left the WatchWindow, as of now.
func (f *freshness) sweep(now time.Time) {
	for _, s := range f.sources.values() {
		s.mu.Lock()
		silent := time.Duration(now.Unix()-s.last) * time.Second
		if silent >= ForgetAfter || (s.gauge == nil && silent >= WatchWindow) {
			f.forgetLocked(s)
		}
		s.mu.Unlock()
	}
}

// forgetLocked drops s and its gauge, whose series the next scrape ends
// with a staleness marker. s.mu must be held.
func (f *freshness) forgetLocked(s *source) {
	s.gone = true
	f.sources.remove(s.name)
	if s.gauge != nil {
		f.set.UnregisterMetric(freshName(s.name))
		s.gauge = nil
	}
}

// retire forgets the source name.
func (f *freshness) retire(name string) error {
	s, ok := f.sources.lookup(name)
	if !ok {
		return ErrUnknownSource
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return ErrUnknownSource
	}
	f.forgetLocked(s)
	return nil
}

// restore watches a source the store held a freshness series of, whose
// newest data came at unix seconds newest: it was watched before a
// restart, and must not need ten minutes of reports again to be.
func (f *freshness) restore(name string, newest float64) {
	s := f.sources.get(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newest = math.Max(s.newest, newest)
	s.last = max(s.last, int64(newest))
	if s.gauge == nil {
		s.gauge = freshMetric(f.set, name)
	}
	s.gauge.Set(s.newest)
}

// SourceInfo is what the collector keeps of one data source.
type SourceInfo struct {
	// Name is the source label: host, import, remote_write, otlp,
	// requests:<service> or beacons:<service>.
	Name string `json:"source"`
	// Watched is whether the source has reported steadily, so its
	// freshness is written and StaleData watches it.
	Watched bool `json:"watched"`
	// Newest is the time of its newest data.
	Newest time.Time `json:"newest"`
	// LastReport is when it last reported.
	LastReport time.Time `json:"lastReport"`
}

// Sources returns the data sources the collector keeps, by name.
func (c *Collector) Sources() []SourceInfo {
	var out []SourceInfo
	for _, s := range c.fresh.sources.values() {
		s.mu.Lock()
		if !s.gone {
			out = append(out, SourceInfo{s.name, s.gauge != nil, time.UnixMilli(int64(s.newest * 1000)).UTC(), time.Unix(s.last, 0).UTC()})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SourceInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// RetireSource forgets the source name, as a day of silence would: its
// freshness series ends at the next scrape and StaleData on it resolves.
// Should it report again, it is watched again once steady. It returns
// ErrUnknownSource when no source of that name is kept.
func (c *Collector) RetireSource(name string) error {
	return c.fresh.retire(name)
}

// MarkFresh records that source (such as "import") has data from t.
func (c *Collector) MarkFresh(source string, t time.Time) {
	c.fresh.mark(source, t, c.opts.Now())
}
