package web

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"atroz/collector"
	"atroz/store"

	"github.com/gin-gonic/gin"
)

// TestStoreRefused maps the store's refusals to the server's fault: 507
// with a message for the sender, in production too, or 503; anything else
// is left to the caller.
func TestStoreRefused(t *testing.T) {
	is := newIngestServer(t, Config{MetricsOnMain: true})
	f := func(production bool, err error, wantCode int, wantBody string) {
		t.Helper()
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Set(ctxProduction, production)
		refused := is.s.storeRefused(c, collector.EndpointImport, err)
		if refused != (wantCode != 0) || refused && (w.Code != wantCode || w.Body.String() != wantBody) {
			t.Errorf("storeRefused(%v) = %v, %d %s; want %d %s", err, refused, w.Code, w.Body, wantCode, wantBody)
		}
	}
	full := fmt.Errorf("import: %w: flush to /data/atroz.db failed: no space left on device", store.ErrDiskFull)
	want507 := `{"status":"error","errorType":"disk_full","error":"` + errStorageFull.Error() + `"}`
	f(false, full, 507, want507)
	f(true, full, 507, want507)
	f(false, store.ErrClosed, 503, `{"status":"error","errorType":"unavailable","error":"store closed"}`)
	f(false, errors.New("parse: unexpected end of input"), 0, "")
	f(false, nil, 0, "")
	m := is.metrics(t)
	for _, line := range []string{
		`ingest_unavailable_total{endpoint="import",reason="disk_full"} 2`,
		`ingest_unavailable_total{endpoint="import",reason="closed"} 1`,
		`ingest_rejected_total{endpoint="import"} 0`,
	} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
}
