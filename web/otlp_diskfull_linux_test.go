package web

import (
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// TestOTLPWhileDiskFull: with the data volume full the OTLP route answers
// 507 with a google.rpc.Status of code 14 (UNAVAILABLE), which OTLP
// exporters retry, in the request's encoding; nothing is stored, and it
// is counted as unavailable, not as bad input.
func TestOTLPWhileDiskFull(t *testing.T) {
	is, _ := fullServer(t, Config{MetricsOnMain: true})
	md := otlpRequest("billing", func(ms pmetric.MetricSlice) { otlpGauge(ms, "queue.depth", ingestNow, 7) })
	asJSON, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	before := is.db.Stats()
	for ctype, body := range map[string][]byte{"application/x-protobuf": otlpProto(t, md), "application/json": asJSON} {
		w := is.otlp(body, "Content-Type", ctype)
		st, err := rpcStatus(w.Header().Get("Content-Type"), w.Body.Bytes())
		if w.Code != 507 || err != nil || st.Code != 14 || st.Message != errStorageFull.Error() {
			t.Errorf("%s while full: %d %s %q (%v), want 507 with a Status of code 14: %s", ctype, w.Code, w.Header().Get("Content-Type"), w.Body, err, errStorageFull)
		}
	}
	if after := is.db.Stats(); after.Appended != before.Appended || after.Series != before.Series {
		t.Errorf("refused exports changed the store: appended %d → %d, series %d → %d", before.Appended, after.Appended, before.Series, after.Series)
	}
	m := is.metrics(t)
	for _, line := range []string{`ingest_unavailable_total{endpoint="otlp",reason="disk_full"} 2`, `ingest_rejected_total{endpoint="otlp"} 0`} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %s:\n%s", line, grepLines(m, "otlp"))
		}
	}
}
