package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/alert"
	"atroz/alert/notify"
	"atroz/auth"
	"atroz/store"
)

// statusRules are rules whose units come from each source UnitOf reads:
// a metric's _seconds suffix and a unit annotation.
const statusRules = `groups:
- name: status
  rules:
  - alert: SlowThing
    expr: test_latency_seconds > 0.5
    for: 1m
    annotations: {summary: "slow"}
  - alert: Blip
    expr: test_blip > 1
    for: 10m
    annotations: {summary: "blip", unit: fps}
`

// appendSteps appends v to the series name every 15 s from from to to (offsets from ingestNow).
func appendSteps(t *testing.T, db *store.DB, name string, from, to time.Duration, v float64) {
	t.Helper()
	ls := store.Labels{{Name: "__name__", Value: name}}
	for ts := ingestNow.Add(from); !ts.After(ingestNow.Add(to)); ts = ts.Add(15 * time.Second) {
		if err := db.Append(ls, ts.UnixMilli(), v); err != nil {
			t.Fatal(err)
		}
	}
}

// alertStatusServer is a server whose manager has the built-in rules,
// statusRules and the receivers given.
func alertStatusServer(t *testing.T, receivers ...notify.Receiver) (*ingestServer, *alert.Manager) {
	t.Helper()
	is := newIngestServer(t, Config{Development: true})
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, []byte(statusRules), 0o600); err != nil {
		t.Fatal(err)
	}
	groups, err := alert.LoadRules(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	disp := notify.NewDispatcher(receivers, &notify.DispatcherOptions{MaxRetries: -1, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(disp.Close)
	m, err := alert.NewManager(is.db, is.s.Query(), groups, disp, &alert.Options{Now: func() time.Time { return ingestNow }})
	if err != nil {
		t.Fatal(err)
	}
	is.s.SetAlerts(m)
	return is, m
}

// evaluateHistory makes a history: HighMemory pending, firing, then
// resolved; Blip pending then cleared without firing; SlowThing firing to
// the end.
func evaluateHistory(t *testing.T, is *ingestServer, m *alert.Manager) {
	t.Helper()
	appendSteps(t, is.db, "system_memory_usage_ratio", -20*time.Minute, -5*time.Minute, 0.93)
	appendSteps(t, is.db, "system_memory_usage_ratio", -285*time.Second, 0, 0.5)
	appendSteps(t, is.db, "test_blip", -20*time.Minute, -13*time.Minute, 5)
	appendSteps(t, is.db, "test_blip", -765*time.Second, 0, 0)
	appendSteps(t, is.db, "test_latency_seconds", -20*time.Minute, 0, 0.85)
	for _, at := range []time.Duration{-15 * time.Minute, -9 * time.Minute, -3 * time.Minute} {
		m.EvalAt(context.Background(), ingestNow.Add(at))
	}
}

func TestAlertStatusUnitsSilencedResolvedNeverFired(t *testing.T) {
	is, m := alertStatusServer(t)
	evaluateHistory(t, is, m)
	sil, err := m.AddSilence(alert.Silence{Matchers: []alert.Matcher{{Name: "alertname", Value: "SlowThing"}}, EndsAt: ingestNow.Add(time.Hour), Comment: "known"})
	if err != nil {
		t.Fatal(err)
	}
	var active struct {
		Data struct{ Alerts []alert.ActiveAlert } `json:"data"`
	}
	w := is.do("GET", "/api/v1/alerts", "")
	if err := json.Unmarshal(w.Body.Bytes(), &active); err != nil || len(active.Data.Alerts) != 1 {
		t.Fatalf("alerts: %d %s", w.Code, w.Body)
	}
	a := active.Data.Alerts[0]
	if a.Labels["alertname"] != "SlowThing" || a.State != alert.StateFiring || a.Unit != "seconds" || !a.Silenced ||
		len(a.SilencedBy) != 1 || a.SilencedBy[0] != sil.ID {
		t.Errorf("active alert %+v, want SlowThing firing in seconds, silenced by %s", a, sil.ID)
	}

	var hist struct {
		Data []alert.HistoryEvent `json:"data"`
	}
	w = is.do("GET", "/api/v1/alerts/history?from=1793530000&to=1793534400", "")
	if err := json.Unmarshal(w.Body.Bytes(), &hist); err != nil {
		t.Fatalf("history: %d %s", w.Code, w.Body)
	}
	seen := map[string]alert.HistoryEvent{}
	for _, e := range hist.Data {
		seen[e.AlertName+" "+e.State] = e
	}
	f := func(key, unit string, check func(alert.HistoryEvent) bool) {
		t.Helper()
		e, ok := seen[key]
		if !ok || e.Unit != unit || !check(e) {
			t.Errorf("%s: %+v (present %v), want unit %q and its state's fields", key, e, ok, unit)
		}
	}
	f("HighMemory firing", "ratio", func(e alert.HistoryEvent) bool {
		return strings.Contains(e.Summary, "93%") && e.Value != nil && *e.Value == 0.93
	})
	f("HighMemory resolved", "ratio", func(e alert.HistoryEvent) bool {
		return e.Summary == "" && strings.Contains(e.LastSummary, "93%") && e.Time.Equal(ingestNow.Add(-3*time.Minute))
	})
	f("Blip inactive", "fps", func(e alert.HistoryEvent) bool { return e.NeverFired && e.Value == nil })
	f("SlowThing firing", "seconds", func(e alert.HistoryEvent) bool { return !e.NeverFired && e.Summary == "slow" })
	if !strings.Contains(w.Body.String(), `"value":null`) {
		t.Errorf("a never-fired event's value is not null: %s", w.Body)
	}
}

// hookServer is a loopback webhook that records the bodies it is sent and
// answers code.
func hookServer(t *testing.T, code int) (*httptest.Server, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), bodies...)
	}
}

func webhook(t *testing.T, name, url string) notify.Receiver {
	t.Helper()
	r, err := notify.NewWebhookReceiver(notify.WebhookConfig{Name: name, URL: url}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReceiverTestNotification(t *testing.T) {
	ok, okBodies := hookServer(t, http.StatusOK)
	bad, _ := hookServer(t, http.StatusBadRequest)
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL + "/hooks/s3cr3t-path"
	gone.Close()
	is, _ := alertStatusServer(t, webhook(t, "ops", ok.URL), webhook(t, "broken", bad.URL), webhook(t, "gone", goneURL))
	viewer, err := is.s.access.CreateToken("wall", auth.ScopeRead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	f := func(method, path string, header []string, wantCode int, want ...string) string {
		t.Helper()
		w := is.do(method, path, "", header...)
		for _, s := range want {
			if w.Code != wantCode || !strings.Contains(w.Body.String(), s) {
				t.Fatalf("%s %s: %d %s\nwant %d containing %s", method, path, w.Code, w.Body, wantCode, s)
			}
		}
		return w.Body.String()
	}
	f("GET", "/api/v1/admin/receivers", nil, 200, `"receivers":["ops","broken","gone"]`)
	f("POST", "/api/v1/admin/receivers/ops/test", nil, 200, `"delivered":true`)
	if got := okBodies(); len(got) != 1 || !strings.Contains(got[0], `"alertname":"AtroZTestNotification"`) ||
		!strings.Contains(got[0], "Test notification from AtroZ") || !strings.Contains(got[0], "Sent by tester") {
		t.Errorf("the webhook got %q, want one clearly marked test notification", got)
	}
	f("POST", "/api/v1/admin/receivers/broken/test", nil, 200, `"delivered":false`, `400`)
	body := f("POST", "/api/v1/admin/receivers/gone/test", nil, 200, `"delivered":false`, `"error":"`)
	if strings.Contains(body, "s3cr3t-path") {
		t.Errorf("the error shows the webhook's path: %s", body)
	}
	f("POST", "/api/v1/admin/receivers/nope/test", nil, 404, `receiver not found: \"nope\"`)
	f("POST", "/api/v1/admin/receivers/ops/test", []string{"Authorization", "Bearer " + viewer}, 403, `"errorType":"forbidden"`)
	f("GET", "/api/v1/admin/receivers", []string{"Authorization", "Bearer " + viewer}, 403, `"errorType":"forbidden"`)
	if got := okBodies(); len(got) != 1 {
		t.Errorf("the webhook got %d notifications, want only the admin's test", len(got))
	}
}
