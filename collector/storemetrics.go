package collector

import (
	"io"
	"sort"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
)

// registerStoreMetrics writes the store's figures, read from db.Stats at
// each write, so they are never stale and cost nothing between scrapes.
func registerStoreMetrics(set *metrics.Set, db *store.DB) {
	set.RegisterMetricsWriter(func(w io.Writer) {
		st := db.Stats()
		metrics.WriteGaugeUint64(w, "store_file_bytes", uint64(max(st.FileBytes, 0)))
		metrics.WriteGaugeUint64(w, "store_wal_bytes", uint64(max(st.WALBytes, 0)))
		metrics.WriteGaugeUint64(w, "store_series", uint64(max(st.Series, 0)))
		metrics.WriteGaugeUint64(w, "store_head_samples", uint64(max(st.HeadSamples, 0)))
		metrics.WriteCounterUint64(w, "store_samples_appended_total", st.Appended)
		metrics.WriteGaugeFloat64(w, "store_flush_duration_seconds", st.LastFlushDuration.Seconds())
		metrics.WriteCounterUint64(w, "store_flushes_total", st.Flushes)
		metrics.WriteCounterUint64(w, "store_flush_errors_total", st.FlushErrors)
		metrics.WriteGaugeUint64(w, "store_disk_full", boolGauge(st.DiskFull))
		reasons := make([]string, 0, len(st.Refused))
		for r := range st.Refused {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		for _, r := range reasons {
			metrics.WriteCounterUint64(w, name("store_samples_refused_total", "reason", r), st.Refused[r])
		}
	})
}

// boolGauge is a gauge's value for b: 1 or 0.
func boolGauge(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
