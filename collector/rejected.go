package collector

import (
	"errors"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
)

// The ingest endpoints, the values of ingest_rejected_total's endpoint label
// (and, for imports, of data_last_sample_timestamp_seconds' source).
const (
	EndpointBeacons  = "beacons"
	EndpointRequests = "requests"
	EndpointImport   = "import"
	// EndpointRemoteWrite is Prometheus remote write into POST /api/v1/write.
	EndpointRemoteWrite = "remote_write"
	// EndpointOTLP is OTLP/HTTP metrics into POST /api/v1/otlp/v1/metrics.
	EndpointOTLP = "otlp"
)

// endpoints lists the ingest endpoints, for registering their counters.
var endpoints = []string{EndpointBeacons, EndpointRequests, EndpointImport, EndpointRemoteWrite, EndpointOTLP}

func newRejected(set *metrics.Set) map[string]*metrics.Counter {
	m := map[string]*metrics.Counter{}
	for _, e := range endpoints {
		m[e] = set.NewCounter(name("ingest_rejected_total", "endpoint", e))
	}
	return m
}

// unavailableReasons name the store errors CountUnavailable counts, the
// values of ingest_unavailable_total's reason label.
var unavailableReasons = []struct {
	err    error
	reason string
}{
	{store.ErrDiskFull, "disk_full"},
	{store.ErrClosed, "closed"},
}

// newUnavailable registers ingest_unavailable_total for every endpoint and
// reason, keyed endpoint then reason.
func newUnavailable(set *metrics.Set) map[[2]string]*metrics.Counter {
	m := map[[2]string]*metrics.Counter{}
	for _, e := range endpoints {
		for _, r := range unavailableReasons {
			m[[2]string{e, r.reason}] = set.NewCounter(name("ingest_unavailable_total", "endpoint", e, "reason", r.reason))
		}
	}
	return m
}

// CountRejected counts a payload refused as bad input at one of the ingest
// endpoints; other names are ignored.
func (c *Collector) CountRejected(endpoint string) {
	if ctr, ok := c.rejected[endpoint]; ok {
		ctr.Inc()
	}
}

// CountUnavailable counts a payload refused at an ingest endpoint because
// the store could not take it: err wraps store.ErrDiskFull or
// store.ErrClosed. Other endpoints and errors are ignored.
func (c *Collector) CountUnavailable(endpoint string, err error) {
	for _, r := range unavailableReasons {
		if errors.Is(err, r.err) {
			if ctr, ok := c.unavailable[[2]string{endpoint, r.reason}]; ok {
				ctr.Inc()
			}
			return
		}
	}
}
