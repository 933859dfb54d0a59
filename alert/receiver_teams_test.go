package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// teamsTestCard mirrors a MessageCard's fields.
type teamsTestCard struct {
	Type       string `json:"@type"`
	Context    string `json:"@context"`
	ThemeColor string `json:"themeColor"`
	Summary    string `json:"summary"`
	Title      string `json:"title"`
	Text       string `json:"text"`
	Sections   []struct {
		ActivityTitle string `json:"activityTitle"`
		Text          string `json:"text"`
		Facts         []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"facts"`
	} `json:"sections"`
	PotentialAction []struct {
		Type    string `json:"@type"`
		Name    string `json:"name"`
		Targets []struct {
			OS  string `json:"os"`
			URI string `json:"uri"`
		} `json:"targets"`
	} `json:"potentialAction"`
}

func TestTeamsCard(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	r, err := NewTeamsReceiver(TeamsConfig{URL: srv.URL + "/webhookb2/token"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	f := func(n *Notification, wantTitle, wantColor string) {
		t.Helper()
		if err := r.Send(context.Background(), []*Notification{n}); err != nil {
			t.Fatal(err)
		}
		req := receiveRequest(t, reqs)
		if req.Header.Get("User-Agent") != "AtroZ/dev" {
			t.Errorf("User-Agent %q", req.Header.Get("User-Agent"))
		}
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.DisallowUnknownFields()
		var c teamsTestCard
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		if c.Type != "MessageCard" || c.Context != "https://schema.org/extensions" || c.ThemeColor != wantColor ||
			c.Title != wantTitle || c.Summary != wantTitle || c.Text != n.Annotations["summary"] {
			t.Errorf("card %+v", c)
		}
		if len(c.Sections) != 1 || len(c.Sections[0].Facts) != 2+len(n.Labels) ||
			c.Sections[0].Facts[0].Value != n.Status || c.Sections[0].Facts[1].Value != "0.523" || c.Sections[0].Facts[2].Name != "alertname" {
			t.Errorf("sections %+v", c.Sections)
		}
		if len(c.PotentialAction) != 1 || c.PotentialAction[0].Type != "OpenUri" || c.PotentialAction[0].Targets[0].URI != n.GeneratorURL {
			t.Errorf("actions %+v", c.PotentialAction)
		}
	}
	f(notifyFiring(), "[FIRING] HighLatency", teamsColorFiring)
	f(notifyResolved(notifyFiring()), "[RESOLVED] HighLatency", teamsColorResolved)
}
