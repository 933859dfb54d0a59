package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"atroz/internal/extserver"
)

func TestAlertmanagerReceiver(t *testing.T) {
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	base := extserver.Alertmanager(t)
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
	var got []extserver.AlertmanagerAlert
	extserver.Eventually(t, 10*time.Second, "firing alert listed", func() bool {
		got = extserver.AlertmanagerAlerts(t, client, base, n.Labels)
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
		return len(extserver.AlertmanagerAlerts(t, client, base, n.Labels)) == 0
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
	var got []extserver.AlertmanagerAlert
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
