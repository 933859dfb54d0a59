package query

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestExperimentalFunctions: Prometheus 3's experimental functions are
// refused unless enabled, as Prometheus refuses them without
// --enable-feature=promql-experimental-functions.
func TestExperimentalFunctions(t *testing.T) {
	l := loadBoth(t)
	q := `double_exponential_smoothing(temperature_celsius[30m], 0.5, 0.5)`
	_, _, err := New(l.db, &Options{CacheBytes: -1}).Instant(context.Background(), q, dataEnd)
	if !errors.Is(err, ErrBadQuery) || !strings.Contains(err.Error(), "is not enabled") {
		t.Fatalf("by default: %v, want a bad query saying the function is not enabled", err)
	}
	v, _, err := New(l.db, &Options{CacheBytes: -1, ExperimentalFunctions: true}).Instant(context.Background(), q, dataEnd)
	if err != nil || v.String() == "" {
		t.Fatalf("enabled: %v, %v", v, err)
	}
	if _, _, err := New(l.db, &Options{CacheBytes: -1}).Range(context.Background(), q, dataEnd.Add(-time.Hour), dataEnd, time.Minute); !errors.Is(err, ErrBadQuery) {
		t.Fatalf("range by default: %v, want a bad query", err)
	}
}
