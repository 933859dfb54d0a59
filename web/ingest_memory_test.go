package web

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// seriesMemoryBudget is the heap the labels and index entries of
// MAX_SERIES series may take at the store's default label limits, as the
// README's Security section states.
const seriesMemoryBudget = 2 << 30

// heapAlloc returns the bytes the heap holds after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// maxedLabels returns the labels of series i with the store's label limits
// reached: MaxLabels labels sharing MaxLabelBytes, every name and value
// distinct from every other series' so none is shared, the costliest shape
// for the index (a posting list per name and value).
func maxedLabels(o store.Options, i int) store.Labels {
	pad := func(prefix string, n int) string {
		return prefix + strings.Repeat("x", max(n-len(prefix), 0))
	}
	per := o.MaxLabelBytes / o.MaxLabels
	name := min(per/2, o.MaxLabelNameLength)
	value := min(per-name, o.MaxLabelValueLength)
	ls := store.Labels{{Name: store.MetricName, Value: pad(fmt.Sprintf("m%d_", i), per-len(store.MetricName))}}
	for j := 1; j < o.MaxLabels; j++ {
		ls = append(ls, store.Label{Name: pad(fmt.Sprintf("l%02d_%d_", j, i), name), Value: pad(fmt.Sprintf("v%d_", i), value)})
	}
	return ls
}

// TestSeriesMemoryAtLabelLimits measures the heap one series costs with
// its labels at the store's default limits, held as ingest holds it:
// appended (remote write's path) with one sample, flushed, and read by a
// query (which keeps its labels in Prometheus' form too). MAX_SERIES such
// series must fit the budget the README states:
// go test ./web -run TestSeriesMemoryAtLabelLimits -v
func TestSeriesMemoryAtLabelLimits(t *testing.T) {
	const n = 300
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	db, err := store.Open(filepath.Join(t.TempDir(), "m.db"), &store.Options{FlushInterval: -1, PruneInterval: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := db.Options()
	before := heapAlloc()
	for i := range n {
		samples := []store.Sample{{T: now.UnixMilli(), V: float64(i)}}
		if err := db.AppendAll([]store.SeriesSamples{{Labels: maxedLabels(o, i), Samples: samples}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
	r := db.Reader()
	if got, err := r.Select(now.UnixMilli()-1, now.UnixMilli(), labels.MustNewMatcher(labels.MatchRegexp, store.MetricName, ".+")); err != nil || len(got) != n {
		t.Fatalf("select: %d series, %v", len(got), err)
	}
	_ = r.Close()
	perSeries := (heapAlloc() - before) / n
	total := perSeries * uint64(o.MaxSeries)
	t.Logf("%d B per series at the label limits; MAX_SERIES (%d) such series: %.2f GiB", perSeries, o.MaxSeries, float64(total)/(1<<30))
	if total > seriesMemoryBudget {
		t.Fatalf("MAX_SERIES series at the label limits take %d B, past the budget of %d", total, seriesMemoryBudget)
	}
	runtime.KeepAlive(db)
}
