package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestTargets: the self-scrape is the one active target, unknown before
// its first scrape, up after a good one; state filters as Prometheus'.
func TestTargets(t *testing.T) {
	ss := newStatusServer(t, Config{})
	targets := func(state string) targetDiscovery {
		t.Helper()
		code, body := ss.get(t, "/api/v1/targets", url.Values{"state": {state}})
		var d targetDiscovery
		if code != http.StatusOK || json.Unmarshal(body.Data, &d) != nil {
			t.Fatalf("targets state=%q: %d %+v", state, code, body)
		}
		return d
	}
	d := targets("")
	if len(d.ActiveTargets) != 1 || d.ActiveTargets[0].Health != "unknown" || d.DroppedTargets == nil || len(d.DroppedTargets) != 0 {
		t.Fatalf("before a scrape: %+v", d)
	}
	if err := ss.col.Scrape(); err != nil {
		t.Fatal(err)
	}
	a := targets("active").ActiveTargets[0]
	if a.Health != "up" || a.LastError != "" || a.LastScrape.IsZero() || a.LastScrapeDuration <= 0 ||
		a.ScrapeInterval != "7s" || a.ScrapeTimeout != "7s" || a.ScrapePool != "atroz" ||
		a.Labels["job"] != "atroz" || a.Labels["instance"] != "example.com" || a.ScrapeURL != "http://example.com/metrics" {
		t.Errorf("after a scrape: %+v", a)
	}
	if d := targets("dropped"); len(d.ActiveTargets) != 0 || d.DroppedTargetCounts["atroz"] != 0 {
		t.Errorf("state=dropped: %+v", d)
	}
	if d := targets("sideways"); len(d.ActiveTargets) != 0 || len(d.DroppedTargets) != 0 {
		t.Errorf("unknown state shows %+v", d)
	}
	_, body := ss.get(t, "/api/v1/targets", nil)
	for _, field := range []string{`"discoveredLabels":`, `"scrapePool":"atroz"`, `"scrapeUrl":`, `"globalUrl":`, `"lastError":""`, `"lastScrape":"`, `"lastScrapeDuration":`, `"health":"up"`, `"scrapeInterval":"7s"`, `"scrapeTimeout":"7s"`, `"droppedTargets":[]`} {
		if !strings.Contains(string(body.Data), field) {
			t.Errorf("targets lack %s: %s", field, body.Data)
		}
	}
}
