package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// amTemplateData mirrors Alertmanager's webhook.Message: template.Data
// with the version, group key and truncated count.
type amTemplateData struct {
	Receiver          string            `json:"receiver"`
	Status            string            `json:"status"`
	Alerts            []amTemplateAlert `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   uint64            `json:"truncatedAlerts"`
}

// amTemplateAlert mirrors Alertmanager's template.Alert.
type amTemplateAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// decodeWebhook decodes body strictly, and checks that it has every key
// Alertmanager sends, nothing more.
func decodeWebhook(t *testing.T, body []byte) amTemplateData {
	t.Helper()
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(body, &keys); err != nil {
		t.Fatal(err)
	}
	want := []string{"alerts", "commonAnnotations", "commonLabels", "externalURL", "groupKey", "groupLabels", "receiver", "status", "truncatedAlerts", "version"}
	if got := slices.Sorted(maps.Keys(keys)); !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v", got, want)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var d amTemplateData
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestWebhookPayload(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	now := time.Unix(1_800_000_000, 0)
	r, err := NewWebhookReceiver(WebhookConfig{
		Name: "ops", URL: srv.URL + "/hook", Secret: "s3cret", ExternalURL: "https://atroz.example",
		Version: "1.2.3", Now: func() time.Time { return now },
	}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(context.Background(), []*Notification{notifyFiring()}); err != nil {
		t.Fatal(err)
	}
	req := receiveRequest(t, reqs)
	checkWebhookHeaders(t, req, "s3cret", "1800000000")
	if !bytes.Contains(req.Body, []byte(`"endsAt":"0001-01-01T00:00:00Z"`)) ||
		!bytes.Contains(req.Body, []byte(`"startsAt":"2026-03-14T15:09:26.535Z"`)) {
		t.Errorf("times not as Alertmanager writes them: %s", req.Body)
	}
	d := decodeWebhook(t, req.Body)
	n := notifyFiring()
	want := amTemplateData{
		Receiver: "ops", Status: "firing", GroupLabels: map[string]string{"alertname": "HighLatency"},
		CommonLabels: n.Labels, CommonAnnotations: n.Annotations, ExternalURL: "https://atroz.example",
		Version: "4", GroupKey: `{}:{alertname="HighLatency"}`, TruncatedAlerts: 0,
		Alerts: []amTemplateAlert{{
			Status: "firing", Labels: n.Labels, Annotations: n.Annotations, StartsAt: notifyStartsAt,
			GeneratorURL: n.GeneratorURL, Fingerprint: "0123456789abcdef",
		}},
	}
	checkWebhookData(t, d, want)
}

// checkWebhookHeaders checks the content type, user agent and signature.
func checkWebhookHeaders(t *testing.T, req capturedRequest, secret, timestamp string) {
	t.Helper()
	if req.Method != "POST" || req.Path != "/hook" {
		t.Errorf("%s %s", req.Method, req.Path)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
	if got := req.Header.Get("User-Agent"); got != "AtroZ/1.2.3" {
		t.Errorf("User-Agent %q", got)
	}
	if got := req.Header.Get("X-AtroZ-Timestamp"); got != timestamp {
		t.Errorf("X-AtroZ-Timestamp %q, want %q", got, timestamp)
	}
	if err := verifyWebhook(secret, req.Header, req.Body); err != nil {
		t.Error(err)
	}
}

// verifyWebhook checks a request as the README tells a consumer to, apart
// from the clock: the signature is HMAC-SHA256(secret, timestamp "." body).
func verifyWebhook(secret string, h http.Header, body []byte) error {
	ts := h.Get("X-AtroZ-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := h.Get("X-AtroZ-Signature"); !hmac.Equal([]byte(got), []byte(want)) {
		return fmt.Errorf("X-AtroZ-Signature %q, want %q (timestamp %q)", got, want, ts)
	}
	return nil
}

// knownWebhookMAC is HMAC-SHA256("s3cret", `1773500966.{"status":"firing"}`)
// as openssl computes it:
//
//	printf '1773500966.{"status":"firing"}' | openssl dgst -sha256 -hmac s3cret
const knownWebhookMAC = "19bbbece63c27bf93f8598d1c2fc3133cf883810a53723dfb0e941b90b193621"

func TestWebhookSignatureCoversTimestamp(t *testing.T) {
	body := []byte(`{"status":"firing"}`)
	h := http.Header{}
	h.Set("X-AtroZ-Timestamp", "1773500966")
	h.Set("X-AtroZ-Signature", webhookSignature("s3cret", "1773500966", body))
	if err := verifyWebhook("s3cret", h, body); err != nil {
		t.Fatal(err)
	}
	// The same body and signature replayed under a fresh timestamp, or
	// with the timestamp moved into the body, no longer verify.
	replayed := h.Clone()
	replayed.Set("X-AtroZ-Timestamp", "1773600000")
	if verifyWebhook("s3cret", replayed, body) == nil {
		t.Error("a replay under a new timestamp verifies")
	}
	moved := h.Clone()
	moved.Set("X-AtroZ-Timestamp", "17735")
	if verifyWebhook("s3cret", moved, append([]byte("00966."), body...)) == nil {
		t.Error("digits moved from the timestamp into the body verify")
	}
	if verifyWebhook("other", h, body) == nil {
		t.Error("another secret verifies")
	}
	// A known answer, so the scheme cannot drift: HMAC-SHA256("s3cret", "1773500966.{...}").
	if got, want := h.Get("X-AtroZ-Signature"), "sha256="+knownWebhookMAC; got != want {
		t.Errorf("signature %s, want %s", got, want)
	}
}

// checkWebhookData compares a decoded payload field by field.
func checkWebhookData(t *testing.T, got, want amTemplateData) {
	t.Helper()
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"receiver", got.Receiver, want.Receiver}, {"status", got.Status, want.Status},
		{"externalURL", got.ExternalURL, want.ExternalURL}, {"version", got.Version, want.Version},
		{"groupKey", got.GroupKey, want.GroupKey}, {"truncatedAlerts", got.TruncatedAlerts, want.TruncatedAlerts},
		{"alerts", len(got.Alerts), len(want.Alerts)},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	for _, c := range []struct {
		field     string
		got, want map[string]string
	}{
		{"groupLabels", got.GroupLabels, want.GroupLabels}, {"commonLabels", got.CommonLabels, want.CommonLabels},
		{"commonAnnotations", got.CommonAnnotations, want.CommonAnnotations},
	} {
		if !maps.Equal(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	for i := range min(len(got.Alerts), len(want.Alerts)) {
		checkWebhookAlert(t, got.Alerts[i], want.Alerts[i])
	}
}

// checkWebhookAlert compares one decoded alert field by field.
func checkWebhookAlert(t *testing.T, got, want amTemplateAlert) {
	t.Helper()
	if got.Status != want.Status || !got.StartsAt.Equal(want.StartsAt) || !got.EndsAt.Equal(want.EndsAt) ||
		got.GeneratorURL != want.GeneratorURL || got.Fingerprint != want.Fingerprint {
		t.Errorf("alert %+v, want %+v", got, want)
	}
	if !maps.Equal(got.Labels, want.Labels) || !maps.Equal(got.Annotations, want.Annotations) {
		t.Errorf("alert labels %v annotations %v, want %v %v", got.Labels, got.Annotations, want.Labels, want.Annotations)
	}
}

func TestWebhookPayloadResolvedGroup(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	r := testWebhook(t, "ops", srv)
	a, b := notifyResolved(notifyFiring()), notifyResolved(notifyFiring())
	b.Labels = map[string]string{"alertname": "HighLatency", "severity": "warning", "service": "web"}
	b.Annotations = nil
	if err := r.Send(context.Background(), []*Notification{a, b}); err != nil {
		t.Fatal(err)
	}
	req := receiveRequest(t, reqs)
	if req.Header.Get("X-AtroZ-Signature") != "" || req.Header.Get("X-AtroZ-Timestamp") != "" {
		t.Errorf("signed without a secret: %v", req.Header)
	}
	d := decodeWebhook(t, req.Body)
	if d.Status != "resolved" || len(d.Alerts) != 2 || !d.Alerts[0].EndsAt.Equal(notifyStartsAt.Add(5*time.Minute)) {
		t.Errorf("payload %+v", d)
	}
	if want := map[string]string{"alertname": "HighLatency", "severity": "warning"}; !maps.Equal(d.CommonLabels, want) {
		t.Errorf("commonLabels %v, want %v", d.CommonLabels, want)
	}
	if len(d.CommonAnnotations) != 0 || d.Alerts[1].Annotations == nil {
		t.Errorf("commonAnnotations %v, second alert's %v", d.CommonAnnotations, d.Alerts[1].Annotations)
	}
}

func TestWebhookConfig(t *testing.T) {
	f := func(url, wantErr string) {
		t.Helper()
		_, err := NewWebhookReceiver(WebhookConfig{Name: "x", URL: url}, nil)
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("URL %q: error %v, want %q", url, err, wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "token") {
			t.Errorf("URL %q: error %v shows the secret", url, err)
		}
	}
	f("", "want an absolute http or https URL")
	f("ftp://host/token", "want an absolute http or https URL")
	f("/relative/token", "want an absolute http or https URL")
	f("http://host/%zz/token", "webhook x: invalid URL")
}
