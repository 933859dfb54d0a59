package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"atroz/auth"
	"atroz/slo"
	"atroz/store"
)

// TestSLOsAPI: a viewer reads each SLO's exact counts and budget, a
// client without a login gets 401, and a server with no SLOs an empty list.
func TestSLOsAPI(t *testing.T) {
	s, _ := newTestServer(t)
	viewer := login(t, s, "watcher", auth.RoleViewer)
	var computedAt string
	get := func() []slo.Status {
		t.Helper()
		w := asLogin(s, viewer, "GET", "/api/v1/slos", "")
		var out struct {
			Data struct {
				SLOs       []slo.Status `json:"slos"`
				ComputedAt string       `json:"computed_at"`
			} `json:"data"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); w.Code != http.StatusOK || err != nil {
			t.Fatalf("GET /api/v1/slos: %d %s", w.Code, w.Body)
		}
		computedAt = out.Data.ComputedAt
		return out.Data.SLOs
	}
	if got := get(); len(got) != 0 {
		t.Fatalf("no SLOs set: %+v", got)
	}
	// 40 minutes of 100 requests a minute, 2 of them 5xx, up to a minute
	// ago, so the sample appended at now below comes after them.
	start := time.Now().Add(-41 * time.Minute)
	for i := 0; i <= 40; i++ {
		ts := start.Add(time.Duration(i) * time.Minute).UnixMilli()
		for code, v := range map[string]float64{"200": 98 * float64(i), "502": 2 * float64(i)} {
			ls := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: code}, {Name: "service", Value: "shop"}}
			if err := s.db.Append(ls, ts, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.SetSLOs(&slo.File{SLOs: []slo.SLO{{Name: "shop", Service: "shop", Objective: 99, Window: slo.DefaultWindow, Indicator: slo.Availability}}})
	got := get()
	if len(got) != 1 {
		t.Fatalf("statuses %+v, want one", got)
	}
	st := got[0]
	if st.Name != "shop" || st.Service != "shop" || st.Events != (slo.Counts{Bad: 80, All: 4000}) || st.LastHour != st.Events {
		t.Fatalf("status %+v, want 80 bad of 4000 over the window and the hour", st)
	}
	// 2 % bad against a 1 % budget: spent twice over, burning twice too fast.
	if st.SLI == nil || *st.SLI != 0.98 || st.BudgetRemaining == nil || *st.BudgetRemaining != -1 || st.BurnRate == nil || *st.BurnRate != 2 || st.ExhaustedInSeconds != nil {
		t.Errorf("status %+v: want SLI 0.98, budget -1, burn 2, no exhaustion time", st)
	}
	// Within sloMaxAge of the count, another request gets the same count,
	// though a minute more of errors was stored since.
	first := computedAt
	ls := store.Labels{{Name: "__name__", Value: "http_requests_total"}, {Name: "code", Value: "502"}, {Name: "service", Value: "shop"}}
	if err := s.db.Append(ls, time.Now().UnixMilli(), 1000); err != nil {
		t.Fatal(err)
	}
	again := get()
	if computedAt == first && again[0].Events != st.Events {
		t.Errorf("a second request within %s counted again: %+v", sloMaxAge, again[0].Events)
	}
	if w := serveRec(s, httptest.NewRequest("GET", "/api/v1/slos", nil)); w.Code != http.StatusUnauthorized {
		t.Errorf("without a login: %d, want 401", w.Code)
	}
}
