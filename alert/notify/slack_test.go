package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// slackTestMessage mirrors the incoming webhook's fields the receiver uses.
type slackTestMessage struct {
	Text        string `json:"text"`
	Channel     string `json:"channel"`
	Username    string `json:"username"`
	Mrkdwn      *bool  `json:"mrkdwn"`
	Attachments []struct {
		Fallback  string   `json:"fallback"`
		Color     string   `json:"color"`
		Title     string   `json:"title"`
		TitleLink string   `json:"title_link"`
		Text      string   `json:"text"`
		Ts        int64    `json:"ts"`
		MrkdwnIn  []string `json:"mrkdwn_in"`
		Fields    []struct {
			Title string `json:"title"`
			Value string `json:"value"`
			Short bool   `json:"short"`
		} `json:"fields"`
	} `json:"attachments"`
}

func TestSlackMessage(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	r, err := NewSlackReceiver(SlackConfig{URL: srv.URL + "/services/T0/B0/token", Channel: "#ops", Version: "1.2.3"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	f := func(n *Notification, wantText, wantColor string, wantTs int64) {
		t.Helper()
		if err := r.Send(context.Background(), []*Notification{n}); err != nil {
			t.Fatal(err)
		}
		req := receiveRequest(t, reqs)
		if req.Path != "/services/T0/B0/token" || req.Header.Get("Content-Type") != "application/json" || req.Header.Get("User-Agent") != "AtroZ/1.2.3" {
			t.Errorf("request %s %v", req.Path, req.Header)
		}
		dec := json.NewDecoder(bytes.NewReader(req.Body))
		dec.DisallowUnknownFields()
		var m slackTestMessage
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if m.Text != wantText || m.Channel != "#ops" || len(m.Attachments) != 1 {
			t.Fatalf("message %+v", m)
		}
		a := m.Attachments[0]
		if a.Color != wantColor || a.Title != wantText || a.TitleLink != n.GeneratorURL || a.Text != "a &lt;b&gt; &amp; c" || a.Ts != wantTs {
			t.Errorf("attachment %+v", a)
		}
		if len(a.Fields) != 1+len(n.Labels) || a.Fields[0].Title != "value" || a.Fields[0].Value != "0.523" || a.Fields[1].Title != "alertname" {
			t.Errorf("fields %+v", a.Fields)
		}
	}
	n := notifyFiring()
	n.Annotations["summary"] = "a <b> & c"
	f(n, "[FIRING] HighLatency", "danger", notifyStartsAt.Unix())
	f(notifyResolved(n), "[RESOLVED] HighLatency", "good", notifyStartsAt.Unix()+300)
}

func TestSlackMessageIsPlainText(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	r, err := NewSlackReceiver(SlackConfig{URL: srv.URL + "/services/T0/B0/token"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	n := notifyHostile()
	if err := r.Send(context.Background(), []*Notification{n}); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(receiveRequest(t, reqs).Body))
	dec.DisallowUnknownFields()
	var m slackTestMessage
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	// mrkdwn off everywhere: * _ ~ ` and [..](..) show as typed.
	if m.Mrkdwn == nil || *m.Mrkdwn || len(m.Attachments) != 1 || m.Attachments[0].MrkdwnIn == nil || len(m.Attachments[0].MrkdwnIn) != 0 {
		t.Fatalf("mrkdwn %v, attachments %+v: want false and mrkdwn_in []", m.Mrkdwn, m.Attachments)
	}
	// & < >, parsed even then, are escaped: no <url|text> link, no <!channel>.
	a := m.Attachments[0]
	want := "median fps of shop /[Reset your password](https://evil.example) is 12 &lt;img src=x onerror=alert(1)&gt; &amp;amp; &lt;!channel&gt; &lt;https://evil.example|login&gt;"
	if a.Text != want {
		t.Errorf("text %q, want %q", a.Text, want)
	}
	for _, f := range a.Fields {
		if strings.ContainsAny(f.Title+f.Value, "<>") {
			t.Errorf("field %+v holds < or >", f)
		}
	}
}
