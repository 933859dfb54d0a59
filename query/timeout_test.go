package query

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/promql"
)

// TestTimeoutBoundsCPU: a query of about 8 s of work (one series of
// 500,000 samples, a median over an hour's window at each of 8,334
// steps) given a 200 ms timeout returns a timeout error having used at
// most three times the timeout in CPU; before the read path checked its
// context it ran to the end, and with a day's window used 84 s of CPU. A timeout of 5 s once ran about 12 s of CPU: the engine
// checks its context between series and steps, and one series' range
// function over a long window reads its samples without looking, so the
// read path checks it as it decodes.
func TestTimeoutBoundsCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 500,000 samples")
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	const samples = 500_000
	db, err := store.Open(filepath.Join(t.TempDir(), "t.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: func() time.Time { return end }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ls := store.Labels{{Name: "__name__", Value: "busy"}}
	start := end.Add(-samples * time.Second)
	for i := range samples {
		if err := db.Append(ls, start.Add(time.Duration(i)*time.Second).UnixMilli(), float64(i%1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	e := New(db, &Options{CacheBytes: -1, Now: func() time.Time { return end }})
	const timeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cpu0, ok := processCPU()
	_, _, err = e.Range(ctx, `quantile_over_time(0.5, busy[1h])`, start, end, time.Minute)
	cpu1, ok1 := processCPU()
	var timedOut promql.ErrQueryTimeout
	if !errors.As(err, &timedOut) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a timeout", err)
	}
	if !ok || !ok1 {
		t.Skip("process CPU time is not known here")
	}
	used := time.Duration(cpu1 - cpu0)
	t.Logf("%s of CPU for a %s timeout", used, timeout)
	if used > 3*timeout {
		t.Fatalf("the query used %s of CPU past its %s timeout, want at most %s", used, timeout, 3*timeout)
	}
}
