package collector

import "github.com/VictoriaMetrics/metrics"

// The ingest endpoints, the values of ingest_rejected_total's endpoint label
// (and, for imports, of data_last_sample_timestamp_seconds' source).
const (
	EndpointBeacons  = "beacons"
	EndpointRequests = "requests"
	EndpointImport   = "import"
	// EndpointRemoteWrite is Prometheus remote write into POST /api/v1/write.
	EndpointRemoteWrite = "remote_write"
)

func newRejected(set *metrics.Set) map[string]*metrics.Counter {
	m := map[string]*metrics.Counter{}
	for _, e := range []string{EndpointBeacons, EndpointRequests, EndpointImport, EndpointRemoteWrite} {
		m[e] = set.NewCounter(name("ingest_rejected_total", "endpoint", e))
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
