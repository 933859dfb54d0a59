package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
	"atroz/store"
)

func TestAlertAPI(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	if w := is.do("GET", "/api/v1/alerts", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("alerts without a manager: %d", w.Code)
	}
	groups, err := alert.LoadRules("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := ingestNow
	m, err := alert.NewManager(is.db, is.s.Query(), groups, nil, &alert.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	is.s.SetAlerts(m)
	mem := store.Labels{{Name: "__name__", Value: "system_memory_usage_ratio"}}
	for ts := ingestNow.Add(-10 * time.Minute); !ts.After(ingestNow); ts = ts.Add(15 * time.Second) {
		if err := is.db.Append(mem, ts.UnixMilli(), 0.93); err != nil {
			t.Fatal(err)
		}
	}
	m.EvalAt(context.Background(), ingestNow.Add(-6*time.Minute))
	m.EvalAt(context.Background(), ingestNow)
	f := func(method, path, body string, wantCode int, want ...string) string {
		t.Helper()
		w := is.do(method, path, body, "Content-Type", "application/json")
		for _, s := range want {
			if w.Code != wantCode || !strings.Contains(w.Body.String(), s) {
				t.Fatalf("%s %s: %d %s\nwant %d containing %s", method, path, w.Code, w.Body, wantCode, s)
			}
		}
		return w.Body.String()
	}
	f("GET", "/api/v1/alerts", "", 200, `"state":"firing"`, `"alertname":"HighMemory"`, `"value":"9.3e-01"`, `"activeAt":"2026-11-01T11:54:00Z"`)
	f("GET", "/api/v1/rules", "", 200, `"name":"atroz-defaults"`, `"name":"HighMemory","query":"system_memory_usage_ratio \u003e 0.8","duration":300`, `"health":"ok"`, `"type":"alerting"`)
	f("GET", "/api/v1/rules?type=record", "", 200, `"data":{"groups":[]}`)
	f("GET", "/api/v1/rules?type=alerts", "", 400, `"errorType":"bad_data"`, `invalid parameter \"type\": not supported value \"alerts\"`)
	f("GET", "/api/v1/alerts/history?from=1793530000&to=1793534400&alertname=HighMemory", "", 200, `"state":"pending"`, `"state":"firing"`)
	f("GET", "/api/v1/alerts/history?from=x", "", 400, `invalid parameter \"from\"`)
	body := f("POST", "/api/v1/silences", `{"matchers":[{"name":"alertname","value":"HighMemory","isRegex":false}],"endsAt":"2026-11-01T13:00:00Z","createdBy":"ops","comment":"resize"}`, 200, `"silenceID":"`)
	var created struct {
		Data struct{ SilenceID string } `json:"data"`
	}
	_ = json.Unmarshal([]byte(body), &created)
	f("GET", "/api/v1/silences", "", 200, `"comment":"resize"`)
	f("GET", "/api/v1/alerts", "", 200, `"silenced":true`)
	f("POST", "/api/v1/silences", `{"matchers":[],"endsAt":"2026-11-01T13:00:00Z"}`, 400, "at least one is required")
	f("POST", "/api/v1/silences", `{"matchers":[{"name":"a","value":"b"}],"endsAt":"2026-11-01T13:00:00Z","color":"red"}`, 400, `unknown field`)
	f("DELETE", "/api/v1/silences/"+created.Data.SilenceID, "", 200, `"status":"success"`)
	f("DELETE", "/api/v1/silences/"+created.Data.SilenceID, "", 404, "silence not found")
}

func TestSilenceCreatorIsTheLogin(t *testing.T) {
	is := newIngestServer(t, Config{Development: true, MetricsOnMain: true})
	m, err := alert.NewManager(is.db, is.s.Query(), nil, nil, &alert.Options{Now: func() time.Time { return ingestNow }})
	if err != nil {
		t.Fatal(err)
	}
	is.s.SetAlerts(m)
	admin, err := is.s.access.CreateToken("ops", auth.ScopeAdmin|auth.ScopeRead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	add := func(bearer, want string) string {
		t.Helper()
		w := is.do("POST", "/api/v1/silences", `{"matchers":[{"name":"alertname","value":"HighMemory"}],"endsAt":"2026-11-01T13:00:00Z","createdBy":"mallory","comment":"resize"}`,
			"Content-Type", "application/json", "Authorization", "Bearer "+bearer)
		var created struct {
			Data struct{ SilenceID string } `json:"data"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &created); w.Code != http.StatusOK || err != nil {
			t.Fatalf("add silence: %d %s", w.Code, w.Body)
		}
		for _, s := range m.Silences() {
			if s.ID == created.Data.SilenceID && s.CreatedBy != want {
				t.Errorf("createdBy = %q, want %q: the login, not what the client sent", s.CreatedBy, want)
			}
		}
		return created.Data.SilenceID
	}
	byUser := add(is.session, "tester")
	byToken := add(admin, "token:ops")
	if w := is.do("DELETE", "/api/v1/silences/"+byToken, "", "Authorization", "Bearer "+admin); w.Code != http.StatusOK {
		t.Fatalf("expire: %d %s", w.Code, w.Body)
	}

	var events []map[string]any
	for _, l := range strings.Split(is.logs.String(), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) == nil && strings.HasPrefix(fmt.Sprint(e["kind"]), "silence_") {
			events = append(events, e)
		}
	}
	want := []struct{ kind, msg, silence, by string }{
		{"silence_created", "silence created", byUser, "tester"},
		{"silence_created", "silence created", byToken, "token:ops"},
		{"silence_expired", "silence expired", byToken, "token:ops"},
	}
	if len(events) != len(want) {
		t.Fatalf("silence events %v, want %d", events, len(want))
	}
	for i, w := range want {
		e := events[i]
		if e["event_type"] != "security" || e["kind"] != w.kind || e["msg"] != w.msg || e["silence"] != w.silence || e["by"] != w.by ||
			e["matchers"] != `{alertname="HighMemory"}` || e["ends_at"] != "2026-11-01T13:00:00Z" {
			t.Errorf("event %d: %v, want %+v", i, e, w)
		}
	}
	metrics := is.metrics(t)
	for _, s := range []string{`security_events_total{kind="silence_created"} 2`, `security_events_total{kind="silence_expired"} 1`} {
		if !strings.Contains(metrics, s) {
			t.Errorf("metrics lack %s:\n%s", s, grepLines(metrics, "security_events"))
		}
	}
}
