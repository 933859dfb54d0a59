package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
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
			c.Title != teamsEscape(wantTitle) || c.Summary != wantTitle || c.Text != teamsEscape(n.Annotations["summary"]) {
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

// notifyHostile is a LowFrameRate alert on a page whose name is a
// Markdown link, with a summary quoting it among HTML and emphasis.
func notifyHostile() *Notification {
	page := "/[Reset your password](https://evil.example)"
	return &Notification{
		Status: StatusFiring,
		Labels: map[string]string{"alertname": "LowFrameRate", "service": "shop", "page": page, "x_y_z": "_a_ *b* ~c~ `d`"},
		Annotations: map[string]string{
			"summary": "median fps of shop " + page + " is 12 <img src=x onerror=alert(1)> &amp; <!channel> <https://evil.example|login>",
		},
		StartsAt: notifyStartsAt, Value: 12, Fingerprint: "0123456789abcdef",
	}
}

// teamsUnescape undoes teamsEscape, failing on a Markdown character left
// bare: every one of them must come after a backslash.
func teamsUnescape(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case strings.IndexByte("\\`*_{}[]()#+-.!|~<>&:", c) >= 0:
			t.Fatalf("bare %q at %d in %q", c, i, s)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func TestTeamsCardEscapesMarkdown(t *testing.T) {
	n := notifyHostile()
	c := newTeamsCard([]*Notification{n})
	body, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte("[Reset your password](")) {
		t.Errorf("a live Markdown link in the card: %s", body)
	}
	s := c.Sections[0]
	f := func(field, got, want string) {
		t.Helper()
		if u := teamsUnescape(t, got); u != want {
			t.Errorf("%s shows %q, want %q", field, u, want)
		}
	}
	f("title", c.Title, "[FIRING] LowFrameRate")
	f("text", c.Text, n.Annotations["summary"])
	f("activityTitle", s.ActivityTitle, "[FIRING] LowFrameRate")
	f("section text", s.Text, n.Annotations["summary"])
	for _, fact := range s.Facts[2:] {
		f("fact name", fact.Name, teamsUnescape(t, fact.Name))
		f("fact "+fact.Name, fact.Value, n.Labels[teamsUnescape(t, fact.Name)])
	}
	if want := `/\[Reset your password\]\(https\://evil\.example\)`; s.Facts[3].Name != "page" || s.Facts[3].Value != want {
		t.Errorf("page fact %+v, want %q", s.Facts[3], want)
	}
}
