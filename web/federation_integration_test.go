package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/model/value"
)

// TestPrometheusFederatesAndRemoteReads runs Debian's Prometheus (2.42)
// against a live AtroZ with a read-scoped token: it federates AtroZ's
// fed_* series from /federate (honor_labels, the token as basic auth's
// password) and remote-reads AtroZ (read_recent, the token as bearer).
// Prometheus' own /api/v1/query and /query_range then answer exactly
// what AtroZ answers for the same queries at the same times: over remote
// read for the history (job="" selects what only remote read brings), and
// over federation for samples appended while it scrapes (job="federate",
// the label federation adds, set aside before comparing).
func TestPrometheusFederatesAndRemoteReads(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	ls := startLive(t, slog.New(slog.DiscardHandler))
	token, err := ls.s.access.CreateToken("prometheus", auth.ScopeRead, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	now := time.Now().Truncate(time.Second)
	seedHistory(t, ls.db, now)

	host := strings.TrimPrefix(ls.url, "http://")
	prom := runPrometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {'match[]': ['{__name__=~"fed_.*"}']}
    basic_auth: {username: prometheus, password: %q}
    static_configs: [{targets: [%q]}]
remote_read:
  - url: http://%s/api/v1/read
    read_recent: true
    authorization: {credentials: %q}
`, token, host, host, token))
	atroz := func(path string, form url.Values) string { return ask(t, c, ls.url, token, path, form, "") }
	promQL := func(path string, form url.Values, drop string) string { return ask(t, c, prom, "", path, form, drop) }

	// Remote read: the history Prometheus never scraped.
	for _, q := range []string{
		`fed_gauge{job=""}`,
		`sum by (k) (fed_gauge{job=""})`,
		`rate(fed_requests_total{job=""}[1m])`,
		`max_over_time(fed_gauge{job=""}[2m])`,
		`fed_gauge{job="",k=~"a|gone"} * 2`,
		`count(fed_gauge{job="",k!="b"})`,
	} {
		for _, at := range []time.Duration{-15 * time.Minute, -9*time.Minute - 500*time.Millisecond, -4 * time.Minute, -time.Second} {
			form := url.Values{"query": {q}, "time": {unixSeconds(now.Add(at))}}
			a, p := atroz("/api/v1/query", form), promQL("/api/v1/query", form, "")
			if !strings.Contains(a, `"]`) {
				t.Fatalf("%s at %s: AtroZ answers nothing to compare:\n%s", q, at, a)
			}
			if a != p {
				t.Errorf("%s at %s: AtroZ answers\n%s\nPrometheus over remote read\n%s", q, at, a, p)
			}
		}
		form := url.Values{"query": {q}, "start": {unixSeconds(now.Add(-16 * time.Minute))}, "end": {unixSeconds(now.Add(-2 * time.Minute))}, "step": {"17"}}
		if a, p := atroz("/api/v1/query_range", form), promQL("/api/v1/query_range", form, ""); a != p {
			t.Errorf("range %s: AtroZ answers\n%s\nPrometheus over remote read\n%s", q, a, p)
		}
	}

	// Federation: each sample appended now reaches Prometheus' own storage
	// with its time, before the next is appended. Sample times end in 7 ms
	// and query times in 0 or 5, so no sample lies on a window's edge,
	// which Prometheus 2 includes and 3 leaves out.
	live := store.Labels{{Name: "__name__", Value: "fed_live"}, {Name: "k", Value: "x"}}
	var times []time.Time
	for i := range 5 {
		at := time.UnixMilli(time.Now().UnixMilli()/10*10 - 3)
		if err := ls.db.Append(live, at.UnixMilli(), float64(i)*1.5+0.1); err != nil {
			t.Fatal(err)
		}
		times = append(times, at)
		extserver.Eventually(t, 30*time.Second, "Prometheus federates sample "+fmt.Sprint(i), func() bool {
			v, ok := promValue(c, prom, `timestamp(fed_live{job="federate"})`)
			return ok && v == float64(at.UnixMilli())/1000
		})
	}
	if v, ok := promValue(c, prom, `up{job="federate"}`); !ok || v != 1 {
		t.Error(`Prometheus' federation target is not up`)
	}
	start, end := times[0].Truncate(time.Second).Add(-time.Second), times[len(times)-1].Add(time.Second)
	for _, q := range []string{`fed_live%s`, `fed_live%s + 1`, `max_over_time(fed_live%s[3s])`} {
		form := func(sel string) url.Values {
			return url.Values{"query": {fmt.Sprintf(q, sel)}, "start": {unixSeconds(start)}, "end": {unixSeconds(end)}, "step": {"0.25"}}
		}
		if a, p := atroz("/api/v1/query_range", form("")), promQL("/api/v1/query_range", form(`{job="federate"}`), "job"); a != p {
			t.Errorf("range %s: AtroZ answers\n%s\nPrometheus over federation\n%s", q, a, p)
		}
		for _, at := range times {
			f := form(`{job="federate"}`)
			instant := url.Values{"query": f["query"], "time": {unixSeconds(at.Add(8 * time.Millisecond))}}
			plain := url.Values{"query": {fmt.Sprintf(q, "")}, "time": instant["time"]}
			if a, p := atroz("/api/v1/query", plain), promQL("/api/v1/query", instant, "job"); a != p {
				t.Errorf("%s at %s: AtroZ answers\n%s\nPrometheus over federation\n%s", q, at, a, p)
			}
		}
	}
}

// seedHistory appends, over the 20 minutes before now, a sample every 5 s
// at 137 ms past the second (off every query's boundaries, where
// Prometheus 2 and 3 differ): fed_gauge{k="a"|"b"|"gone"}, the last ended
// by a staleness marker six minutes before now, and a counter
// fed_requests_total{k="a"} with a reset.
func seedHistory(t *testing.T, db *store.DB, now time.Time) {
	t.Helper()
	series := func(name, k string) store.Labels {
		return store.Labels{{Name: "__name__", Value: name}, {Name: "k", Value: k}}
	}
	for i := range 240 {
		at := now.Add(-20 * time.Minute).Add(time.Duration(i)*5*time.Second + 137*time.Millisecond)
		app := func(ls store.Labels, v float64) {
			t.Helper()
			if err := db.Append(ls, at.UnixMilli(), v); err != nil {
				t.Fatal(err)
			}
		}
		app(series("fed_gauge", "a"), math.Sin(float64(i)/7)*100)
		app(series("fed_gauge", "b"), float64(i%13)/3)
		switch gone := at.After(now.Add(-6 * time.Minute)); {
		case !gone:
			app(series("fed_gauge", "gone"), float64(i)*0.1)
		case at.Before(now.Add(-6*time.Minute + 5*time.Second)):
			app(series("fed_gauge", "gone"), math.Float64frombits(value.StaleNaN))
		}
		app(series("fed_requests_total", "a"), float64((i%100)*(i%100))+0.5)
	}
}

// unixSeconds is t as the API's time parameters take it.
func unixSeconds(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000) }

// ask sends a query to base (with a bearer token when given) and returns
// its answer in a canonical form: the result type, then each series with
// its labels (drop removed) and its points, sorted.
func ask(t *testing.T, c *http.Client, base, token, path string, form url.Values, drop string) string {
	t.Helper()
	req, err := http.NewRequest("GET", base+path+"?"+form.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     json.RawMessage
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("%s%s %v: %d %v %s", base, path, form, resp.StatusCode, err, body.Error)
	}
	if body.Data.ResultType == "scalar" || body.Data.ResultType == "string" {
		return body.Data.ResultType + " " + string(body.Data.Result)
	}
	var series []struct {
		Metric map[string]string `json:"metric"`
		Value  []any             `json:"value"`
		Values [][]any           `json:"values"`
	}
	if err := json.Unmarshal(body.Data.Result, &series); err != nil {
		t.Fatal(err)
	}
	lines := []string{}
	for _, s := range series {
		delete(s.Metric, drop)
		points, _ := json.Marshal(append(s.Values, s.Value))
		labels, _ := json.Marshal(s.Metric)
		lines = append(lines, string(labels)+" "+string(points))
	}
	slices.Sort(lines)
	return body.Data.ResultType + "\n" + strings.Join(lines, "\n")
}
