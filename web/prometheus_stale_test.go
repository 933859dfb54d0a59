package web

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"atroz/internal/extserver"
	"atroz/store"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// TestRealPrometheusStalenessEndsSeries has Debian's Prometheus scrape a
// target that then dies, and remote-write into AtroZ. Prometheus writes a
// staleness marker for each of the target's series; AtroZ stores it, so its
// own query stops finding the dead target's series at once, as Prometheus'
// does, where the last value used to linger for five minutes.
func TestRealPrometheusStalenessEndsSeries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Prometheus server")
	}
	ls := startLive(t, slog.New(slog.DiscardHandler))
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "vanishing_jobs 3")
	}))
	atroz := strings.TrimPrefix(ls.url, "http://")
	runPrometheus(t, fmt.Sprintf(`global: {scrape_interval: 1s}
scrape_configs:
  - job_name: dying
    static_configs: [{targets: [%q]}]
remote_write:
  - url: http://%s/api/v1/write
    authorization: {credentials: %q}
    queue_config: {batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
`, strings.TrimPrefix(target.URL, "http://"), atroz, ls.token))
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	last := func() (store.Sample, bool) {
		got, err := ls.db.Select(store.Query{MinT: time.Now().Add(-time.Hour).UnixMilli(), MaxT: time.Now().UnixMilli() + 1000, Matchers: []*labels.Matcher{m("__name__", "vanishing_jobs")}})
		if err != nil || len(got) != 1 || len(got[0].Samples) == 0 {
			return store.Sample{}, false
		}
		return got[0].Samples[len(got[0].Samples)-1], true
	}
	extserver.Eventually(t, 30*time.Second, "the target's samples land in AtroZ", func() bool {
		s, ok := last()
		return ok && s.V == 3 && atrozQuery(t, c, ls, "vanishing_jobs") == "3"
	})
	target.Close()
	extserver.Eventually(t, 30*time.Second, "AtroZ stores the staleness marker Prometheus writes for the dead target", func() bool {
		s, ok := last()
		return ok && value.IsStaleNaN(s.V)
	})
	if got := atrozQuery(t, c, ls, "vanishing_jobs"); got != "" {
		t.Fatalf("AtroZ still answers %s for the dead target's series", got)
	}
	if got := atrozQuery(t, c, ls, `up{job="dying"}`); got != "0" {
		t.Fatalf(`up{job="dying"} = %q, want 0`, got)
	}
}

// atrozQuery runs an instant query at now on AtroZ's API and returns the
// value of its one series, or "" when it finds none.
func atrozQuery(t *testing.T, c *http.Client, ls *liveServer, q string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", ls.url+"/api/v1/query?query="+url.QueryEscape(q), nil)
	req.Header.Set("Authorization", "Bearer "+ls.session)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("query %s: %d %v", q, resp.StatusCode, err)
	}
	if len(body.Data.Result) != 1 {
		return ""
	}
	return fmt.Sprint(body.Data.Result[0].Value[1])
}
