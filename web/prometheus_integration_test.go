package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
)

// prometheusBin is where Debian's prometheus package puts the server.
const prometheusBin = "/usr/bin/prometheus"

// TestWithRealPrometheus runs Debian's Prometheus against a live AtroZ:
// Prometheus scrapes AtroZ's /metrics with an ingest token and remote-writes
// what it scrapes into AtroZ's /api/v1/write. It checks that the scrape
// succeeds (up == 1), that Prometheus holds the counter values AtroZ
// exposes, and that Prometheus' samples land in AtroZ's store.
func TestWithRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	ls := startLive(t, slog.New(slog.DiscardHandler))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	events := `[{"service":"shop","route":"/cart","method":"GET","status":200,"duration_ms":40},{"service":"shop","route":"/cart","method":"GET","status":200,"duration_ms":60}]`
	if code := ls.post(t, c, "/api/v1/ingest/requests", events, "Authorization", "Bearer "+ls.token); code != http.StatusOK {
		t.Fatalf("ingest: %d", code)
	}
	prom := startPrometheus(t, strings.TrimPrefix(ls.url, "http://"), ls.token)

	// (a) Prometheus scrapes AtroZ, and sees the counter AtroZ exposes.
	extserver.Eventually(t, 30*time.Second, "Prometheus scrapes AtroZ with up == 1", func() bool {
		v, ok := promValue(c, prom, `up{job="atroz"}`)
		return ok && v == 1
	})
	extserver.Eventually(t, 30*time.Second, "Prometheus holds AtroZ's request counter", func() bool {
		v, ok := promValue(c, prom, `http_requests_total{job="atroz",service="shop",route="/cart"}`)
		return ok && v == 2
	})

	// (c) What Prometheus scrapes, it remote-writes into AtroZ's store.
	extserver.Eventually(t, 30*time.Second, "Prometheus' samples land in AtroZ", func() bool {
		got, err := ls.db.Select(store.Query{MinT: 0, MaxT: time.Now().UnixMilli() + 1000, Matchers: []*labels.Matcher{m("__name__", "up"), m("job", "atroz")}})
		return err == nil && len(got) == 1 && len(got[0].Samples) > 0 && got[0].Samples[len(got[0].Samples)-1].V == 1
	})
	extserver.Eventually(t, 30*time.Second, "AtroZ's query API answers for the remote-written counter", func() bool {
		got, err := ls.db.Select(store.Query{MinT: 0, MaxT: time.Now().UnixMilli() + 1000, Matchers: []*labels.Matcher{m("__name__", "http_requests_total"), m("job", "atroz"), m("route", "/cart")}})
		return err == nil && len(got) == 1 && got[0].Samples[len(got[0].Samples)-1].V == 2
	})
	if mt := metricsText(t, ls); !strings.Contains(mt, `ingest_rejected_total{endpoint="remote_write"} 0`) {
		t.Errorf("AtroZ refused some of Prometheus' remote writes:\n%s", mt)
	}
}

// startPrometheus runs Prometheus on a free loopback port, scraping
// target's /metrics every second with token and remote-writing to its
// /api/v1/write, and returns its base URL once it is ready.
func startPrometheus(t *testing.T, target, token string) string {
	t.Helper()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: atroz
    authorization: {credentials: %q}
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    authorization: {credentials: %q}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, token, target, target, token)
	return runPrometheus(t, cfg)
}

// runPrometheus runs Prometheus with the configuration cfg on a free
// loopback port, with the remote-write receiver on, and returns its base
// URL once it is ready.
func runPrometheus(t *testing.T, cfg string) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := extserver.FreeAddr(t)
	extserver.Start(t, prometheusBin, "prometheus", "http://"+addr+"/-/ready", "--config.file="+cfgFile,
		"--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.enable-remote-write-receiver")
	return "http://" + addr
}

// promValue returns the single value of an instant query to Prometheus.
func promValue(c *http.Client, base, q string) (float64, bool) {
	resp, err := c.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || len(body.Data.Result) != 1 {
		return 0, false
	}
	s, _ := body.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}
