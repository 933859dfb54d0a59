package notify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// AlertmanagerConfig configures an AlertmanagerReceiver.
type AlertmanagerConfig struct {
	// Name names the receiver in logs and metrics. Default "alertmanager".
	Name string
	// URL is Alertmanager's base address, such as http://alertmanager:9093;
	// alerts go to URL/api/v2/alerts. Required.
	URL string
	// ResendInterval is how often the evaluation side repeats a firing
	// alert. A firing alert is sent with endsAt four intervals ahead, as
	// Prometheus does, so Alertmanager resolves it by itself if AtroZ stops
	// repeating it. Default 1m.
	ResendInterval time.Duration
	// Version is AtroZ's version, sent as User-Agent AtroZ/<Version>.
	// Default "dev".
	Version string
	// Now tells the time a firing alert's endsAt counts from. Default
	// time.Now.
	Now func() time.Time
}

// AlertmanagerReceiver posts notifications to Alertmanager's API v2 as
// postable alerts, the way Prometheus forwards its alerts.
type AlertmanagerReceiver struct {
	cfg    AlertmanagerConfig
	target httpTarget
}

// NewAlertmanagerReceiver returns a receiver posting to cfg.URL with client
// (nil means a client of its own).
func NewAlertmanagerReceiver(cfg AlertmanagerConfig, client *http.Client) (*AlertmanagerReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "alertmanager"
	}
	if cfg.ResendInterval <= 0 {
		cfg.ResendInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t, err := newHTTPTarget(strings.TrimSuffix(cfg.URL, "/")+"/api/v2/alerts", client, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("alertmanager %s: %w", cfg.Name, err)
	}
	return &AlertmanagerReceiver{cfg: cfg, target: t}, nil
}

// Name returns the receiver's name.
func (r *AlertmanagerReceiver) Name() string { return r.cfg.Name }

// Send posts ns in one request.
func (r *AlertmanagerReceiver) Send(ctx context.Context, ns []*Notification) error {
	alerts := make([]postableAlert, len(ns))
	for i, n := range ns {
		alerts[i] = r.postable(n)
	}
	if err := r.target.postJSON(ctx, alerts, nil); err != nil {
		return fmt.Errorf("alertmanager %s: %w", r.cfg.Name, err)
	}
	return nil
}

// postableAlert is Alertmanager's models.PostableAlert.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// postable converts n: a resolved alert ends when it resolved (now when
// unknown), a firing one four resend intervals from now.
func (r *AlertmanagerReceiver) postable(n *Notification) postableAlert {
	now := r.cfg.Now()
	end := now.Add(4 * r.cfg.ResendInterval)
	if !n.Firing() {
		end = n.EndsAt
		if end.IsZero() {
			end = now
		}
	}
	return postableAlert{
		Labels: nonNilMap(n.Labels), Annotations: n.Annotations,
		StartsAt: n.StartsAt.UTC(), EndsAt: end.UTC(), GeneratorURL: n.GeneratorURL,
	}
}
