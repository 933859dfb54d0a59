package web

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"atroz/alert"
	"atroz/auth"
)

// grafanaClient sends requests the way Grafana's Prometheus data source
// does from its backend: credentials on every request, Grafana's user
// agent and headers, form bodies on POST with keys sorted, GET parameters
// in the order the frontend builds them.
type grafanaClient struct {
	t     *testing.T
	base  string
	http  *http.Client
	auth  func(*http.Request)
	calls int
}

// grafanaAnswer is a decoded answer, kept raw for the shape checks.
type grafanaAnswer struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

// do sends one request and fails the test unless the answer is 2xx JSON
// with status success and a non-null data, as Grafana needs.
func (g *grafanaClient) do(method, path, rawQuery string, form url.Values) grafanaAnswer {
	g.t.Helper()
	g.calls++
	target := g.base + path
	if rawQuery != "" {
		target += "?" + rawQuery
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode()) // url.Values.Encode sorts the keys, as Grafana's backend sends them
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		g.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "Grafana/12.3.0")
	req.Header.Set("X-Grafana-Org-Id", "1")
	req.Header.Set("X-Dashboard-Uid", "atroz-overview")
	req.Header.Set("Accept", "application/json, text/plain, */*")
	g.auth(req)
	resp, err := g.http.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		g.t.Fatalf("%s %s: 429 after %d requests: %s", method, path, g.calls, raw)
	}
	var a grafanaAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		g.t.Fatalf("%s %s: %d, not JSON: %.200s", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode/100 != 2 || a.Status != "success" || len(a.Data) == 0 || string(a.Data) == "null" {
		g.t.Fatalf("%s %s?%s %v: %d %s %s: %s", method, path, rawQuery, form, resp.StatusCode, a.Status, a.ErrorType, a.Error)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		g.t.Fatalf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return a
}

// frontendQuery encodes params in the order given, as the frontend's
// metadata requests do (encodeURIComponent, insertion order).
func frontendQuery(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}

// grafanaSeconds formats a time as Grafana's backend does: float seconds
// without trailing zeros.
func grafanaSeconds(t time.Time) string {
	return fmt.Sprint(float64(t.UnixMilli()) / 1000)
}

// alignDown floors t to a multiple of step, as Grafana aligns a panel's
// range (models/query.go AlignTimeRange).
func alignDown(t time.Time, step time.Duration) time.Time {
	return time.UnixMilli(t.UnixMilli() / step.Milliseconds() * step.Milliseconds())
}

// snapRange is the metadata requests' range: start floored and end
// ceiled to the minute (getRangeSnapInterval at the default cache level),
// in whole seconds.
func snapRange(from, to time.Time) (start, end string) {
	s := from.Unix() / 60 * 60
	e := (to.Unix() + 59) / 60 * 60
	return fmt.Sprint(s), fmt.Sprint(e)
}

// checkMatrix asserts a query_range answer's shape: a matrix whose points
// are [number, "string"] on the step's grid from start to end.
func checkMatrix(t *testing.T, a grafanaAnswer, start, end time.Time, step time.Duration) int {
	t.Helper()
	var d struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(a.Data, &d); err != nil || d.ResultType != "matrix" {
		t.Fatalf("query_range: resultType %q (%v): %.300s", d.ResultType, err, a.Data)
	}
	points := 0
	for _, s := range d.Result {
		if s.Metric == nil {
			t.Fatalf("query_range: series without metric: %.300s", a.Data)
		}
		for _, p := range s.Values {
			ts, isNum := p[0].(float64)
			_, isStr := p[1].(string)
			if !isNum || !isStr {
				t.Fatalf("query_range point %v: want [number, string]", p)
			}
			ms := int64(math.Round(ts * 1000))
			if ms < start.UnixMilli() || ms > end.UnixMilli() || (ms-start.UnixMilli())%step.Milliseconds() != 0 {
				t.Fatalf("query_range point at %v off the grid %v..%v step %v", ts, start, end, step)
			}
			points++
		}
	}
	return points
}

// checkStrings asserts data is a JSON array of strings holding want.
func checkStrings(t *testing.T, what string, a grafanaAnswer, want ...string) []string {
	t.Helper()
	var got []string
	if err := json.Unmarshal(a.Data, &got); err != nil {
		t.Fatalf("%s: data is not an array of strings: %.300s", what, a.Data)
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || g == w
		}
		if !found {
			t.Fatalf("%s: %q missing from %v", what, w, got)
		}
	}
	return got
}

// TestGrafanaDataSource replays what Grafana's Prometheus data source
// sends when the data source is saved and tested, when the query builder
// lists metrics and label values, and when a dashboard of 20 panels or more loads and
// refreshes every 10 s for two minutes: once with a read token as the
// basic-auth password, once as a bearer token. Every answer must be 2xx
// JSON in Prometheus' shape; none may be a 429.
func TestGrafanaDataSource(t *testing.T) {
	ls, c, now := seededAPI(t)
	groups, err := alert.LoadRules("", nil, nil) // the built-in rules, as a server runs them
	if err != nil {
		t.Fatal(err)
	}
	am, err := alert.NewManager(ls.db, ls.s.Query(), groups, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ls.s.SetAlerts(am)
	token := ls.readToken(t, "grafana")
	for _, tc := range []struct {
		name string
		auth func(*http.Request)
	}{
		{"basic auth", func(r *http.Request) { r.SetBasicAuth("grafana", token) }},
		{"bearer", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &grafanaClient{t: t, base: ls.url, http: c, auth: tc.auth}
			grafanaSaveAndTest(t, g, now)
			grafanaQueryBuilder(t, g, now)
			grafanaDashboard(t, g, now)
			t.Logf("%d requests, all answered 2xx", g.calls)
		})
	}
}

// grafanaSaveAndTest: "Save & test" posts 1+1 at time 4 and must get
// exactly 200 with the scalar 2, then reads buildinfo; the data source's
// first use lists recording rules and probes exemplars with start and end
// in milliseconds.
func grafanaSaveAndTest(t *testing.T, g *grafanaClient, now time.Time) {
	a := g.do("POST", "/api/v1/query", "", url.Values{"query": {"1+1"}, "time": {"4"}})
	if want := `{"resultType":"scalar","result":[4,"2"]}`; string(a.Data) != want {
		t.Fatalf("health check 1+1: %s, want %s", a.Data, want)
	}
	a = g.do("GET", "/api/v1/status/buildinfo", "", nil)
	var bi struct {
		GoVersion string `json:"goVersion"`
	}
	if err := json.Unmarshal(a.Data, &bi); err != nil || bi.GoVersion == "" {
		t.Fatalf("buildinfo: %s", a.Data)
	}
	a = g.do("GET", "/api/v1/rules", "", nil)
	var rules struct {
		Groups []json.RawMessage `json:"groups"`
	}
	if err := json.Unmarshal(a.Data, &rules); err != nil || len(rules.Groups) == 0 {
		t.Fatalf("rules: %.300s", a.Data)
	}
	ms := func(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
	g.do("POST", "/api/v1/query_exemplars", "", url.Values{"query": {"test"}, "start": {ms(now.Add(-30 * time.Minute))}, "end": {ms(now)}})
}

// grafanaQueryBuilder: the metrics browser and query builder's lookups,
// with the range snapped to the minute and Grafana's default limit.
func grafanaQueryBuilder(t *testing.T, g *grafanaClient, now time.Time) {
	s, e := snapRange(now.Add(-time.Hour), now)
	const limit = "40000"
	checkStrings(t, "metric names", g.do("GET", "/api/v1/label/__name__/values", frontendQuery("limit", limit, "start", s, "end", e), nil),
		"demo_requests_total")
	checkStrings(t, "label names", g.do("POST", "/api/v1/labels", "", url.Values{"limit": {limit}, "start": {s}, "end": {e}}),
		"__name__", "job", "route")
	a := g.do("GET", "/api/v1/metadata", frontendQuery("limit", limit), nil)
	var meta map[string][]struct {
		Type string `json:"type"`
		Help string `json:"help"`
	}
	if err := json.Unmarshal(a.Data, &meta); err != nil || len(meta["http_requests_total"]) == 0 || meta["http_requests_total"][0].Type != "counter" {
		t.Fatalf("metadata: %.300s", a.Data)
	}
	got := checkStrings(t, "metric search", g.do("GET", "/api/v1/label/__name__/values",
		frontendQuery("limit", limit, "start", s, "end", e, "match[]", `{__name__=~".*demo_req.*"}`), nil), "demo_requests_total")
	if len(got) != 1 {
		t.Fatalf("metric search for demo_req: %v, want only demo_requests_total", got)
	}
	sel := `{__name__="demo_requests_total"}`
	got = checkStrings(t, "labels of a metric", g.do("POST", "/api/v1/labels", "", url.Values{"limit": {limit}, "start": {s}, "end": {e}, "match[]": {sel}}),
		"__name__", "job", "route")
	if len(got) != 3 {
		t.Fatalf("labels of demo_requests_total: %v, want __name__, job, route", got)
	}
	got = checkStrings(t, "label values", g.do("GET", "/api/v1/label/route/values", frontendQuery("limit", limit, "start", s, "end", e, "match[]", sel), nil), "/a", "/b")
	if len(got) != 2 {
		t.Fatalf("route values of demo_requests_total: %v, want /a and /b", got)
	}
	a = g.do("POST", "/api/v1/series", "", url.Values{"start": {s}, "end": {e}, "match[]": {sel}, "limit": {limit}})
	var series []map[string]string
	if err := json.Unmarshal(a.Data, &series); err != nil || len(series) != 2 || series[0]["__name__"] != "demo_requests_total" {
		t.Fatalf("series: %.300s", a.Data)
	}
}

// grafanaPanels are the panels of the replayed dashboard: the built-in
// dashboard's queries, then queries of the seeded demo series with
// Grafana's $__rate_interval expanded, 20 panels at least.
func grafanaPanels() []string {
	panels := make([]string, 0, len(Panels)+8)
	for _, p := range Panels {
		panels = append(panels, p.Query)
	}
	return append(panels,
		`sum by (route) (rate(demo_requests_total[1m0s]))`,
		`sum(increase(demo_requests_total[5m]))`,
		`demo_requests_total{route="/a"}`,
		`max_over_time(demo_requests_total[5m])`,
		`count(demo_requests_total)`,
		`topk(1, demo_requests_total)`,
		`rate(http_requests_total[1m0s])`,
		`sum(rate(http_request_duration_seconds_count[1m0s]))`,
	)
}

// grafanaDashboard loads a dashboard of 20 panels or more over the last hour and
// refreshes it every 10 s for two minutes: each panel a range query on
// the aligned range with exemplars on, and the first two panels also an
// instant query ("Both").
func grafanaDashboard(t *testing.T, g *grafanaClient, now time.Time) {
	panels := grafanaPanels()
	if len(panels) < 20 {
		t.Fatalf("%d panels, want 20 or more", len(panels))
	}
	const step = 15 * time.Second // an hour over a ~1,000-pixel panel: Grafana's 15 s floor
	demoPoints := 0
	for refresh := 0; refresh <= 12; refresh++ {
		to := now.Add(time.Duration(refresh) * 10 * time.Second)
		start, end := alignDown(to.Add(-time.Hour), step), alignDown(to, step)
		for i, q := range panels {
			form := url.Values{"query": {q}, "start": {grafanaSeconds(start)}, "end": {grafanaSeconds(end)}, "step": {"15"}}
			n := checkMatrix(t, g.do("POST", "/api/v1/query_range", "", form), start, end, step)
			if strings.Contains(q, "demo_requests_total") {
				demoPoints += n
			}
			g.do("POST", "/api/v1/query_exemplars", "", url.Values{"query": {q}, "start": {grafanaSeconds(start)}, "end": {grafanaSeconds(end)}})
			if i < 2 {
				g.do("POST", "/api/v1/query", "", url.Values{"query": {q}, "time": {grafanaSeconds(to)}})
			}
		}
	}
	if demoPoints == 0 {
		t.Fatal("no panel over the seeded series answered a point")
	}
}

// readToken creates a read-scoped API token the way an admin would for
// Grafana, through the admin API, and returns its secret.
func (ls *liveServer) readToken(t *testing.T, name string) string {
	t.Helper()
	admin := login(t, ls.s, "admin-"+name, auth.RoleAdmin)
	req, err := http.NewRequest("POST", ls.url+"/api/v1/admin/tokens", strings.NewReader(`{"name":"`+name+`","scopes":["read"]}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			Token  string   `json:"token"`
			Scopes []string `json:"scopes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusCreated || body.Data.Token == "" {
		t.Fatalf("create token %q: %d %v %+v", name, resp.StatusCode, err, body)
	}
	return body.Data.Token
}
