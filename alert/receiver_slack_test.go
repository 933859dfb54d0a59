package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
)

// slackTestMessage mirrors the incoming webhook's fields the receiver uses.
type slackTestMessage struct {
	Text        string `json:"text"`
	Channel     string `json:"channel"`
	Username    string `json:"username"`
	Attachments []struct {
		Fallback  string `json:"fallback"`
		Color     string `json:"color"`
		Title     string `json:"title"`
		TitleLink string `json:"title_link"`
		Text      string `json:"text"`
		Ts        int64  `json:"ts"`
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
