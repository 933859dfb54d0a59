package extserver

import (
	"os"
	"path/filepath"
	"testing"
)

// PrometheusReceiver runs Debian's Prometheus with no scrape targets and
// its remote-write receiver on, and returns its URL: a remote-write
// destination and a query API, as a cluster would be.
func PrometheusReceiver(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte("global: {scrape_interval: 1m}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	Start(t, "/usr/bin/prometheus", "prometheus", "http://"+addr+"/-/ready", "--config.file="+cfgFile,
		"--web.listen-address="+addr, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.enable-remote-write-receiver")
	return "http://" + addr
}
