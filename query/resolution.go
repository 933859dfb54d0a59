package query

import (
	"fmt"
	"time"

	"atroz/store"

	"github.com/prometheus/common/model"
)

// Resolution is the coarsest source data a query may read. Every query
// reads raw samples unless its request asks for rollups with Thanos'
// max_source_resolution parameter, which Grafana's Prometheus data source
// sends as a custom query parameter.
type Resolution uint8

// The resolutions a request may ask for.
const (
	// ResolutionRaw reads raw samples only, except for time older than the
	// raw retention, which only the rollup tiers still cover.
	ResolutionRaw Resolution = iota
	// ResolutionMinute lets functions that rollups serve read the 1-minute tier.
	ResolutionMinute
	// ResolutionHour lets them read the 1-hour tier (plain selectors: the 1-minute tier).
	ResolutionHour
	// ResolutionAuto picks per range query the coarsest tier whose
	// resolution is at most a fifth of the step (Thanos' rule); instant
	// queries read raw samples.
	ResolutionAuto
)

// String returns the parameter value that asks for r.
func (r Resolution) String() string {
	switch r {
	case ResolutionMinute:
		return "1m"
	case ResolutionHour:
		return "1h"
	case ResolutionAuto:
		return "auto"
	}
	return "raw"
}

// ParseResolution reads a max_source_resolution value: "raw" (or empty,
// "0", "0s"), "auto", or a duration such as "1m", "5m" or "1h", which
// allows the coarsest tier no coarser than it, as Thanos does.
func ParseResolution(s string) (Resolution, error) {
	switch s {
	case "", "raw", "0", "0s":
		return ResolutionRaw, nil
	case "auto":
		return ResolutionAuto, nil
	}
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%w: max_source_resolution must be raw, auto or a duration such as 1m or 1h, got %q", ErrBadQuery, s)
	}
	switch {
	case time.Duration(d) >= time.Hour:
		return ResolutionHour, nil
	case time.Duration(d) >= time.Minute:
		return ResolutionMinute, nil
	}
	return ResolutionRaw, nil
}

// maxTier is the coarsest tier r allows for a select evaluated every
// step milliseconds (0 for an instant query).
func (r Resolution) maxTier(step int64) store.Tier {
	switch r {
	case ResolutionMinute:
		return store.TierMinute
	case ResolutionHour:
		return store.TierHour
	case ResolutionAuto:
		switch {
		case step >= 5*hourMs:
			return store.TierHour
		case step >= 5*minuteMs:
			return store.TierMinute
		}
	}
	return store.TierRaw
}

// tierName is how warnings and the dashboard name a tier.
func tierName(t store.Tier) string {
	switch t {
	case store.TierMinute:
		return "1-minute"
	case store.TierHour:
		return "1-hour"
	}
	return "raw"
}
