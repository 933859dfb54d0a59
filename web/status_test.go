package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/collector"
	"atroz/store"

	"go.yaml.in/yaml/v3"
)

// statusServer is a Server with cfg over a fresh store, and a viewer's
// session to ask it with.
type statusServer struct {
	s       *Server
	db      *store.DB
	col     *collector.Collector
	session string
}

func newStatusServer(t *testing.T, cfg Config) *statusServer {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	col := collector.New(db, &collector.Options{DataDir: t.TempDir(), ScrapeInterval: 7 * time.Second})
	cfg.Auth = testAuth
	s, err := New(cfg, testDeps(t, db, col, nil), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return &statusServer{s: s, db: db, col: col, session: login(t, s, "viewer", auth.RoleViewer)}
}

// get asks path with form as a logged-in viewer and decodes the envelope.
func (ss *statusServer) get(t *testing.T, path string, form url.Values) (int, apiBody) {
	t.Helper()
	req := httptest.NewRequest("GET", path+"?"+form.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+ss.session)
	w := httptest.NewRecorder()
	ss.s.Handler().ServeHTTP(w, req)
	var b apiBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("GET %s: not JSON: %s", path, w.Body)
	}
	return w.Code, b
}

var testSettings = []Setting{
	{Name: "listen-addr", Value: ":8080"},
	{Name: "data-retention-days", Value: "90"},
	{Name: "jwt-secret-key", Value: "a-very-long-signing-key-nobody-may-see", Secret: true},
	{Name: "alert-smtp-password", Value: "", Secret: true},
	{Name: "redis-url", Value: "redis://user:hunter2@cache:6379/0"},
	{Name: "alertmanager-url", Value: "http://am1:9093, https://ops:pa55@am2:9093"},
	{Name: "bad-url", Value: "http://user:p%zz@host:1/x"},
	{Name: "hash-url", Value: "http://user:pa#ss@host:2/"},
	{Name: "query-url", Value: "https://hooks.example/x?token=abcd&room=9"},
	{Name: "log-level", Value: "info"},
}

// TestStatusConfig: the settings as YAML in the order given, secrets and
// URL passwords hidden, an unset secret shown empty.
func TestStatusConfig(t *testing.T) {
	ss := newStatusServer(t, Config{Settings: testSettings})
	code, body := ss.get(t, "/api/v1/status/config", nil)
	var data struct {
		YAML string `json:"yaml"`
	}
	if code != http.StatusOK || json.Unmarshal(body.Data, &data) != nil {
		t.Fatalf("status/config: %d %+v", code, body)
	}
	for _, secret := range []string{"nobody-may-see", "hunter2", "pa55", "p%zz", "pa#ss", "abcd"} {
		if strings.Contains(data.YAML, secret) {
			t.Errorf("config shows %q:\n%s", secret, data.YAML)
		}
	}
	var got yaml.Node
	if err := yaml.Unmarshal([]byte(data.YAML), &got); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, data.YAML)
	}
	var m map[string]any
	_ = yaml.Unmarshal([]byte(data.YAML), &m)
	want := map[string]any{
		"listen-addr": ":8080", "data-retention-days": 90, "jwt-secret-key": "<secret>", "alert-smtp-password": "",
		"redis-url": "redis://user:xxxxx@cache:6379/0", "alertmanager-url": "http://am1:9093, https://ops:xxxxx@am2:9093", "log-level": "info",
		"bad-url": "http://xxxxx@host:1", "hash-url": "http://xxxxx@host:2", "query-url": "https://hooks.example/x?room=xxxxx&token=xxxxx",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: %#v, want %#v", k, m[k], v)
		}
	}
	if keys := got.Content[0].Content; keys[0].Value != "listen-addr" || keys[len(keys)-2].Value != "log-level" {
		t.Errorf("settings out of order:\n%s", data.YAML)
	}

	empty := newStatusServer(t, Config{})
	if code, body := empty.get(t, "/api/v1/status/config", nil); code != http.StatusOK || string(body.Data) != `{"yaml":"{}\n"}` {
		t.Errorf("no settings: %d %s", code, body.Data)
	}
}

func TestStatusFlags(t *testing.T) {
	ss := newStatusServer(t, Config{Settings: testSettings})
	code, body := ss.get(t, "/api/v1/status/flags", nil)
	var flags map[string]string
	if code != http.StatusOK || json.Unmarshal(body.Data, &flags) != nil {
		t.Fatalf("status/flags: %d %+v", code, body)
	}
	want := map[string]string{"listen-addr": ":8080", "data-retention-days": "90", "jwt-secret-key": "<secret>", "alert-smtp-password": "", "redis-url": "redis://user:xxxxx@cache:6379/0", "log-level": "info"}
	for k, v := range want {
		if flags[k] != v {
			t.Errorf("%s: %q, want %q", k, flags[k], v)
		}
	}
	if len(flags) != len(testSettings) {
		t.Errorf("%d flags, want %d", len(flags), len(testSettings))
	}
}

// TestStatusTSDB: the head's figures and the rankings in Prometheus'
// shape, limit honoured, bad limits refused naming it.
func TestStatusTSDB(t *testing.T) {
	ss := newStatusServer(t, Config{})
	now := time.Now().UnixMilli()
	for i, route := range []string{"/a", "/b", "/c"} {
		if err := ss.db.Append(store.Labels{{Name: "__name__", Value: "req_total"}, {Name: "route", Value: route}}, now+int64(i), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.db.Append(store.Labels{{Name: "__name__", Value: "up"}}, now, 1); err != nil {
		t.Fatal(err)
	}
	code, body := ss.get(t, "/api/v1/status/tsdb", url.Values{"limit": {"1"}})
	if code != http.StatusOK {
		t.Fatalf("status/tsdb: %d %+v", code, body)
	}
	var st tsdbStatus
	if err := json.Unmarshal(body.Data, &st); err != nil {
		t.Fatal(err)
	}
	h := st.HeadStats
	if h.NumSeries != 4 || h.NumLabelPairs != 5 || h.ChunkCount != 4 || h.MinTime != now || h.MaxTime != now+2 {
		t.Errorf("headStats %+v", h)
	}
	if len(st.SeriesCountByMetricName) != 1 || st.SeriesCountByMetricName[0] != (tsdbStat{"req_total", 3}) {
		t.Errorf("seriesCountByMetricName %+v", st.SeriesCountByMetricName)
	}
	if len(st.SeriesCountByLabelValuePair) != 1 || st.SeriesCountByLabelValuePair[0] != (tsdbStat{"__name__=req_total", 3}) {
		t.Errorf("seriesCountByLabelValuePair %+v", st.SeriesCountByLabelValuePair)
	}
	if len(st.LabelValueCountByLabelName) != 1 || st.LabelValueCountByLabelName[0] != (tsdbStat{"route", 3}) {
		t.Errorf("labelValueCountByLabelName %+v", st.LabelValueCountByLabelName)
	}
	if len(st.MemoryInBytesByLabelName) != 1 || st.MemoryInBytesByLabelName[0].Name != "__name__" {
		t.Errorf("memoryInBytesByLabelName %+v", st.MemoryInBytesByLabelName)
	}
	if !strings.Contains(string(body.Data), `"headStats":{"numSeries":4,"numLabelPairs":5,"chunkCount":4,`) {
		t.Errorf("shape: %s", body.Data)
	}
	if _, body := ss.get(t, "/api/v1/status/tsdb", nil); strings.Count(string(body.Data), `"name":"route=`) != 3 {
		t.Errorf("default limit of 10 leaves out pairs: %s", body.Data)
	}
	for _, bad := range []string{"0", "-1", "ten", "10001"} {
		code, body := ss.get(t, "/api/v1/status/tsdb", url.Values{"limit": {bad}})
		if code != http.StatusBadRequest || body.ErrorType != "bad_data" || !strings.Contains(body.Error, "limit") {
			t.Errorf("limit=%s: %d %+v", bad, code, body)
		}
	}
}
