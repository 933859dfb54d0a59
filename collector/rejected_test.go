package collector

import (
	"errors"
	"fmt"
	"testing"

	"atroz/store"
)

func TestCountRejectedAndUnavailable(t *testing.T) {
	c, _ := newTest(t, nil)
	full := fmt.Errorf("data volume full: flush to /data/atroz.db failed: %w", store.ErrDiskFull)
	c.CountRejected(EndpointImport)
	c.CountRejected("nowhere")
	c.CountUnavailable(EndpointBeacons, full)
	c.CountUnavailable(EndpointBeacons, full)
	c.CountUnavailable(EndpointRemoteWrite, store.ErrClosed)
	c.CountUnavailable(EndpointImport, errors.New("parse error"))
	c.CountUnavailable("nowhere", full)
	wantLines(t, c,
		`ingest_rejected_total{endpoint="import"} 1`,
		`ingest_rejected_total{endpoint="beacons"} 0`,
		`ingest_unavailable_total{endpoint="beacons",reason="disk_full"} 2`,
		`ingest_unavailable_total{endpoint="remote_write",reason="closed"} 1`,
		`ingest_unavailable_total{endpoint="import",reason="disk_full"} 0`,
		`ingest_unavailable_total{endpoint="requests",reason="disk_full"} 0`,
	)
}
