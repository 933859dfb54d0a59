package extserver

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// alertmanagerBin is where Debian's prometheus-alertmanager package puts it.
const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// alertmanagerConfig routes every alert to a receiver that notifies nobody.
const alertmanagerConfig = `route:
  receiver: "null"
receivers:
  - name: "null"
`

// AlertmanagerAlert is the part of Alertmanager's models.GettableAlert
// (and of the postable alert AtroZ sends) that tests check.
type AlertmanagerAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// Alertmanager runs Debian's Alertmanager on a free loopback port, without
// clustering, and returns its base URL once it is ready (see Start).
func Alertmanager(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := FreeAddr(t)
	Start(t, alertmanagerBin, "prometheus-alertmanager", "http://"+addr+"/-/ready", "--web.listen-address="+addr,
		"--cluster.listen-address=", "--storage.path="+filepath.Join(dir, "data"), "--config.file="+cfg)
	return "http://" + addr
}

// AlertmanagerAlerts lists the alerts the Alertmanager at base returns by
// default (active, silenced, inhibited and unprocessed; resolved ones are
// never listed) whose labels are labels.
func AlertmanagerAlerts(t *testing.T, client *http.Client, base string, labels map[string]string) []AlertmanagerAlert {
	t.Helper()
	resp, err := client.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var all, matching []AlertmanagerAlert
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		t.Fatal(err)
	}
	for _, a := range all {
		if maps.Equal(a.Labels, labels) {
			matching = append(matching, a)
		}
	}
	return matching
}
