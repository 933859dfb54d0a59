package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"atroz/alert/notify"
)

// AlertConfig holds the settings of alert rules and receivers.
type AlertConfig struct {
	// RulesFile is a Prometheus rule file of extra or replacing rules (ALERT_RULES_FILE, -alert-rules-file, -rules-file).
	RulesFile string
	// DisabledRules lists, comma-separated, built-in rules to drop (ALERT_DISABLED_RULES).
	DisabledRules string
	// EvalInterval is how often rules are evaluated (ALERT_EVAL_INTERVAL). Default 15s.
	EvalInterval time.Duration
	// RepeatInterval is how often a firing alert is notified again (ALERT_REPEAT_INTERVAL). Default 4h.
	RepeatInterval time.Duration
	// WebhookURL lists, comma-separated, webhooks that get the Alertmanager v4 payload (ALERT_WEBHOOK_URL).
	WebhookURL string
	// WebhookSecret signs webhook bodies with HMAC-SHA256 (ALERT_WEBHOOK_SECRET).
	WebhookSecret string
	// AlertmanagerURL lists, comma-separated, Alertmanagers to post alerts to (ALERTMANAGER_URL).
	AlertmanagerURL string
	// SlackWebhookURL is a Slack incoming webhook (ALERT_SLACK_WEBHOOK_URL).
	SlackWebhookURL string
	// TeamsWebhookURL is a Microsoft Teams incoming webhook (ALERT_TEAMS_WEBHOOK_URL).
	TeamsWebhookURL string
	// PagerDutyRoutingKey is a PagerDuty Events API v2 integration key (ALERT_PAGERDUTY_ROUTING_KEY).
	PagerDutyRoutingKey string
	// SMTP settings for e-mail (ALERT_SMTP_HOST, _PORT, _USERNAME, _PASSWORD, _FROM, _TO).
	SMTPHost, SMTPUsername, SMTPPassword, SMTPFrom, SMTPTo string
	SMTPPort                                               int
}

func defaultAlertConfig() AlertConfig {
	return AlertConfig{EvalInterval: 15 * time.Second, RepeatInterval: 4 * time.Hour, SMTPPort: 587}
}

func (a *AlertConfig) settings() []setting {
	return []setting{
		{"alert-rules-file", "Prometheus rule file of extra or replacing alert rules", &a.RulesFile},
		{"alert-disabled-rules", "comma-separated built-in alert rules to drop", &a.DisabledRules},
		{"alert-eval-interval", "how often alert rules are evaluated", &a.EvalInterval},
		{"alert-repeat-interval", "how often a firing alert is notified again", &a.RepeatInterval},
		{"alert-webhook-url", "comma-separated webhooks for the Alertmanager v4 payload", &a.WebhookURL},
		{"alert-webhook-secret", "HMAC-SHA256 key signing webhook bodies", &a.WebhookSecret},
		{"alertmanager-url", "comma-separated Alertmanager base URLs", &a.AlertmanagerURL},
		{"alert-slack-webhook-url", "Slack incoming webhook", &a.SlackWebhookURL},
		{"alert-teams-webhook-url", "Microsoft Teams incoming webhook", &a.TeamsWebhookURL},
		{"alert-pagerduty-routing-key", "PagerDuty Events API v2 integration key", &a.PagerDutyRoutingKey},
		{"alert-smtp-host", "SMTP server for alert e-mail", &a.SMTPHost},
		{"alert-smtp-port", "SMTP port", &a.SMTPPort},
		{"alert-smtp-username", "SMTP user (AUTH PLAIN over TLS)", &a.SMTPUsername},
		{"alert-smtp-password", "SMTP password", &a.SMTPPassword},
		{"alert-smtp-from", "sender of alert e-mail", &a.SMTPFrom},
		{"alert-smtp-to", "comma-separated recipients of alert e-mail", &a.SMTPTo},
	}
}

func (a *AlertConfig) validate() []error {
	var errs []error
	check := func(bad bool, env, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{env}, args...)...))
		}
	}
	check(a.EvalInterval < time.Second, "ALERT_EVAL_INTERVAL", "must be at least 1s, got %s", a.EvalInterval)
	check(a.RepeatInterval < time.Minute, "ALERT_REPEAT_INTERVAL", "must be at least 1m, got %s", a.RepeatInterval)
	for env, list := range map[string]string{"ALERT_WEBHOOK_URL": a.WebhookURL, "ALERTMANAGER_URL": a.AlertmanagerURL, "ALERT_SLACK_WEBHOOK_URL": a.SlackWebhookURL, "ALERT_TEAMS_WEBHOOK_URL": a.TeamsWebhookURL} {
		for i, u := range splitList(list) {
			// The value is not repeated: a webhook URL's path may be its credential.
			p, err := url.Parse(u)
			check(err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "", env, "entry %d is not an http(s) URL with a host", i+1)
		}
	}
	check(a.SMTPHost != "" && (a.SMTPFrom == "" || a.SMTPTo == ""), "ALERT_SMTP_HOST", "needs ALERT_SMTP_FROM and ALERT_SMTP_TO")
	check(a.SMTPPort < 1 || a.SMTPPort > 65535, "ALERT_SMTP_PORT", "must be a port number, got %d", a.SMTPPort)
	return errs
}

// receivers builds the configured receivers.
func (a *AlertConfig) receivers(externalURL string) ([]notify.Receiver, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	var out []notify.Receiver
	add := func(r notify.Receiver, err error) {
		if err == nil {
			out = append(out, r)
		}
	}
	var errs []error
	collect := func(r notify.Receiver, err error) {
		errs = append(errs, err)
		add(r, err)
	}
	for i, u := range splitList(a.WebhookURL) {
		collect(notify.NewWebhookReceiver(notify.WebhookConfig{Name: fmt.Sprintf("webhook-%d", i+1), URL: u, Secret: a.WebhookSecret, ExternalURL: externalURL, Version: version}, client))
	}
	for i, u := range splitList(a.AlertmanagerURL) {
		// A firing alert is sent again every RepeatInterval: its endsAt must
		// lie beyond that, or Alertmanager resolves it while it still fires.
		collect(notify.NewAlertmanagerReceiver(notify.AlertmanagerConfig{Name: fmt.Sprintf("alertmanager-%d", i+1), URL: u, ResendInterval: a.RepeatInterval, Version: version}, client))
	}
	if a.SlackWebhookURL != "" {
		collect(notify.NewSlackReceiver(notify.SlackConfig{Name: "slack", URL: a.SlackWebhookURL, Version: version}, client))
	}
	if a.TeamsWebhookURL != "" {
		collect(notify.NewTeamsReceiver(notify.TeamsConfig{Name: "teams", URL: a.TeamsWebhookURL, Version: version}, client))
	}
	if a.PagerDutyRoutingKey != "" {
		collect(notify.NewPagerDutyReceiver(notify.PagerDutyConfig{Name: "pagerduty", RoutingKey: a.PagerDutyRoutingKey, Source: "atroz", Version: version}, client))
	}
	if a.SMTPHost != "" {
		collect(notify.NewEmailReceiver(notify.EmailConfig{Name: "email", Host: a.SMTPHost, Port: a.SMTPPort, From: a.SMTPFrom, To: splitList(a.SMTPTo), Username: a.SMTPUsername, Password: a.SMTPPassword}))
	}
	return out, errors.Join(errs...)
}
