package web

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"atroz/alert"
)

// panelsOf asks the dashboard's panels and returns them by id.
func panelsOf(t *testing.T, is *ingestServer) map[string]Panel {
	t.Helper()
	w := is.do("GET", "/api/v1/dashboard/panels", "")
	var body struct {
		Data []Panel `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); w.Code != http.StatusOK || err != nil {
		t.Fatalf("panels: %d %v %s", w.Code, err, w.Body)
	}
	out := map[string]Panel{}
	for _, p := range body.Data {
		out[p.ID] = p
	}
	return out
}

// TestPanelsFollowLoadedRules: each panel's alert and threshold are the
// loaded rule's, so a rules file that replaces HighLatency moves its line
// and a disabled rule draws none.
func TestPanelsFollowLoadedRules(t *testing.T) {
	is := newIngestServer(t, Config{Development: true})
	if p := panelsOf(t, is)["latency"]; p.Alert != "" || p.Threshold != nil {
		t.Fatalf("without alerting the latency panel draws %q at %v", p.Alert, p.Threshold)
	}
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: mine\n  rules:\n  - alert: HighLatency\n    expr: histogram_quantile(0.95, sum by (le, service, route) (rate(http_request_duration_seconds_bucket[5m]))) > 0.25\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	groups, err := alert.LoadRules(rules, []string{"LowFrameRate"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := alert.NewManager(is.db, is.s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	is.s.SetAlerts(m)
	ps := panelsOf(t, is)
	f := func(id, alertName string, threshold float64) {
		t.Helper()
		p := ps[id]
		if p.Alert != alertName || (p.Threshold == nil) != (threshold < 0) || (p.Threshold != nil && *p.Threshold != threshold) {
			t.Errorf("panel %s draws %q at %v, want %q at %g", id, p.Alert, p.Threshold, alertName, threshold)
		}
	}
	f("latency", "HighLatency", 0.25) // the file's, not the built-in 0.5
	f("errors", "HighErrorRate", 0.01)
	f("memory", "HighMemory", 0.8)
	f("fps", "", -1) // disabled
	f("atroz_latency", "AtroZSlowAPI", 1)
	// The rule compares a share with 75%; the chart, a p75, draws its poor rating.
	f("lcp", "PoorLCP", 4)
	f("inp", "PoorINP", 0.5)
	f("cls", "", -1)
	if r := ps["lcp"].Ratings; r == nil || r.Good != 2.5 || r.Poor != 4 {
		t.Errorf("lcp panel ratings %+v, want good 2.5 and poor 4", r)
	}
	f("requests", "", -1)
}

// TestPanelsKeepOwnServicesApart: the product panels select no series of
// AtroZ's own services, the AtroZ section's request panels select only
// them, and the service filter has a label to match on every panel whose
// series name a service.
func TestPanelsKeepOwnServicesApart(t *testing.T) {
	for _, p := range Panels {
		mine := p.Group == "atroz"
		if strings.Contains(p.Query, "http_requests_total") || strings.Contains(p.Query, "http_request_duration") || strings.Contains(p.Query, "frontend_") {
			sel := map[bool]string{true: own, false: product}[mine]
			if strings.Count(p.Query, "{") != strings.Count(p.Query, sel) {
				t.Errorf("panel %s: every selector must carry %s: %s", p.ID, sel, p.Query)
			}
		}
		if mine && p.Filter != "" {
			t.Errorf("panel %s of the AtroZ section is filtered by %q", p.ID, p.Filter)
		}
		if !mine && (strings.Contains(p.Query, "by (service") || strings.Contains(p.Query, "(le, service")) && p.Filter != "service" {
			t.Errorf("panel %s has series by service but filter %q", p.ID, p.Filter)
		}
	}
}
