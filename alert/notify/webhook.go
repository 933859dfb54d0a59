package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// WebhookConfig configures a WebhookReceiver.
type WebhookConfig struct {
	// Name names the receiver in logs and metrics, and is the payload's
	// receiver. Default "webhook".
	Name string
	// URL is where the payload is posted. Required.
	URL string
	// Secret, when set, signs every request (see WebhookReceiver).
	Secret string
	// ExternalURL is AtroZ's own address, the payload's externalURL.
	ExternalURL string
	// Version is AtroZ's version, sent as User-Agent AtroZ/<Version>.
	// Default "dev".
	Version string
	// Now tells the time of X-AtroZ-Timestamp. Default time.Now.
	Now func() time.Time
}

// WebhookReceiver posts notifications as Alertmanager's webhook payload
// version 4, so any Alertmanager webhook consumer understands them.
//
// When a secret is set, each request carries
//
//	X-AtroZ-Timestamp: <Unix seconds when the request was made>
//	X-AtroZ-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>
//
// The signature covers the timestamp and the body exactly as received, as
// Stripe's and Slack's do: a consumer recomputes it over the header's
// timestamp, a dot and the raw body, compares with hmac.Equal, and refuses
// a timestamp too far from its clock, so a captured request cannot be
// replayed later under a fresh timestamp. Every attempt is signed anew.
type WebhookReceiver struct {
	cfg    WebhookConfig
	target httpTarget
}

// NewWebhookReceiver returns a receiver posting to cfg.URL with client
// (nil means a client of its own).
func NewWebhookReceiver(cfg WebhookConfig, client *http.Client) (*WebhookReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "webhook"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t, err := newHTTPTarget(cfg.URL, client, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", cfg.Name, err)
	}
	return &WebhookReceiver{cfg: cfg, target: t}, nil
}

// Name returns the receiver's name.
func (r *WebhookReceiver) Name() string { return r.cfg.Name }

// Send posts ns as one payload.
func (r *WebhookReceiver) Send(ctx context.Context, ns []*Notification) error {
	body, err := json.Marshal(newWebhookMessage(r.cfg.Name, r.cfg.ExternalURL, ns))
	if err != nil {
		return fmt.Errorf("webhook %s: encode: %w", r.cfg.Name, err)
	}
	if err := r.target.post(ctx, body, r.signature(body)); err != nil {
		return fmt.Errorf("webhook %s: %w", r.cfg.Name, err)
	}
	return nil
}

// signature returns the signing headers of body, or nil without a secret.
func (r *WebhookReceiver) signature(body []byte) http.Header {
	if r.cfg.Secret == "" {
		return nil
	}
	ts := strconv.FormatInt(r.cfg.Now().Unix(), 10)
	h := http.Header{}
	h.Set("X-AtroZ-Timestamp", ts)
	h.Set("X-AtroZ-Signature", webhookSignature(r.cfg.Secret, ts, body))
	return h
}

// webhookSignature returns the X-AtroZ-Signature of body sent at ts:
// "sha256=" and the hex of HMAC-SHA256(secret, ts + "." + body).
func webhookSignature(secret, ts string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookMessage is Alertmanager's webhook.Message: template.Data and the
// version, group key and count of truncated alerts, in its field order.
type webhookMessage struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []webhookAlert    `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// webhookAlert is Alertmanager's template.Alert.
type webhookAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// newWebhookMessage builds the payload of ns for receiver. The group is
// the alert name, as Alertmanager's default route groups.
func newWebhookMessage(receiver, externalURL string, ns []*Notification) *webhookMessage {
	m := &webhookMessage{
		Receiver: receiver, Status: batchStatus(ns), ExternalURL: externalURL,
		Version: "4", Alerts: make([]webhookAlert, len(ns)),
	}
	labels := make([]map[string]string, len(ns))
	annotations := make([]map[string]string, len(ns))
	for i, n := range ns {
		m.Alerts[i] = newWebhookAlert(n)
		labels[i], annotations[i] = m.Alerts[i].Labels, m.Alerts[i].Annotations
	}
	m.CommonLabels = commonLabels(labels)
	m.CommonAnnotations = commonLabels(annotations)
	m.GroupLabels = map[string]string{}
	if name, ok := m.CommonLabels["alertname"]; ok {
		m.GroupLabels["alertname"] = name
	}
	m.GroupKey = webhookGroupKey(m.GroupLabels)
	return m
}

// newWebhookAlert converts n; times are UTC, EndsAt zero while firing.
func newWebhookAlert(n *Notification) webhookAlert {
	a := webhookAlert{
		Status: n.Status, Labels: nonNilMap(n.Labels), Annotations: nonNilMap(n.Annotations),
		StartsAt: n.StartsAt.UTC(), GeneratorURL: n.GeneratorURL, Fingerprint: n.Fingerprint,
	}
	if !n.Firing() {
		a.EndsAt = n.EndsAt.UTC()
	}
	return a
}

// webhookGroupKey formats the group key as Alertmanager does for a group of
// the root route: the route's matchers, a colon, the group's labels.
func webhookGroupKey(groupLabels map[string]string) string {
	key := "{}:{"
	for i, name := range sortedLabelNames(groupLabels) {
		if i > 0 {
			key += ", "
		}
		key += name + "=" + strconv.Quote(groupLabels[name])
	}
	return key + "}"
}
