package slo

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// Counts are the events an SLO counted in a span: how many were bad, of
// how many in all.
type Counts struct {
	Bad float64 `json:"bad"`
	All float64 `json:"all"`
}

// Status is where an SLO stands for one service, computed exactly from the
// stored counters: no extrapolation, no averaging.
type Status struct {
	Name      string  `json:"name"`
	Service   string  `json:"service"`
	Indicator string  `json:"indicator"`
	Objective float64 `json:"objective"` // percent
	// Origin is where the SLO comes from: OriginFile, OriginDefault or OriginDashboard.
	Origin string `json:"origin"`
	// Window is the SLO's window in seconds.
	Window float64 `json:"window_seconds"`
	// Events are the window's; LastHour the last hour's.
	Events   Counts `json:"events"`
	LastHour Counts `json:"last_hour"`
	// SLI is the good share over the window, 1 - bad/all; null without events.
	SLI *float64 `json:"sli"`
	// BudgetRemaining is the share of the window's error budget left: 1
	// unspent, 0 spent, below 0 overspent; null without events.
	BudgetRemaining *float64 `json:"budget_remaining"`
	// BudgetRemainingSeconds is that share of the window: how long a total
	// outage the rest of the budget would still allow.
	BudgetRemainingSeconds *float64 `json:"budget_remaining_seconds"`
	// BurnRate is the last hour's error ratio over the budget: 1 spends it
	// exactly over the window; null without events in the hour.
	BurnRate *float64 `json:"burn_rate"`
	// ExhaustedInSeconds is when the budget runs out at the last hour's
	// burn; null when it does not burn or is spent.
	ExhaustedInSeconds *float64 `json:"exhausted_in_seconds"`
	// BurnAlerts are the conditions of the SLO's burn-rate alerts, as its
	// rules test them.
	BurnAlerts []BurnAlert `json:"burn_alerts"`
}

// Statuses returns the status of each SLO of f (and of each service for
// the built-in ones) at now, sorted by name and service.
func Statuses(r Reader, f *File, now time.Time) ([]Status, error) {
	list := f.SLOs
	if f.Defaults {
		list = append(Defaults(), list...)
	}
	var out []Status
	for i := range list {
		st, err := list[i].statuses(r, now)
		if err != nil {
			return nil, fmt.Errorf("slo %s: %w", list[i].Name, err)
		}
		out = append(out, st...)
	}
	slices.SortFunc(out, func(a, b Status) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Service, b.Service))
	})
	return out, nil
}

// statuses counts the SLO's events per service over its window and the last hour.
func (s *SLO) statuses(r Reader, now time.Time) ([]Status, error) {
	window, err := s.Count(r, now.Add(-time.Duration(s.Window)), now)
	if err != nil {
		return nil, err
	}
	hour, err := s.Count(r, now.Add(-time.Hour), now)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(window))
	for svc, c := range window {
		out = append(out, s.status(svc, c, hour[svc]))
	}
	if len(out) == 0 && !s.perService {
		// An SLO of one service is listed before its first event, so
		// one just created shows.
		out = append(out, s.status(s.Service, Counts{}, Counts{}))
	}
	return out, nil
}

// status derives the budget figures from the counts.
func (s *SLO) status(service string, window, hour Counts) Status {
	st := Status{Name: s.Name, Service: service, Indicator: s.Indicator, Objective: s.Objective, Origin: s.Origin(),
		Window: time.Duration(s.Window).Seconds(), Events: window, LastHour: hour, BurnAlerts: s.BurnAlerts()}
	budget := s.Budget()
	if window.All > 0 {
		st.SLI = ptr(1 - window.Bad/window.All)
		st.BudgetRemaining = ptr(1 - window.Bad/(window.All*budget))
		st.BudgetRemainingSeconds = ptr(*st.BudgetRemaining * st.Window)
	}
	if hour.All > 0 {
		st.BurnRate = ptr(hour.Bad / hour.All / budget)
		if st.BudgetRemaining != nil && *st.BudgetRemaining > 0 && *st.BurnRate > 0 {
			// At burn rate b the budget goes b times faster than it would
			// evenly over the window.
			st.ExhaustedInSeconds = ptr(*st.BudgetRemaining * st.Window / *st.BurnRate)
		}
	}
	return st
}

func ptr(f float64) *float64 { return &f }

// Count returns the SLO's bad and all events in (from, to], per service:
// each counter's increases between consecutive samples whose later one is
// in the span, a drop counted as a reset from zero. A series' first sample
// in the span counts nothing unless one at or before from precedes it, as
// rate() does not either; a gap in the data counts what the counter grew
// across it. Where the raw tier no longer covers from, the 1-minute or
// 1-hour tier's reset-adjusted counter is read instead, exact at its points.
func (s *SLO) Count(r Reader, from, to time.Time) (map[string]Counts, error) {
	bad, all, good := s.selectors()
	out := map[string]Counts{}
	add := func(ms []*labels.Matcher, f func(c *Counts, v float64)) error {
		sums, err := r.increases(ms, from, to)
		if err != nil {
			return err
		}
		for svc, v := range sums {
			c := out[svc]
			f(&c, v)
			out[svc] = c
		}
		return nil
	}
	if err := add(all, func(c *Counts, v float64) { c.All += v }); err != nil {
		return nil, err
	}
	if bad != nil {
		if err := add(bad, func(c *Counts, v float64) { c.Bad += v }); err != nil {
			return nil, err
		}
	}
	if good != nil { // latency: bad = all - good
		if err := add(good, func(c *Counts, v float64) { c.Bad -= v }); err != nil {
			return nil, err
		}
		for svc, c := range out {
			c.Bad += c.All
			c.Bad = max(c.Bad, 0) // a bucket read a moment after its _count
			out[svc] = c
		}
	}
	if !s.perService {
		c := out[s.Service]
		return map[string]Counts{s.Service: c}, nil
	}
	return out, nil
}

// selectors returns the matchers of the bad, all and (for latency) good
// events' counters.
func (s *SLO) selectors() (bad, all, good []*labels.Matcher) {
	base := []*labels.Matcher{}
	if s.perService {
		base = append(base, labels.MustNewMatcher(labels.MatchNotRegexp, "service", OwnServices))
	} else {
		base = append(base, labels.MustNewMatcher(labels.MatchEqual, "service", s.Service))
		if len(s.Routes) > 0 {
			base = append(base, labels.MustNewMatcher(labels.MatchRegexp, "route", routesRegexp(s.Routes)))
		}
	}
	with := func(name string, more ...*labels.Matcher) []*labels.Matcher {
		ms := append(slices.Clone(base), labels.MustNewMatcher(labels.MatchEqual, store.MetricName, name))
		return append(ms, more...)
	}
	switch s.Indicator {
	case Availability:
		return with("http_requests_total", labels.MustNewMatcher(labels.MatchRegexp, "code", "5..")), with("http_requests_total"), nil
	case Latency:
		le := labels.MustNewMatcher(labels.MatchEqual, "le", formatFloat(time.Duration(s.Threshold).Seconds()))
		return nil, with("http_request_duration_seconds_count"), with("http_request_duration_seconds_bucket", le)
	default:
		le := labels.MustNewMatcher(labels.MatchEqual, "le", strconv.Itoa(minFPS))
		return with("frontend_fps_bucket", le), with("frontend_fps_count"), nil
	}
}

// lookback is how far before a span Count looks for each counter's value
// at its start.
const lookback = time.Hour

// Reader reads the counters an SLO counts: StoreReader the store's tiers,
// SampleReader raw samples from wherever queries read them.
type Reader interface {
	// increases sums, per service, the increases of the counters ms
	// selects in (from, to].
	increases(ms []*labels.Matcher, from, to time.Time) (map[string]float64, error)
}

// StoreReader reads db: raw samples within the raw retention, rollups
// beyond it.
func StoreReader(db *store.DB) Reader { return storeReader{db} }

type storeReader struct{ db *store.DB }

func (r storeReader) increases(ms []*labels.Matcher, from, to time.Time) (map[string]float64, error) {
	return increases(r.db, ms, from, to)
}

// RawSampler gives raw samples, such as a query.Engine over a query
// backend, which keeps raw samples for its whole retention.
type RawSampler interface {
	RawSamples(ctx context.Context, mint, maxt int64, ms ...*labels.Matcher) ([]store.Series, error)
}

// SampleReader reads src's raw samples over the whole span, within ctx.
func SampleReader(ctx context.Context, src RawSampler) Reader { return sampleReader{ctx, src} }

type sampleReader struct {
	ctx context.Context
	src RawSampler
}

func (r sampleReader) increases(ms []*labels.Matcher, from, to time.Time) (map[string]float64, error) {
	raw, err := r.src.RawSamples(r.ctx, from.Add(-lookback).UnixMilli(), to.UnixMilli(), ms...)
	if err != nil {
		return nil, err
	}
	return sumIncreases(raw, from), nil
}

// sumIncreases sums, per service, the increases of raw's counters after from.
func sumIncreases(raw []store.Series, from time.Time) map[string]float64 {
	out := map[string]float64{}
	for _, sr := range raw {
		out[sr.Labels.Get("service")] += increase(sr.Samples, from.UnixMilli())
	}
	return out
}

// increases sums, per service, the increases of the counters ms selects
// in (from, to]. Within the raw retention it reads raw samples. Beyond it,
// it reads the rollup tier up to an hour before to, whose points hold the
// counter's exact raw value at their last sample (Point.Last, and the
// reset-adjusted Point.Counter), and raw samples after each series' last
// point, from that value: so the rollup tier's last, unfinished minutes
// are never read, and the two parts meet at a sample.
func increases(db *store.DB, ms []*labels.Matcher, from, to time.Time) (map[string]float64, error) {
	seam := to.Add(-lookback).Truncate(time.Minute)
	if db.TierFor(store.Query{MinT: from.Add(-lookback).UnixMilli(), MaxT: to.UnixMilli()}) == store.TierRaw || !seam.After(from) {
		raw, err := db.SelectTier(store.Query{MinT: from.Add(-lookback).UnixMilli(), MaxT: to.UnixMilli(), Matchers: ms}, store.TierRaw)
		if err != nil {
			return nil, err
		}
		return sumIncreases(raw, from), nil
	}
	out := map[string]float64{}
	rolled, err := db.Select(store.Query{MinT: from.Add(-lookback).UnixMilli(), MaxT: seam.UnixMilli(), Matchers: ms, Resolution: time.Minute, Aggregate: store.AggregateCounter})
	if err != nil {
		return nil, err
	}
	last := map[string]store.Sample{} // each series' value at its last point
	for _, sr := range rolled {
		out[sr.Labels.Get("service")] += increase(counterSamples(sr), from.UnixMilli())
		if n := len(sr.Points); n > 0 {
			last[sr.Labels.String()] = store.Sample{T: sr.Points[n-1].T, V: sr.Points[n-1].Last}
		}
	}
	raw, err := db.SelectTier(store.Query{MinT: seam.Add(-lookback).UnixMilli(), MaxT: to.UnixMilli(), Matchers: ms}, store.TierRaw)
	if err != nil {
		return nil, err
	}
	for _, sr := range raw {
		after, samples := seam.UnixMilli(), sr.Samples
		if p, ok := last[sr.Labels.String()]; ok {
			after = p.T
			samples = append([]store.Sample{p}, samplesAfter(samples, p.T)...)
		}
		out[sr.Labels.Get("service")] += increase(samples, after)
	}
	return out, nil
}

// counterSamples returns a rollup read's reset-adjusted counter values, or
// its samples when the raw tier served it.
func counterSamples(sr store.Series) []store.Sample {
	if len(sr.Points) == 0 {
		return sr.Samples
	}
	out := make([]store.Sample, len(sr.Points))
	for i, p := range sr.Points {
		out[i] = store.Sample{T: p.T, V: p.Counter}
	}
	return out
}

// samplesAfter returns the samples later than t.
func samplesAfter(samples []store.Sample, t int64) []store.Sample {
	i, found := slices.BinarySearchFunc(samples, t, func(s store.Sample, t int64) int { return cmp.Compare(s.T, t) })
	if found {
		i++
	}
	return samples[i:]
}

// increase is a counter's growth over the samples after `after`, from the
// one before them (see Count). A staleness marker (NaN) is skipped: the
// counter's next value is compared with its last before it.
func increase(samples []store.Sample, after int64) float64 {
	inc, prev, have := 0.0, 0.0, false
	for _, smp := range samples {
		if math.IsNaN(smp.V) {
			continue
		}
		if have && smp.T > after {
			if d := smp.V - prev; d >= 0 {
				inc += d
			} else {
				inc += smp.V // a reset: the counter began again from zero
			}
		}
		prev, have = smp.V, true
	}
	return inc
}
