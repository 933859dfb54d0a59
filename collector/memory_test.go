package collector

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// heapAlloc returns the bytes the heap holds after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestRequestSeriesMemory measures what one series of request events
// costs with service and route at MaxLabelBytes, every label set distinct:
// the collector's metric objects and caps, and the store's series once
// scraped. With an open chunk of at most 8 KiB beside it, it stays under
// the per-series share of the memory budget the README states (3 GiB for
// the default MAX_SERIES, 100,000).
func TestRequestSeriesMemory(t *testing.T) {
	c, db := newLimited(t, 0)
	mustScrape(t, c)
	own := db.Stats().Series
	pad := func(prefix string) string { return prefix + strings.Repeat("x", MaxLabelBytes-len(prefix)) }
	before := heapAlloc()
	for s := range 20 {
		var batch []RequestEvent
		for r := range 10 {
			for _, code := range []int{200, 201, 404, 500, 503} {
				batch = append(batch, RequestEvent{Service: pad(fmt.Sprintf("s%d_", s)), Route: pad(fmt.Sprintf("/r%d_", r)), Method: "GET", Status: code, DurationMs: 3, Timestamp: testNow.UnixMilli()})
			}
		}
		if err := c.RecordRequests(batch); err != nil {
			t.Fatal(err)
		}
	}
	mustScrape(t, c)
	series := db.Stats().Series - own
	perSeries := (heapAlloc() - before) / uint64(series)
	const budget = 3 << 30 / 100_000
	t.Logf("%d B per request series at the label limits (%d series), in the collector and the store", perSeries, series)
	if perSeries+8<<10 > budget {
		t.Fatalf("%d B per series, with an 8 KiB open chunk past the %d B share of the budget", perSeries, budget)
	}
}
