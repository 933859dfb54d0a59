package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/gin-gonic/gin"
)

// apiBody is the envelope of every Prometheus API answer.
type apiBody struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (ls *liveServer) api(t *testing.T, c *http.Client, method, path string, form url.Values) (int, apiBody) {
	t.Helper()
	var req *http.Request
	var err error
	if method == "POST" {
		req, err = http.NewRequest("POST", ls.url+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest("GET", ls.url+path+"?"+form.Encode(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+ls.session)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var b apiBody
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return resp.StatusCode, b
}

// seededAPI starts a live server holding seedSeries' data and returns it,
// a client whose idle connections close with the test, and the seed's now.
func seededAPI(t *testing.T) (*liveServer, *http.Client, time.Time) {
	t.Helper()
	ls := startLive(t, slog.New(slog.DiscardHandler))
	now := time.Now()
	seedSeries(t, ls.db, now)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return ls, &http.Client{Timeout: 10 * time.Second, Transport: tr}, now
}

func seedSeries(t testing.TB, db *store.DB, now time.Time) {
	t.Helper()
	for _, route := range []string{"/a", "/b"} {
		ls := store.Labels{{Name: "__name__", Value: "demo_requests_total"}, {Name: "route", Value: route}, {Name: "job", Value: "demo"}}
		for i := 0; i < 120; i++ {
			ts := now.Add(-30 * time.Minute).Add(time.Duration(i) * 15 * time.Second)
			if err := db.Append(ls, ts.UnixMilli(), float64(i*10)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestQueryRangeAsGrafana posts a range query as Grafana's Prometheus data
// source does (form body, unix-second start and end, step in seconds) and
// checks the answer's shape field by field.
func TestQueryRangeAsGrafana(t *testing.T) {
	ls, c, now := seededAPI(t)
	start, end := now.Add(-20*time.Minute).Unix(), now.Unix()
	code, body := ls.api(t, c, "POST", "/api/v1/query_range", url.Values{
		"query": {`sum by (route) (rate(demo_requests_total[5m]))`},
		"start": {fmt.Sprint(start)}, "end": {fmt.Sprint(end)}, "step": {"60"},
	})
	if code != http.StatusOK || body.Status != "success" {
		t.Fatalf("query_range: %d %+v", code, body)
	}
	var data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.ResultType != "matrix" || len(data.Result) != 2 {
		t.Fatalf("resultType %q with %d series", data.ResultType, len(data.Result))
	}
	for i, s := range data.Result {
		if want := []string{"/a", "/b"}[i]; s.Metric["route"] != want || len(s.Metric) != 1 {
			t.Errorf("series %d metric %v, want only route=%s", i, s.Metric, want)
		}
		if len(s.Values) != 21 {
			t.Errorf("series %d: %d points, want 21 (20 minutes at 60 s, both ends)", i, len(s.Values))
		}
		for j, p := range s.Values {
			ts, isNum := p[0].(float64)
			v, isStr := p[1].(string)
			if !isNum || !isStr || int64(ts) != start+int64(j)*60 {
				t.Fatalf("point %v: want [unix seconds number, value string] at %d", p, start+int64(j)*60)
			}
			if f, err := strconv.ParseFloat(v, 64); err != nil || math.Abs(f-10.0/15) > 1e-9 { // 10 per 15 s
				t.Fatalf("rate %s, want 0.666…", v)
			}
		}
	}
}

func TestPrometheusAPIEndpoints(t *testing.T) {
	ls, c, now := seededAPI(t)
	f := func(method, path string, form url.Values, wantCode int, wantData string) {
		t.Helper()
		code, body := ls.api(t, c, method, path, form)
		got := string(body.Data)
		if body.Status == "error" {
			got = body.ErrorType + ": " + body.Error
		}
		if code != wantCode || !strings.Contains(got, wantData) {
			t.Fatalf("%s %s %v: %d %s\nwant %d containing %s", method, path, form, code, got, wantCode, wantData)
		}
	}
	rfc := now.UTC().Format(time.RFC3339Nano)
	f("GET", "/api/v1/query", url.Values{"query": {`demo_requests_total{route="/a"}`}, "time": {rfc}}, 200, `{"resultType":"vector","result":[{"metric":{"__name__":"demo_requests_total","job":"demo","route":"/a"},"value":[`)
	f("POST", "/api/v1/query", url.Values{"query": {`count(demo_requests_total)`}}, 200, `"value":[`)
	f("GET", "/api/v1/query", url.Values{"query": {`scalar(count(demo_requests_total))`}}, 200, `"resultType":"scalar","result":[`)
	f("GET", "/api/v1/query", url.Values{"query": {`"hello"`}}, 200, `"resultType":"string"`)
	f("GET", "/api/v1/series", url.Values{"match[]": {`demo_requests_total`, `{route="/b"}`}}, 200, `[{"__name__":"demo_requests_total","job":"demo","route":"/a"},{"__name__":"demo_requests_total","job":"demo","route":"/b"}]`)
	f("GET", "/api/v1/labels", nil, 200, `["__name__","job","route"`)
	f("GET", "/api/v1/label/route/values", url.Values{"match[]": {`demo_requests_total`}}, 200, `["/a","/b"]`)
	f("GET", "/api/v1/label/__name__/values", nil, 200, `"demo_requests_total"`)
	f("GET", "/api/v1/metadata", url.Values{"metric": {"http_requests_total"}}, 200, `{"http_requests_total":[{"help":"HTTP requests served by AtroZ or reported by other services.","type":"counter","unit":""}]}`)
	f("GET", "/api/v1/status/buildinfo", nil, 200, `"goVersion":"go1.`)
	f("GET", "/api/v1/format_query", url.Values{"query": {`sum by(route)(rate(demo_requests_total{route="/a"}[5m]))`}}, 200, `"sum by (route) (rate(demo_requests_total{route=\"/a\"}[5m]))"`)
	f("POST", "/api/v1/format_query", url.Values{"query": {`sum(`}}, 400, `bad_data: invalid parameter "query"`)
	f("GET", "/api/v1/query_exemplars", url.Values{"query": {`demo_requests_total`}, "start": {"1"}, "end": {"2"}}, 200, `[]`)
	f("POST", "/api/v1/query_exemplars", url.Values{"query": {`{`}}, 400, `bad_data: invalid parameter "query"`)
	f("GET", "/api/v1/status/runtimeinfo", nil, 200, `"GOMAXPROCS":`)
	f("GET", "/api/v1/status/runtimeinfo", nil, 200, `"reloadConfigSuccess":true`)
	// Errors, in Prometheus' types and codes.
	f("GET", "/api/v1/query", url.Values{"query": {`sum(`}}, 400, "bad_data: bad query")
	f("GET", "/api/v1/query", nil, 400, "bad_data: query is required")
	f("GET", "/api/v1/query", url.Values{"query": {`up`}, "time": {"yesterday"}}, 400, `bad_data: invalid parameter "time": cannot parse "yesterday"`)
	f("GET", "/api/v1/query_range", url.Values{"query": {`up`}, "start": {"1"}, "end": {"2"}}, 400, `bad_data: invalid parameter "step"`)
	f("GET", "/api/v1/query_range", url.Values{"query": {`up`}, "start": {"1"}, "end": {"100000"}, "step": {"1"}}, 400, "exceeded maximum resolution of 11000 points per timeseries")
	f("GET", "/api/v1/query_range", url.Values{"query": {`up`}, "start": {"10"}, "end": {"1"}, "step": {"1"}}, 400, "end timestamp must not be before start time")
	f("GET", "/api/v1/query", url.Values{"query": {`demo_requests_total`}, "timeout": {"0.000000001"}}, 503, "timeout")
	f("GET", "/api/v1/series", nil, 400, "no match[] parameter provided")
	f("GET", "/api/v1/series", url.Values{"match[]": {`{`}}, 400, `invalid parameter "match[]"`)
}

// TestMethodNotAllowed: a known path asked with a method it lacks answers
// 405 with Allow and an error body, as Prometheus does; an unknown path
// stays 404.
func TestMethodNotAllowed(t *testing.T) {
	ls := startLive(t, slog.New(slog.DiscardHandler))
	req, _ := http.NewRequest(http.MethodDelete, ls.url+"/api/v1/query?query=up", nil)
	req.Header.Set("Authorization", "Bearer "+ls.session)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b apiBody
	_ = json.NewDecoder(resp.Body).Decode(&b)
	if resp.StatusCode != http.StatusMethodNotAllowed || b.ErrorType != "method_not_allowed" || !strings.Contains(resp.Header.Get("Allow"), "GET") || !strings.Contains(resp.Header.Get("Allow"), "POST") {
		t.Fatalf("DELETE /api/v1/query: %d Allow %q %+v", resp.StatusCode, resp.Header.Get("Allow"), b)
	}
}

// TestMaxSourceResolution: answers are raw by default and carry no
// warning; max_source_resolution asks for rollups and the answer names
// the tier; a value that is none of raw, auto or a duration is refused.
func TestMaxSourceResolution(t *testing.T) {
	ls, c, now := seededAPI(t)
	form := func(res string) url.Values {
		v := url.Values{"query": {`max_over_time(demo_requests_total[5m])`}, "start": {fmt.Sprint(now.Add(-20 * time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"60"}}
		if res != "" {
			v.Set("max_source_resolution", res)
		}
		return v
	}
	warnings := func(res string) []string {
		t.Helper()
		code, body := ls.api(t, c, "POST", "/api/v1/query_range", form(res))
		if code != http.StatusOK {
			t.Fatalf("max_source_resolution=%q: %d %+v", res, code, body)
		}
		return body.Warnings
	}
	if w := warnings(""); len(w) != 0 {
		t.Errorf("default answer warns %v", w)
	}
	if w := warnings("raw"); len(w) != 0 {
		t.Errorf("raw answer warns %v", w)
	}
	if w := strings.Join(warnings("1m"), " "); !strings.Contains(w, "1-minute rollups served part of this answer") {
		t.Errorf("1m answer warns %q, want the tier named", w)
	}
	code, body := ls.api(t, c, "GET", "/api/v1/query_range", form("fastest"))
	if code != http.StatusBadRequest || body.ErrorType != "bad_data" || !strings.Contains(body.Error, "max_source_resolution") {
		t.Errorf("bad max_source_resolution: %d %+v", code, body)
	}
	code, body = ls.api(t, c, "GET", "/api/v1/query", url.Values{"query": {"demo_requests_total"}, "max_source_resolution": {"10x"}})
	if code != http.StatusBadRequest || !strings.Contains(body.Error, "max_source_resolution") {
		t.Errorf("bad max_source_resolution on /query: %d %+v", code, body)
	}
}

// TestTimeParamMilliseconds: a time in unix seconds is rounded to the
// millisecond, as Prometheus rounds it, though its float is a hair under.
func TestTimeParamMilliseconds(t *testing.T) {
	f := func(in string, want int64) {
		t.Helper()
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("GET", "/?time="+url.QueryEscape(in), nil)
		got, err := timeParam(c, "time", time.Time{})
		if err != nil || got.UnixMilli() != want || got.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("%s: %v (%d ms), %v; want %d ms", in, got, got.UnixMilli(), err, want)
		}
	}
	f("1796171891.033", 1796171891033)
	f("1796171891.0329", 1796171891033)
	f("1796171891", 1796171891000)
	f("-1.5", -1500)
	f("2026-12-02T00:38:11.033Z", 1796171891033)
}
