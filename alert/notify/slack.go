package notify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// SlackConfig configures a SlackReceiver.
type SlackConfig struct {
	// Name names the receiver in logs and metrics. Default "slack".
	Name string
	// URL is the incoming webhook's address, a secret. Required.
	URL string
	// Channel overrides the webhook's channel when set (legacy webhooks).
	Channel string
	// Username overrides the webhook's user name when set (legacy webhooks).
	Username string
	// Version is AtroZ's version, sent as User-Agent AtroZ/<Version>.
	// Default "dev".
	Version string
}

// SlackReceiver posts notifications to a Slack incoming webhook: one
// message per batch, one attachment per alert, red while firing and green
// once resolved.
type SlackReceiver struct {
	cfg    SlackConfig
	target httpTarget
}

// NewSlackReceiver returns a receiver posting to cfg.URL with client (nil
// means a client of its own).
func NewSlackReceiver(cfg SlackConfig, client *http.Client) (*SlackReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "slack"
	}
	t, err := newHTTPTarget(cfg.URL, client, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("slack %s: %w", cfg.Name, err)
	}
	return &SlackReceiver{cfg: cfg, target: t}, nil
}

// Name returns the receiver's name.
func (r *SlackReceiver) Name() string { return r.cfg.Name }

// Send posts ns as one message.
func (r *SlackReceiver) Send(ctx context.Context, ns []*Notification) error {
	msg := slackMessage{
		Text: slackEscape(batchTitle(ns)), Channel: r.cfg.Channel, Username: r.cfg.Username,
		Mrkdwn: false, Attachments: make([]slackAttachment, len(ns)),
	}
	for i, n := range ns {
		msg.Attachments[i] = newSlackAttachment(n)
	}
	if err := r.target.postJSON(ctx, msg, nil); err != nil {
		return fmt.Errorf("slack %s: %w", r.cfg.Name, err)
	}
	return nil
}

// slackMessage is an incoming webhook's body with legacy attachments. It
// turns mrkdwn off, in the text and (MrkdwnIn empty) in every attachment,
// so that a label's * _ ~ ` show as themselves; & < >, which Slack parses
// even then (links, mentions), are escaped.
type slackMessage struct {
	Text        string            `json:"text"`
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	Mrkdwn      bool              `json:"mrkdwn"`
	Attachments []slackAttachment `json:"attachments"`
}

// slackAttachment shows one alert.
type slackAttachment struct {
	Fallback  string       `json:"fallback"`
	Color     string       `json:"color"`
	Title     string       `json:"title"`
	TitleLink string       `json:"title_link,omitempty"`
	Text      string       `json:"text"`
	Fields    []slackField `json:"fields"`
	Ts        int64        `json:"ts,omitempty"`
	MrkdwnIn  []string     `json:"mrkdwn_in"`
}

// slackField is one label or the value.
type slackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// newSlackAttachment shows n: its status and name, summary, value and
// labels, linked to its dashboard view.
func newSlackAttachment(n *Notification) slackAttachment {
	title := slackEscape(batchTitle([]*Notification{n}))
	a := slackAttachment{
		Fallback: title, Color: "good", Title: title, TitleLink: n.GeneratorURL,
		Text:     slackEscape(summaryText(n)),
		Fields:   []slackField{{Title: "value", Value: formatValue(n.Value), Short: true}},
		MrkdwnIn: []string{},
	}
	at := n.StartsAt
	if n.Firing() {
		a.Color = "danger"
	} else if !n.EndsAt.IsZero() {
		at = n.EndsAt
	}
	if !at.IsZero() {
		a.Ts = at.Unix()
	}
	for _, name := range sortedLabelNames(n.Labels) {
		a.Fields = append(a.Fields, slackField{Title: slackEscape(name), Value: slackEscape(n.Labels[name]), Short: true})
	}
	return a
}

// slackEscaper escapes the three characters Slack's message format
// reserves, so that a label cannot inject a mention or a link.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes s for Slack's message format.
func slackEscape(s string) string { return slackEscaper.Replace(s) }
