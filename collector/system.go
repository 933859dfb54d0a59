package collector

import (
	"github.com/VictoriaMetrics/metrics"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"
)

// systemMetrics are the host gauges, set by sample once per scrape.
type systemMetrics struct {
	dataDir  string
	cpu      *metrics.Gauge
	memory   *metrics.Gauge
	diskFree *metrics.Gauge
}

func newSystemMetrics(set *metrics.Set, dataDir string) *systemMetrics {
	s := &systemMetrics{
		dataDir:  dataDir,
		cpu:      set.NewGauge("system_cpu_usage_ratio", nil),
		memory:   set.NewGauge("system_memory_usage_ratio", nil),
		diskFree: set.NewGauge("system_data_disk_free_bytes", nil),
	}
	// The first CPU reading only sets the baseline the next one is measured from.
	_, _ = cpu.Percent(0, false)
	return s
}

// sample reads the host. A reading that fails leaves its gauge as it was:
// the previous value is a better guess than zero.
func (s *systemMetrics) sample() {
	if pct, err := cpu.Percent(0, false); err == nil && len(pct) == 1 {
		s.cpu.Set(pct[0] / 100)
	}
	if vm, err := mem.VirtualMemory(); err == nil {
		s.memory.Set(vm.UsedPercent / 100)
	}
	if du, err := disk.Usage(s.dataDir); err == nil {
		s.diskFree.Set(float64(du.Free))
	}
}
