package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/auth"
	"atroz/internal/extserver"
)

// startVictoriaMetrics runs Debian's VictoriaMetrics single node, whose
// HTTP API is the one a cluster's vminsert and vmselect serve, on a
// loopback port.
func startVictoriaMetrics(t *testing.T) (p *extserver.Process, url, dir string) {
	t.Helper()
	addr, dir := extserver.FreeAddr(t), t.TempDir()
	p = extserver.Start(t, "/usr/bin/victoria-metrics", "victoria-metrics", "http://"+addr+"/health",
		"-httpListenAddr="+addr, "-storageDataPath="+dir, "-retentionPeriod=100y", "-search.latencyOffset=0s",
		"-search.disableCache")
	return p, "http://" + addr, dir
}

// clusterClient talks to one AtroZ with its tokens.
type clusterClient struct {
	base, ingest, read, admin string
	c                         *http.Client
}

// push imports one sample of cluster_test_total and reports whether
// AtroZ acknowledged it.
func (cc *clusterClient) push(t *testing.T, ts time.Time, v int) bool {
	t.Helper()
	return cc.pushAs(t, "push", ts, v)
}

// query runs an instant PromQL query through AtroZ's API and returns the
// status and the answer's data.
func (cc *clusterClient) query(t *testing.T, q string) (int, json.RawMessage) {
	t.Helper()
	code, a := cc.answer(t, q)
	return code, a.Data
}

// queryAnswer is what the query API answers besides its status.
type queryAnswer struct {
	Data  json.RawMessage
	Infos []string
}

// answer runs an instant PromQL query through AtroZ's API and returns the
// status and the whole answer.
func (cc *clusterClient) answer(t *testing.T, q string) (int, queryAnswer) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, cc.base+"/api/v1/query", strings.NewReader(url.Values{"query": {q}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+cc.read)
	resp, err := cc.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var a queryAnswer
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a
}

// pushed returns the values of cluster_test_total over the last hour as
// AtroZ reads them, from its query backend: by time, unix ms.
func (cc *clusterClient) pushed(t *testing.T) map[int64]int {
	t.Helper()
	code, data := cc.query(t, `cluster_test_total{source="push"}[1h]`)
	if code != http.StatusOK {
		return nil
	}
	var m struct {
		Result []struct{ Values [][2]any }
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	out := map[int64]int{}
	for _, s := range m.Result {
		for _, p := range s.Values {
			v, _ := strconv.Atoi(p[1].(string))
			out[int64(p[0].(float64)*1000)] = v
		}
	}
	return out
}

// serveCluster starts `atroz serve` over dir with env added, and returns
// a client with an ingest and a read token made beforehand.
func serveCluster(t *testing.T, dir string, env map[string]string) *clusterClient {
	t.Helper()
	cc := &clusterClient{c: &http.Client{Timeout: 10 * time.Second}}
	withTestAuth(t, dir, func(a *auth.Service) {
		var err error
		if cc.ingest, err = a.CreateToken("pipe", auth.ScopeIngest, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if cc.read, err = a.CreateToken("grafana", auth.ScopeRead, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if cc.admin, err = a.CreateToken("ops", auth.ScopeAdmin, time.Time{}); err != nil {
			t.Fatal(err)
		}
	})
	cc.base = serveDir(t, dir, env)
	return cc
}

// serveDir starts `atroz serve` over dir with env added until the test
// ends, and returns its URL.
func serveDir(t *testing.T, dir string, env map[string]string) string {
	t.Helper()
	env["DATA_DIR"], env["LISTEN_ADDR"], env["SCRAPE_INTERVAL"] = dir, "127.0.0.1:0", "1s"
	m, _, stderr := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr)
		}
	})
	return "http://" + waitListening(t, stderr, done)
}

// TestServeOverVictoriaMetrics runs AtroZ with VictoriaMetrics as its
// query backend and remote-write destination: queries answer from the
// backend, AtroZ's own metrics reach it, and a SIGKILL of the backend for
// 30 s, with samples acknowledged all the while, loses none of them: they
// wait in the outbox and arrive, in order, once it is back.
func TestServeOverVictoriaMetrics(t *testing.T) {
	vm, vmURL, vmDir := startVictoriaMetrics(t)
	cc := serveCluster(t, t.TempDir(), map[string]string{"REMOTE_WRITE_URL": vmURL + "/api/v1/write", "QUERY_BACKEND_URL": vmURL})

	acked := map[int64]int{}
	start := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	next := 0
	pushFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); next++ {
			ts := start.Add(time.Duration(next) * time.Second)
			if cc.push(t, ts, next) {
				acked[ts.UnixMilli()] = next
			}
			time.Sleep(100 * time.Millisecond) // the pace of the traffic, not a wait for a result
		}
	}
	pushFor(2 * time.Second)
	extserver.Eventually(t, 20*time.Second, "the first samples through the backend", func() bool { return len(cc.pushed(t)) == len(acked) })
	extserver.Eventually(t, 20*time.Second, "AtroZ's own metrics in the backend", func() bool {
		code, data := cc.query(t, `count(store_series)`)
		return code == http.StatusOK && strings.Contains(string(data), `"1"`)
	})

	// VictoriaMetrics keeps its newest parts in memory for seconds: a
	// SIGKILL loses those, whoever sent them. So the kill waits until what
	// it held once the first samples were in is on its disk.
	data, index := vmRows(t, vmURL)
	extserver.Eventually(t, 60*time.Second, "VictoriaMetrics to write what it took to disk", func() bool {
		d, i := vmRowsOnDisk(vmDir)
		return d >= data && i >= index
	})
	vm.Kill()
	before := len(acked)
	pushFor(30 * time.Second)
	if len(acked) <= before {
		t.Fatal("no sample acknowledged while the backend was down")
	}
	if code, data := cc.query(t, `cluster_test_total`); code != http.StatusServiceUnavailable {
		t.Errorf("a query with the backend down answered %d, want 503: %s", code, data)
	}
	vm.Restart()
	var got map[int64]int
	for deadline := time.Now().Add(60 * time.Second); len(got) < len(acked) && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond) // polling the backend until the outbox has drained into it
		got = cc.pushed(t)
	}
	var missing []int
	for ts, v := range acked {
		if got[ts] != v {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("acknowledged samples missing from the backend: %v (of %d; the kill came after %d)\n%s", missing, len(acked), before, cc.metrics(t, "remote_write"))
	}
	t.Logf("%d samples acknowledged, %d of them while the backend was down for 30 s; all in the backend", len(acked), len(acked)-before)
}

// TestServeOverPrometheus is the Prometheus recipe of docs/scaling.md:
// AtroZ remote-writes to Debian's Prometheus, whose remote-write receiver
// is on, and forwards its queries to it (Prometheus speaks PromQL, so
// forwarding answers as evaluating would): pushed samples and AtroZ's own
// metrics come back through AtroZ's query API, and the SLO budgets count
// Prometheus' raw samples.
func TestServeOverPrometheus(t *testing.T) {
	prom := extserver.PrometheusReceiver(t)
	cc := serveCluster(t, t.TempDir(), map[string]string{"REMOTE_WRITE_URL": prom + "/api/v1/write", "QUERY_BACKEND_URL": prom, "QUERY_BACKEND_MODE": "forward"})
	start := time.Now().Add(-5 * time.Minute).Truncate(time.Second)
	acked := map[int64]int{}
	for i := range 20 {
		ts := start.Add(time.Duration(i) * time.Second)
		if !cc.push(t, ts, i) {
			t.Fatalf("push %d not acknowledged", i)
		}
		acked[ts.UnixMilli()] = i
	}
	extserver.Eventually(t, 20*time.Second, "the pushed samples through Prometheus", func() bool { return maps.Equal(cc.pushed(t), acked) })
	extserver.Eventually(t, 20*time.Second, "AtroZ's own metrics in Prometheus", func() bool {
		code, data := cc.query(t, `count(store_series)`)
		return code == http.StatusOK && strings.Contains(string(data), `"1"`)
	})
	// A forwarded answer says so, as the backend's language may differ.
	if _, a := cc.answer(t, `count(store_series)`); len(a.Infos) != 1 || !strings.Contains(a.Infos[0], "QUERY_BACKEND_MODE=forward") {
		t.Errorf("a forwarded answer's infos: %q", a.Infos)
	}
	req, _ := http.NewRequest(http.MethodGet, cc.base+"/api/v1/slos", nil)
	req.Header.Set("Authorization", "Bearer "+cc.read)
	resp, err := cc.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("SLO budgets over Prometheus: %d", resp.StatusCode)
	}
}

// TestInstancesShareCredentials runs two AtroZ instances, as behind one
// load balancer, over one Redis (STATE_REDIS_URL) and one JWT key: the
// first seeds Redis with its data file's tokens; a token made through
// one instance's API works on the other, and once revoked on one is
// refused by the other at once; an admin's login on one is taken by the
// other, and its logout on the other ends it on both.
func TestInstancesShareCredentials(t *testing.T) {
	redisURL, _ := extserver.Redis(t)
	env := func() map[string]string {
		return map[string]string{"STATE_REDIS_URL": redisURL, "JWT_SECRET_KEY": "a shared signing key of 32 bytes or more", "ADMIN_PASSWORD_FILE": ""}
	}
	a := serveCluster(t, t.TempDir(), env())
	b := &clusterClient{base: serveDir(t, t.TempDir(), env()), ingest: a.ingest, read: a.read, c: a.c}
	do := func(cc *clusterClient, method, path, bearer, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, cc.base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		resp, err := cc.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	if code, body := do(b, http.MethodGet, "/api/v1/labels", a.read, ""); code != http.StatusOK {
		t.Fatalf("a seeded token on the second instance: %d %s", code, body)
	}

	// An admin logs in on a, with a user made on b's command line.
	m, _, stderr := testMain(map[string]string{"DATA_DIR": t.TempDir(), "STATE_REDIS_URL": redisURL})
	add := &UserCommand{Env: m.Env, Stdin: strings.NewReader("admin password 123\n")}
	if err := add.Run(context.Background(), []string{"add", "-role", "admin", "ops"}); err != nil {
		t.Fatalf("user add: %v\n%s", err, stderr)
	}
	code, body := do(a, http.MethodPost, "/api/v1/auth/login", "", `{"username":"ops","password":"admin password 123"}`)
	var login struct{ Data struct{ Token string } }
	if err := json.Unmarshal([]byte(body), &login); code != http.StatusOK || err != nil || login.Data.Token == "" {
		t.Fatalf("login on the first instance: %d %s", code, body)
	}
	jwt := login.Data.Token

	code, body = do(b, http.MethodPost, "/api/v1/admin/tokens", jwt, `{"name":"shared","scopes":["read"]}`)
	var made struct{ Data struct{ Token string } }
	if err := json.Unmarshal([]byte(body), &made); code != http.StatusCreated || err != nil {
		t.Fatalf("a token made on the second instance with the first's login: %d %s", code, body)
	}
	if code, body := do(a, http.MethodGet, "/api/v1/labels", made.Data.Token, ""); code != http.StatusOK {
		t.Fatalf("that token on the first instance: %d %s", code, body)
	}
	if code, body := do(a, http.MethodDelete, "/api/v1/admin/tokens/shared", jwt, ""); code != http.StatusNoContent && code != http.StatusOK {
		t.Fatalf("revoke on the first instance: %d %s", code, body)
	}
	if code, _ := do(b, http.MethodGet, "/api/v1/labels", made.Data.Token, ""); code != http.StatusUnauthorized {
		t.Errorf("a token revoked on the first instance, at once on the second: %d, want 401", code)
	}

	if code, body := do(b, http.MethodPost, "/api/v1/auth/logout", jwt, ""); code/100 != 2 {
		t.Fatalf("logout on the second instance: %d %s", code, body)
	}
	if code, _ := do(a, http.MethodGet, "/api/v1/labels", jwt, ""); code != http.StatusUnauthorized {
		t.Errorf("a login ended on the second instance, on the first: %d, want 401", code)
	}
}

// TestTwoInstancesOverVictoriaMetrics is the recipe of docs/scaling.md
// whole: two AtroZ behind one (imagined) load balancer, over Debian's
// VictoriaMetrics as query backend and remote-write destination, Redis
// as shared state and Debian's Alertmanager. Samples pushed to either are
// read the same through both, in both dashboards in a browser, whose
// live push through the second carries both instances' series; an alert
// on them fires on both, but only
// the lease holder sends it to Alertmanager, which holds it once; a token
// revoked on one is refused by the other at once.
func TestTwoInstancesOverVictoriaMetrics(t *testing.T) {
	_, vmURL, _ := startVictoriaMetrics(t)
	redisURL, _ := extserver.Redis(t)
	am := extserver.Alertmanager(t)
	rules := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rules, []byte("groups:\n- name: cluster\n  rules:\n  - alert: ClusterPushes\n    expr: count(cluster_test_total) >= 2\n    labels: {severity: page}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(instance string) map[string]string {
		return map[string]string{"REMOTE_WRITE_URL": vmURL + "/api/v1/write", "QUERY_BACKEND_URL": vmURL, "STATE_REDIS_URL": redisURL,
			"REMOTE_WRITE_EXTERNAL_LABELS": "atroz_instance=" + instance,
			"JWT_SECRET_KEY":               "a shared signing key of 32 bytes or more", "ALERTMANAGER_URL": am, "ALERT_RULES_FILE": rules, "ALERT_EVAL_INTERVAL": "1s"}
	}
	a := serveCluster(t, t.TempDir(), env("a")) // the first to start: it holds the lease
	b := &clusterClient{base: serveDir(t, t.TempDir(), env("b")), ingest: a.ingest, read: a.read, c: a.c}
	// Each instance's own metrics are its own series in the cluster.
	extserver.Eventually(t, 20*time.Second, "both instances' own metrics, apart", func() bool {
		code, data := b.query(t, `count by (atroz_instance) (store_series)`)
		return code == http.StatusOK && strings.Contains(string(data), `"atroz_instance":"a"`) && strings.Contains(string(data), `"atroz_instance":"b"`)
	})

	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	if !a.push(t, ts, 1) || !b.pushAs(t, "b", ts, 2) {
		t.Fatal("a push was not acknowledged")
	}
	for name, cc := range map[string]*clusterClient{"first": a, "second": b} {
		extserver.Eventually(t, 20*time.Second, "both pushes read through the "+name+" instance", func() bool {
			code, data := cc.query(t, `sum(cluster_test_total)`)
			return code == http.StatusOK && strings.Contains(string(data), `"3"`)
		})
	}
	extserver.Eventually(t, 30*time.Second, "the alert at Alertmanager", func() bool {
		return len(extserver.AlertmanagerAlerts(t, a.c, am, map[string]string{"alertname": "ClusterPushes", "severity": "page"})) == 1
	})
	sent := func(cc *clusterClient) string {
		return cc.metrics(t, `alert_notifications_total{receiver="alertmanager-1",result="sent"}`)
	}
	if got := sent(a); strings.HasSuffix(got, " 0") || got == "" {
		t.Errorf("the lease holder sent nothing to Alertmanager: %q", got)
	}
	if got := sent(b); got != `alert_notifications_total{receiver="alertmanager-1",result="sent"} 0` {
		t.Errorf("the other instance sent to Alertmanager too: %q", got)
	}
	for name, cc := range map[string]*clusterClient{"first": a, "second": b} {
		extserver.Eventually(t, 10*time.Second, "the alert firing on the "+name+" instance's alerts page", func() bool {
			code, data := cc.get(t, "/api/v1/alerts")
			return code == http.StatusOK && strings.Contains(data, `"ClusterPushes"`) && strings.Contains(data, `"firing"`)
		})
	}

	twoDashboards(t, a, b)

	// The seeded ingest token, revoked through the second instance's API,
	// is refused by the first at once.
	req, _ := http.NewRequest(http.MethodDelete, b.base+"/api/v1/admin/tokens/pipe", nil)
	req.Header.Set("Authorization", "Bearer "+a.admin)
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("revoke on the second instance: %d", resp.StatusCode)
	}
	if a.push(t, ts.Add(time.Second), 3) {
		t.Error("a token revoked on one instance was taken by the other")
	}
}

// pushAs imports one sample of cluster_test_total{source=source}.
func (cc *clusterClient) pushAs(t *testing.T, source string, ts time.Time, v int) bool {
	t.Helper()
	body := fmt.Sprintf("cluster_test_total{source=%q} %d %d\n", source, v, ts.UnixMilli())
	req, _ := http.NewRequest(http.MethodPost, cc.base+"/api/v1/import/prometheus", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+cc.ingest)
	resp, err := cc.c.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// get reads path with the read token.
func (cc *clusterClient) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, cc.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+cc.read)
	resp, err := cc.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metrics returns the lines of AtroZ's /metrics that begin with prefix.
func (cc *clusterClient) metrics(t *testing.T, prefix string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, cc.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+cc.ingest)
	resp, err := cc.c.Do(req)
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// vmRows reads VictoriaMetrics' rows in its data and its index, whether
// in memory or on disk.
func vmRows(t *testing.T, base string) (data, index int) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		name, v, _ := strings.Cut(line, " ")
		n, _ := strconv.Atoi(v)
		switch name {
		case `vm_rows{type="storage/small"}`, `vm_rows{type="storage/big"}`:
			data += n
		case `vm_rows{type="indexdb"}`:
			index += n
		}
	}
	return data, index
}

// vmRowsOnDisk counts the rows of the parts VictoriaMetrics has written to
// dir, its -storageDataPath: each part's directory is named for its rows
// ("20_1_..."), and the parts it keeps in memory are not there yet.
func vmRowsOnDisk(dir string) (data, index int) {
	count := func(pattern string) int {
		n := 0
		parts, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, p := range parts {
			rows, _, ok := strings.Cut(filepath.Base(p), "_")
			if r, err := strconv.Atoi(rows); ok && err == nil {
				n += r
			}
		}
		return n
	}
	return count("data/*/*/*_*_*"), count("indexdb/*/*_*_*")
}
