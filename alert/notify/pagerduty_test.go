package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// pagerDutyTestEvent mirrors an Events API v2 event.
type pagerDutyTestEvent struct {
	RoutingKey  string `json:"routing_key"`
	EventAction string `json:"event_action"`
	DedupKey    string `json:"dedup_key"`
	Client      string `json:"client"`
	ClientURL   string `json:"client_url"`
	Payload     struct {
		Summary       string `json:"summary"`
		Source        string `json:"source"`
		Severity      string `json:"severity"`
		Timestamp     string `json:"timestamp"`
		Component     string `json:"component"`
		Class         string `json:"class"`
		CustomDetails struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			Value       any               `json:"value"`
		} `json:"custom_details"`
	} `json:"payload"`
}

func TestPagerDutyEvents(t *testing.T) {
	srv, reqs := newCaptureServer(t, func(int) int { return 202 })
	r, err := NewPagerDutyReceiver(PagerDutyConfig{RoutingKey: "R0UT1NG", URL: srv.URL + "/v2/enqueue"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	f := func(n *Notification, wantAction, wantSeverity string, wantValue any) {
		t.Helper()
		if err := r.Send(context.Background(), []*Notification{n}); err != nil {
			t.Fatal(err)
		}
		req := receiveRequest(t, reqs)
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.DisallowUnknownFields()
		var e pagerDutyTestEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		p := e.Payload
		if req.Path != "/v2/enqueue" || e.RoutingKey != "R0UT1NG" || e.EventAction != wantAction || e.DedupKey != "0123456789abcdef" ||
			e.Client != "AtroZ" || e.ClientURL != n.GeneratorURL {
			t.Errorf("event %+v", e)
		}
		if !strings.HasSuffix(p.Summary, n.Annotations["summary"]) || p.Source != "atroz" || p.Severity != wantSeverity ||
			p.Timestamp != "2026-03-14T15:09:26.535Z" || p.Class != "HighLatency" || p.Component != "api" {
			t.Errorf("payload %+v", p)
		}
		if p.CustomDetails.Labels["route"] != "/api/v1/items/:id" || p.CustomDetails.Value != wantValue {
			t.Errorf("custom details %+v", p.CustomDetails)
		}
	}
	n := notifyFiring()
	f(n, "trigger", "warning", 0.523)
	f(notifyResolved(n), "resolve", "warning", 0.523)
	n.Labels["severity"], n.Value = "page", math.Inf(1)
	f(n, "trigger", "error", "+Inf")
}

func TestPagerDutyConfig(t *testing.T) {
	if _, err := NewPagerDutyReceiver(PagerDutyConfig{}, nil); err == nil || !strings.Contains(err.Error(), "routing key is required") {
		t.Errorf("no routing key: %v", err)
	}
	r, err := NewPagerDutyReceiver(PagerDutyConfig{RoutingKey: "k"}, nil)
	if err != nil || r.target.url != DefaultPagerDutyURL || r.Name() != "pagerduty" {
		t.Errorf("defaults: %v %+v", err, r)
	}
}

func TestPagerDutyEventIsPlainText(t *testing.T) {
	// PagerDuty shows the summary and custom details as plain text, so
	// they carry labels as they are: an escape would show as a backslash.
	r, err := NewPagerDutyReceiver(PagerDutyConfig{RoutingKey: "R0UT1NG"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := notifyHostile()
	e := r.event(n)
	if want := "[FIRING] LowFrameRate " + n.Annotations["summary"]; e.Payload.Summary != want {
		t.Errorf("summary %q, want %q", e.Payload.Summary, want)
	}
	if got := e.Payload.CustomDetails["labels"].(map[string]string)["page"]; got != n.Labels["page"] {
		t.Errorf("page label %q, want %q", got, n.Labels["page"])
	}
}
