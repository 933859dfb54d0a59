package web

import (
	"errors"
	"math"
	"time"

	"github.com/prometheus/prometheus/util/annotations"

	"github.com/gin-gonic/gin"
)

// errTruncated is the warning of a lookup cut short by its limit, in
// Prometheus' words.
var errTruncated = errors.New("results truncated due to limit")

// lookup is the time range and limit of a series or label lookup.
type lookup struct {
	// ranged is set when start or end was given; without either a lookup
	// reads the index alone, which keeps a series until all its data expired.
	ranged     bool
	mint, maxt int64
	// limit bounds the answer; 0 means no limit.
	limit int
}

// lookupParams reads start, end and limit as Prometheus' /api/v1/series,
// /labels and /label/:name/values do: either time may be left out, the
// range is inclusive, and a bad value is a 400 naming its parameter.
func lookupParams(c *gin.Context) (lookup, error) {
	var lk lookup
	start, err := timeParam(c, "start", time.Time{})
	if err != nil {
		return lk, err
	}
	end, err := timeParam(c, "end", time.Time{})
	if err != nil {
		return lk, err
	}
	if lk.limit, err = limitParam(c, 0); err != nil {
		return lk, err
	}
	lk.ranged = !start.IsZero() || !end.IsZero()
	lk.mint, lk.maxt = math.MinInt64, math.MaxInt64
	if !start.IsZero() {
		lk.mint = start.UnixMilli()
	}
	if !end.IsZero() {
		lk.maxt = end.UnixMilli()
	}
	if lk.maxt < lk.mint {
		return lk, errors.New("invalid parameter \"end\": end timestamp must not be before start time")
	}
	return lk, nil
}

// truncated cuts list to limit (0: no limit), with Prometheus' warning
// when it had more.
func truncated[T any](list []T, limit int) ([]T, annotations.Annotations) {
	if limit <= 0 || len(list) <= limit {
		return list, nil
	}
	return list[:limit], annotations.New().Add(errTruncated)
}
