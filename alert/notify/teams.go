package notify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// TeamsConfig configures a TeamsReceiver.
type TeamsConfig struct {
	// Name names the receiver in logs and metrics. Default "teams".
	Name string
	// URL is the incoming webhook's address, a secret. Required.
	URL string
	// Version is AtroZ's version, sent as User-Agent AtroZ/<Version>.
	// Default "dev".
	Version string
}

// TeamsReceiver posts notifications to a Microsoft Teams incoming webhook
// as a MessageCard: one card per batch, one section per alert, red while
// firing and green once resolved.
type TeamsReceiver struct {
	cfg    TeamsConfig
	target httpTarget
}

// NewTeamsReceiver returns a receiver posting to cfg.URL with client (nil
// means a client of its own).
func NewTeamsReceiver(cfg TeamsConfig, client *http.Client) (*TeamsReceiver, error) {
	if cfg.Name == "" {
		cfg.Name = "teams"
	}
	t, err := newHTTPTarget(cfg.URL, client, cfg.Version)
	if err != nil {
		return nil, fmt.Errorf("teams %s: %w", cfg.Name, err)
	}
	return &TeamsReceiver{cfg: cfg, target: t}, nil
}

// Name returns the receiver's name.
func (r *TeamsReceiver) Name() string { return r.cfg.Name }

// Send posts ns as one card.
func (r *TeamsReceiver) Send(ctx context.Context, ns []*Notification) error {
	if err := r.target.postJSON(ctx, newTeamsCard(ns), nil); err != nil {
		return fmt.Errorf("teams %s: %w", r.cfg.Name, err)
	}
	return nil
}

// Theme colours of a card, as Alertmanager's msteams notifier uses them.
const (
	teamsColorFiring   = "8C1A1A"
	teamsColorResolved = "2DC72D"
)

// teamsCard is a legacy actionable message card.
type teamsCard struct {
	Type            string         `json:"@type"`
	Context         string         `json:"@context"`
	ThemeColor      string         `json:"themeColor"`
	Summary         string         `json:"summary"`
	Title           string         `json:"title"`
	Text            string         `json:"text"`
	Sections        []teamsSection `json:"sections"`
	PotentialAction []teamsAction  `json:"potentialAction,omitempty"`
}

// teamsSection shows one alert.
type teamsSection struct {
	ActivityTitle string      `json:"activityTitle"`
	Text          string      `json:"text,omitempty"`
	Facts         []teamsFact `json:"facts"`
}

// teamsFact is one name and value line of a section.
type teamsFact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// teamsAction is an OpenUri button.
type teamsAction struct {
	Type    string        `json:"@type"`
	Name    string        `json:"name"`
	Targets []teamsTarget `json:"targets"`
}

// teamsTarget is the address an OpenUri button opens.
type teamsTarget struct {
	OS  string `json:"os"`
	URI string `json:"uri"`
}

// newTeamsCard builds the card of ns.
func newTeamsCard(ns []*Notification) *teamsCard {
	title := batchTitle(ns)
	c := &teamsCard{
		Type: "MessageCard", Context: "https://schema.org/extensions",
		ThemeColor: teamsColorResolved, Summary: title, Title: teamsEscape(title),
		Text: teamsEscape(summaryText(ns[0])), Sections: make([]teamsSection, len(ns)),
	}
	if batchStatus(ns) == StatusFiring {
		c.ThemeColor = teamsColorFiring
	}
	for i, n := range ns {
		c.Sections[i] = newTeamsSection(n)
	}
	if u := ns[0].GeneratorURL; u != "" {
		c.PotentialAction = []teamsAction{{Type: "OpenUri", Name: "View in AtroZ", Targets: []teamsTarget{{OS: "default", URI: u}}}}
	}
	return c
}

// newTeamsSection lists n's status, value and labels as facts.
func newTeamsSection(n *Notification) teamsSection {
	s := teamsSection{
		ActivityTitle: teamsEscape(batchTitle([]*Notification{n})), Text: teamsEscape(summaryText(n)),
		Facts: []teamsFact{{Name: "status", Value: n.Status}, {Name: "value", Value: formatValue(n.Value)}},
	}
	for _, name := range sortedLabelNames(n.Labels) {
		s.Facts = append(s.Facts, teamsFact{Name: teamsEscape(name), Value: teamsEscape(n.Labels[name])})
	}
	return s
}

// teamsEscaper puts a backslash before every ASCII punctuation character
// Markdown or Teams' HTML subset gives a meaning to, so a label or an
// annotation shows as the text it is: no link, emphasis, heading, list,
// HTML tag or entity. The card's summary, a plain-text preview, is not
// escaped.
var teamsEscaper = func() *strings.Replacer {
	var pairs []string
	for _, c := range "\\`*_{}[]()#+-.!|~<>&:" {
		pairs = append(pairs, string(c), "\\"+string(c))
	}
	return strings.NewReplacer(pairs...)
}()

// teamsEscape escapes s for a MessageCard's Markdown.
func teamsEscape(s string) string { return teamsEscaper.Replace(s) }
