package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"atroz/internal/tmpfs"
	"atroz/store"

	"github.com/prometheus/prometheus/prompb"
)

// fullServer is an ingest server whose store's data volume, a small tmpfs,
// is full: a flush has failed with ENOSPC. Removing the returned ballast
// frees it. The test is skipped where mounting is not permitted.
func fullServer(t *testing.T, cfg Config) (*ingestServer, string) {
	t.Helper()
	dir := tmpfs.Mount(t, 4<<20)
	is := newIngestServerIn(t, dir, cfg)
	if err := is.db.Append(store.Labels{{Name: store.MetricName, Value: "stored_before"}}, ingestNow.UnixMilli(), 42); err != nil {
		t.Fatal(err)
	}
	if err := is.db.Flush(); err != nil {
		t.Fatal(err)
	}
	ballast := filepath.Join(dir, "ballast")
	if err := os.WriteFile(ballast, make([]byte, 4<<20), 0o600); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("fill the volume: %v, want ENOSPC", err)
	}
	for i := range 2000 { // accepted into memory; their flush cannot fit
		ls := store.Labels{{Name: store.MetricName, Value: "pending"}, {Name: "instance", Value: "host-" + strconv.Itoa(i) + ".example.com:9100"}}
		if err := is.db.Append(ls, ingestNow.UnixMilli(), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := is.db.Flush(); !errors.Is(err, store.ErrDiskFull) {
		t.Fatalf("flush on the full volume = %v, want ErrDiskFull", err)
	}
	return is, ballast
}

// TestIngestWhileDiskFull: with the data volume full every ingest endpoint
// answers 507 and changes nothing, reads and /health answer 200, and once
// space returns ingestion works again.
func TestIngestWhileDiskFull(t *testing.T) {
	is, ballast := fullServer(t, Config{AllowedOrigins: []string{"https://shop.example"}, MetricsOnMain: true})
	auth := []string{"Authorization", "Bearer " + is.token}
	before := is.db.Stats()
	importText := "jobs_done_total 3\n"
	f := func(path, body string, header ...string) {
		t.Helper()
		w := is.do("POST", path, body, header...)
		want := `{"status":"error","errorType":"disk_full","error":"` + errStorageFull.Error() + `"}`
		if w.Code != http.StatusInsufficientStorage || w.Body.String() != want {
			t.Errorf("POST %s while full: %d %s\nwant 507 %s", path, w.Code, w.Body, want)
		}
	}
	f("/api/v1/beacons", `{"service":"shop","page":"/a","fps":[60]}`, "Origin", "https://shop.example")
	f("/api/v1/ingest/requests", `[{"service":"billing","route":"/x","method":"GET","status":200,"duration_ms":3}]`, auth...)
	f("/api/v1/import/prometheus", importText, auth...)
	f("/api/v1/write", writeBody(t, rwSeries("queue_depth", "nightly", prompb.Sample{Timestamp: ingestNow.UnixMilli(), Value: 7})), append(auth, rwHeaders...)...)

	if after := is.db.Stats(); after.Appended != before.Appended || after.Series != before.Series {
		t.Errorf("refused payloads changed the store: appended %d → %d, series %d → %d", before.Appended, after.Appended, before.Series, after.Series)
	}
	m := is.metrics(t)
	for _, absent := range []string{"frontend_beacons_total{", `http_requests_total{service="billing"`} {
		if strings.Contains(m, absent) {
			t.Errorf("a refused payload was recorded: %s", absent)
		}
	}
	for _, line := range []string{"store_disk_full 1", `ingest_unavailable_total{endpoint="beacons",reason="disk_full"} 1`, `ingest_unavailable_total{endpoint="remote_write",reason="disk_full"} 1`, `ingest_rejected_total{endpoint="import"} 0`} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if err := is.col.Scrape(); !errors.Is(err, store.ErrDiskFull) {
		t.Errorf("self-scrape while full = %v, want ErrDiskFull", err)
	}

	q := url.Values{"query": {"stored_before"}, "time": {ingestNow.Format("2006-01-02T15:04:05Z")}}
	if w := is.do("GET", "/api/v1/query?"+q.Encode(), ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"42"`) {
		t.Errorf("query while full: %d %s", w.Code, w.Body)
	}
	wantHealth(t, is, "degraded", "data volume full since")

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	if err := is.db.Flush(); err != nil {
		t.Fatalf("flush once space is back: %v", err)
	}
	wantHealth(t, is, "ok", "")
	if w := is.do("POST", "/api/v1/import/prometheus", importText, auth...); w.Code != 200 {
		t.Errorf("import after recovery: %d %s", w.Code, w.Body)
	}
}

func wantHealth(t *testing.T, is *ingestServer, status, reason string) {
	t.Helper()
	w := is.do("GET", "/health", "")
	var body healthBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("health: %d %s: %v", w.Code, w.Body, err)
	}
	if w.Code != 200 || body.Status != status || !strings.HasPrefix(body.Reason, reason) || (reason == "") != (body.Reason == "") || body.Store.DiskFull != (status == "degraded") {
		t.Errorf("health = %d %s; want 200, status %s, reason %q…", w.Code, w.Body, status, reason)
	}
	w = is.do("GET", "/health", "", "Authorization", "") // anonymous: the status and its reason alone
	var anon map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &anon); err != nil || w.Code != 200 || anon["status"] != status || anon["reason"] != body.Reason || len(anon) != map[bool]int{true: 1, false: 2}[reason == ""] {
		t.Errorf("anonymous health = %d %s; want 200, status %s, reason %q and nothing else", w.Code, w.Body, status, body.Reason)
	}
}
