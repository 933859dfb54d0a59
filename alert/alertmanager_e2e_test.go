package alert

import (
	"net/http"
	"testing"
	"time"

	"atroz/alert/notify"
	"atroz/internal/extserver"
)

// TestAlertToAlertmanager runs a rule over data in the store and delivers to
// a real Alertmanager: the alert AtroZ fires appears among Alertmanager's
// active alerts, and goes when AtroZ resolves it.
func TestAlertToAlertmanager(t *testing.T) {
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	base := extserver.Alertmanager(t)
	am, err := notify.NewAlertmanagerReceiver(notify.AlertmanagerConfig{Name: "alertmanager", URL: base}, client)
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, "", "testdata/rules.yml", am)
	want := map[string]string{"alertname": "QueueTooLong", "queue": "mail", "severity": "critical"}
	r.run(t0.Add(-time.Minute), t0.Add(2*time.Minute), func(ts time.Time) { queue(r, ts) })
	extserver.Eventually(t, 10*time.Second, "AtroZ's firing alert listed by Alertmanager", func() bool {
		got := extserver.AlertmanagerAlerts(t, client, base, want)
		return len(got) == 1 && got[0].Status.State == "active" && got[0].StartsAt.Equal(t0.Add(time.Minute))
	})
	r.run(t0.Add(2*time.Minute+15*time.Second), t0.Add(10*time.Minute), func(ts time.Time) { queue(r, ts) })
	extserver.Eventually(t, 10*time.Second, "AtroZ's resolved alert gone from Alertmanager", func() bool {
		return len(extserver.AlertmanagerAlerts(t, client, base, want)) == 0
	})
}
