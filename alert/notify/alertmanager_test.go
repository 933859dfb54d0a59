package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"atroz/internal/extserver"
)

// alertmanagerBin is where Debian's prometheus-alertmanager package puts it.
const alertmanagerBin = "/usr/bin/prometheus-alertmanager"

// alertmanagerConfig routes every alert to a receiver that notifies nobody.
const alertmanagerConfig = `route:
  receiver: "null"
receivers:
  - name: "null"
`

// amGettableAlert is the part of Alertmanager's models.GettableAlert the
// test checks.
type amGettableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
		State string `json:"state"`
	} `json:"status"`
}

// startAlertmanager runs Debian's Alertmanager on a free loopback port,
// without clustering, and returns its base URL once it is ready.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte(alertmanagerConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := extserver.FreeAddr(t)
	extserver.Start(t, alertmanagerBin, "prometheus-alertmanager", "http://"+addr+"/-/ready", "--web.listen-address="+addr,
		"--cluster.listen-address=", "--storage.path="+filepath.Join(dir, "data"), "--config.file="+cfg)
	return "http://" + addr
}

// amAlerts lists the alerts Alertmanager's API returns by default (active,
// silenced, inhibited and unprocessed; resolved ones are never listed)
// whose labels are labels.
func amAlerts(t *testing.T, client *http.Client, base string, labels map[string]string) []amGettableAlert {
	t.Helper()
	resp, err := client.Get(base + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var all, matching []amGettableAlert
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

func TestAlertmanagerReceiver(t *testing.T) {
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	base := startAlertmanager(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	r, err := NewAlertmanagerReceiver(AlertmanagerConfig{URL: base + "/", Now: func() time.Time { return now }}, client)
	if err != nil {
		t.Fatal(err)
	}
	n := notifyFiring()
	n.StartsAt = now.Add(-time.Minute)
	n.Labels["instance"] = fmt.Sprintf("test-%d", now.UnixNano())
	if err := r.Send(context.Background(), []*Notification{n}); err != nil {
		t.Fatal(err)
	}
	var got []amGettableAlert
	extserver.Eventually(t, 10*time.Second, "firing alert listed", func() bool {
		got = amAlerts(t, client, base, n.Labels)
		return len(got) == 1
	})
	a := got[0]
	if a.Status.State != "active" || !a.StartsAt.Equal(n.StartsAt) || !a.EndsAt.Equal(now.Add(4*time.Minute)) ||
		!maps.Equal(a.Annotations, n.Annotations) || a.GeneratorURL != n.GeneratorURL {
		t.Errorf("alertmanager lists %+v", a)
	}

	resolved := notifyResolved(n)
	resolved.EndsAt = now
	if err := r.Send(context.Background(), []*Notification{resolved}); err != nil {
		t.Fatal(err)
	}
	// Alertmanager drops a resolved alert from its API's list at once.
	extserver.Eventually(t, 10*time.Second, "resolved alert gone", func() bool {
		return len(amAlerts(t, client, base, n.Labels)) == 0
	})
}

func TestAlertmanagerPostable(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	now := time.Date(2026, 3, 14, 16, 0, 0, 0, time.UTC)
	r, err := NewAlertmanagerReceiver(AlertmanagerConfig{URL: srv.URL, ResendInterval: 2 * time.Minute, Now: func() time.Time { return now }}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	n := notifyFiring()
	unknownEnd := notifyResolved(n)
	unknownEnd.EndsAt = time.Time{}
	if err := r.Send(context.Background(), []*Notification{n, notifyResolved(n), unknownEnd}); err != nil {
		t.Fatal(err)
	}
	req := receiveRequest(t, reqs)
	var got []amGettableAlert
	if err := json.Unmarshal(req.Body, &got); err != nil {
		t.Fatal(err)
	}
	if req.Path != "/api/v2/alerts" || len(got) != 3 {
		t.Fatalf("%s: %s", req.Path, req.Body)
	}
	for i, want := range []time.Time{now.Add(8 * time.Minute), n.StartsAt.Add(5 * time.Minute), now} {
		if !got[i].EndsAt.Equal(want) || !got[i].StartsAt.Equal(n.StartsAt) || got[i].Labels["alertname"] != "HighLatency" {
			t.Errorf("alert %d: %+v, want endsAt %v", i, got[i], want)
		}
	}
}
