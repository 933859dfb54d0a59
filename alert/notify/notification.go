package notify

import "time"

// Notification is what a receiver delivers: one alert's transition or
// reminder. Its fields follow Alertmanager's model, so the webhook payload
// and the Alertmanager API are direct translations.
type Notification struct {
	// Status is "firing" or "resolved".
	Status string
	// Labels identify the alert: alertname, severity, and the series' labels.
	Labels map[string]string
	// Annotations are the rule's expanded templates: summary, description, ...
	Annotations map[string]string
	// StartsAt is when the alert started firing; EndsAt when it resolved
	// (zero while firing).
	StartsAt, EndsAt time.Time
	// Value is the query's value that made the alert fire (or last held).
	Value float64
	// Fingerprint identifies the alert's label set (hex, 16 digits).
	Fingerprint string
	// GeneratorURL links to the dashboard view of the alert.
	GeneratorURL string
	// Reminder is true for a repeat of a firing alert already notified.
	Reminder bool
}

// Firing reports whether the notification is for a firing alert.
func (n *Notification) Firing() bool { return n.Status == StatusFiring }

// Alert statuses in notifications.
const (
	StatusFiring   = "firing"
	StatusResolved = "resolved"
)
