package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// DefaultPagerDutyURL is the Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDutyConfig configures a PagerDutyReceiver.
type PagerDutyConfig struct {
	// Name names the receiver in logs and metrics. Default "pagerduty".
	Name string
	// RoutingKey is the integration key of the service, a secret. Required.
	RoutingKey string
	// URL is the Events API endpoint. Default DefaultPagerDutyURL.
	URL string
	// Source is the event's source, the affected system. Default the
	// alert's instance label, else "atroz".
	Source string
	// Version is AtroZ's version, sent as User-Agent AtroZ/<Version>.
	// Default "dev".
	Version string
}

// PagerDutyReceiver sends notifications to PagerDuty's Events API v2: a
// trigger while firing and a resolve once resolved, both keyed by the
// alert's fingerprint so that PagerDuty folds repeats into one incident.
type PagerDutyReceiver struct {
	cfg    PagerDutyConfig
	target httpTarget
}

// NewPagerDutyReceiver returns a receiver posting to cfg.URL with client
// (nil means a client of its own).
func NewPagerDutyReceiver(cfg PagerDutyConfig, client *http.Client) (*PagerDutyReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "pagerduty"
	}
	if cfg.URL == "" {
		cfg.URL = DefaultPagerDutyURL
	}
	if cfg.RoutingKey == "" {
		return nil, fmt.Errorf("pagerduty %s: %w", cfg.Name, errors.New("routing key is required"))
	}
	t, err := newHTTPTarget(cfg.URL, client, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("pagerduty %s: %w", cfg.Name, err)
	}
	return &PagerDutyReceiver{cfg: cfg, target: t}, nil
}

// Name returns the receiver's name.
func (r *PagerDutyReceiver) Name() string { return r.cfg.Name }

// Send posts one event per notification, stopping at the first failure: a
// retry sends them all again, which the dedup keys make harmless.
func (r *PagerDutyReceiver) Send(ctx context.Context, ns []*Notification) error {
	for _, n := range ns {
		if err := r.target.postJSON(ctx, r.event(n), nil); err != nil {
			return fmt.Errorf("pagerduty %s: %w", r.cfg.Name, err)
		}
	}
	return nil
}

// pagerDutyEvent is an Events API v2 event.
type pagerDutyEvent struct {
	RoutingKey  string           `json:"routing_key"`
	EventAction string           `json:"event_action"`
	DedupKey    string           `json:"dedup_key"`
	Payload     pagerDutyPayload `json:"payload"`
	Client      string           `json:"client"`
	ClientURL   string           `json:"client_url,omitempty"`
}

// pagerDutyPayload describes the alert of an event.
type pagerDutyPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"`
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details"`
}

// pagerDutySummaryLimit is the longest summary PagerDuty accepts.
const pagerDutySummaryLimit = 1024

// event converts n.
func (r *PagerDutyReceiver) event(n *Notification) pagerDutyEvent {
	action := "trigger"
	if !n.Firing() {
		action = "resolve"
	}
	summary := batchTitle([]*Notification{n}) + " " + summaryText(n)
	summary = truncate(summary, pagerDutySummaryLimit)
	return pagerDutyEvent{
		RoutingKey: r.cfg.RoutingKey, EventAction: action, DedupKey: n.Fingerprint,
		Client: "AtroZ", ClientURL: n.GeneratorURL,
		Payload: pagerDutyPayload{
			Summary: summary, Source: r.source(n), Severity: pagerDutySeverity(n.Labels["severity"]),
			Timestamp: pagerDutyTime(n.StartsAt), Component: n.Labels["service"], Class: n.Labels["alertname"],
			CustomDetails: map[string]any{"labels": nonNilMap(n.Labels), "annotations": nonNilMap(n.Annotations), "value": jsonValue(n.Value)},
		},
	}
}

// source is the configured source, else the instance label, else "atroz".
func (r *PagerDutyReceiver) source(n *Notification) string {
	switch {
	case r.cfg.Source != "":
		return r.cfg.Source
	case n.Labels["instance"] != "":
		return n.Labels["instance"]
	}
	return "atroz"
}

// pagerDutySeverity maps a severity label to one of PagerDuty's four,
// "error" when it is none of them.
func pagerDutySeverity(label string) string {
	switch label {
	case "critical", "error", "warning", "info":
		return label
	}
	return "error"
}

// pagerDutyTime formats t in RFC 3339, empty when unknown.
func pagerDutyTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
