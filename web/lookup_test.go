package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

// TestLookupRangeAndLimit: series, label names and label values keep the
// series with samples between start and end, cut to limit with
// Prometheus' warning, and refuse bad values naming the parameter.
func TestLookupRangeAndLimit(t *testing.T) {
	ls, c, now := seededAPI(t) // demo_requests_total over the last 30 minutes
	old := store.Labels{{Name: "__name__", Value: "old_metric"}, {Name: "era", Value: "past"}}
	if err := ls.db.Append(old, now.Add(-3*time.Hour).UnixMilli(), 1); err != nil {
		t.Fatal(err)
	}
	sec := func(d time.Duration) string { return fmt.Sprint(now.Add(d).Unix()) }
	f := func(path string, form url.Values, want []string, truncated bool) {
		t.Helper()
		code, body := ls.api(t, c, "GET", path, form)
		if code != http.StatusOK {
			t.Fatalf("%s %v: %d %+v", path, form, code, body)
		}
		var got []string
		if strings.HasPrefix(string(body.Data), "[{") { // series: their names
			var series []map[string]string
			_ = json.Unmarshal(body.Data, &series)
			for _, s := range series {
				got = append(got, s["__name__"]+s["route"])
			}
		} else if err := json.Unmarshal(body.Data, &got); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s %v: %v, want %v", path, form, got, want)
		}
		if warned := slices.Contains(body.Warnings, "results truncated due to limit"); warned != truncated {
			t.Errorf("%s %v: warnings %v, truncated %v", path, form, body.Warnings, truncated)
		}
	}
	all := `{__name__=~".+_(total|metric)"}`
	f("/api/v1/series", url.Values{"match[]": {all}}, []string{"demo_requests_total/a", "demo_requests_total/b", "old_metric"}, false)
	f("/api/v1/series", url.Values{"match[]": {all}, "start": {sec(-time.Hour)}}, []string{"demo_requests_total/a", "demo_requests_total/b"}, false)
	f("/api/v1/series", url.Values{"match[]": {all}, "start": {sec(-4 * time.Hour)}, "end": {sec(-2 * time.Hour)}}, []string{"old_metric"}, false)
	f("/api/v1/series", url.Values{"match[]": {all}, "end": {sec(-2 * time.Hour)}}, []string{"old_metric"}, false)
	f("/api/v1/series", url.Values{"match[]": {all}, "start": {sec(-2 * time.Hour)}, "end": {sec(-time.Hour)}}, nil, false)
	f("/api/v1/series", url.Values{"match[]": {all}, "limit": {"2"}}, []string{"demo_requests_total/a", "demo_requests_total/b"}, true)
	f("/api/v1/series", url.Values{"match[]": {all}, "limit": {"3"}}, []string{"demo_requests_total/a", "demo_requests_total/b", "old_metric"}, false)
	f("/api/v1/labels", url.Values{"match[]": {all}}, []string{"__name__", "era", "job", "route"}, false)
	f("/api/v1/labels", url.Values{"match[]": {all}, "start": {sec(-time.Hour)}, "end": {sec(0)}}, []string{"__name__", "job", "route"}, false)
	f("/api/v1/labels", url.Values{"match[]": {all}, "start": {sec(-time.Hour)}, "limit": {"1"}}, []string{"__name__"}, true)
	f("/api/v1/label/__name__/values", url.Values{"match[]": {all}, "start": {now.Add(-time.Hour).UTC().Format(time.RFC3339)}}, []string{"demo_requests_total"}, false)
	f("/api/v1/label/__name__/values", url.Values{"match[]": {all}, "end": {sec(-2 * time.Hour)}}, []string{"old_metric"}, false)
	f("/api/v1/label/route/values", url.Values{"limit": {"1"}}, []string{"/a"}, true)
	f("/api/v1/label/route/values", url.Values{"start": {sec(-time.Hour)}, "limit": {"0"}}, []string{"/a", "/b"}, false)

	bad := func(path string, form url.Values, param string) {
		t.Helper()
		code, body := ls.api(t, c, "GET", path, form)
		if code != http.StatusBadRequest || body.ErrorType != "bad_data" || !strings.Contains(body.Error, `"`+param+`"`) {
			t.Errorf("%s %v: %d %+v, want 400 naming %s", path, form, code, body, param)
		}
	}
	for _, path := range []string{"/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values"} {
		m := url.Values{"match[]": {all}}
		with := func(k, v string) url.Values {
			out := url.Values{}
			for mk, mv := range m {
				out[mk] = mv
			}
			out.Set(k, v)
			return out
		}
		bad(path, with("start", "yesterday"), "start")
		bad(path, with("end", "soon"), "end")
		bad(path, with("limit", "-1"), "limit")
		bad(path, with("limit", "many"), "limit")
		bad(path, url.Values{"match[]": {all}, "start": {sec(0)}, "end": {sec(-time.Minute)}}, "end")
	}
}

// TestQueryStats: stats asks for the engine's statistics in Prometheus'
// shape, per step with stats=all; without it the answer has none.
func TestQueryStats(t *testing.T) {
	ls, c, now := seededAPI(t)
	type statsData struct {
		Stats *struct {
			Timings map[string]float64 `json:"timings"`
			Samples struct {
				TotalQueryableSamples        int64 `json:"totalQueryableSamples"`
				PeakSamples                  int   `json:"peakSamples"`
				TotalQueryableSamplesPerStep []any `json:"totalQueryableSamplesPerStep"`
			} `json:"samples"`
		} `json:"stats"`
	}
	ask := func(path string, form url.Values) statsData {
		t.Helper()
		code, body := ls.api(t, c, "POST", path, form)
		var d statsData
		if code != http.StatusOK || json.Unmarshal(body.Data, &d) != nil {
			t.Fatalf("%s %v: %d %+v", path, form, code, body)
		}
		return d
	}
	q := `sum(demo_requests_total)`
	d := ask("/api/v1/query", url.Values{"query": {q}, "stats": {"true"}})
	if d.Stats == nil || d.Stats.Samples.TotalQueryableSamples != 2 || d.Stats.Samples.PeakSamples == 0 || d.Stats.Samples.TotalQueryableSamplesPerStep != nil {
		t.Fatalf("instant stats: %+v", d.Stats)
	}
	for _, timer := range []string{"evalTotalTime", "resultSortTime", "queryPreparationTime", "innerEvalTime", "execQueueTime", "execTotalTime"} {
		if _, ok := d.Stats.Timings[timer]; !ok {
			t.Errorf("timings lack %s: %v", timer, d.Stats.Timings)
		}
	}
	rng := url.Values{"query": {q}, "start": {fmt.Sprint(now.Add(-10 * time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"60"}, "stats": {"all"}}
	if d := ask("/api/v1/query_range", rng); d.Stats == nil || len(d.Stats.Samples.TotalQueryableSamplesPerStep) != 11 {
		t.Fatalf("range stats=all: %+v", d.Stats)
	}
	rng.Del("stats")
	if d := ask("/api/v1/query_range", rng); d.Stats != nil {
		t.Errorf("stats without asking: %+v", d.Stats)
	}
}
