package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"atroz/auth"
)

func TestDemoFlags(t *testing.T) {
	const target = "http://localhost:8080"
	f := func(env map[string]string, wantErr string, args ...string) {
		t.Helper()
		m, _, _ := testMain(env)
		o, err := (&DemoCommand{m.Env}).parse(args)
		switch {
		case wantErr == "" && err != nil:
			t.Errorf("demo %v: %v", args, err)
		case wantErr == "" && o.target.String() != target:
			t.Errorf("demo %v: target %s, want %s", args, o.target, target)
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("demo %v: error %v, want one containing %q", args, err, wantErr)
		}
	}
	f(nil, "", "-target", target, "-token", "t")
	f(map[string]string{"ATROZ_TOKEN": "t"}, "", "-target", target)
	f(map[string]string{"ATROZ_TOKEN": "t", "ATROZ_USER": "ana", "ATROZ_PASSWORD": "pw"}, "", "-target", target)
	f(nil, "-target is required", "-token", "t")
	f(nil, "-target must be an http or https URL", "-target", "localhost:8080", "-token", "t")
	f(nil, "-target must be an http or https URL", "-target", "ftp://localhost", "-token", "t")
	f(nil, "-target must be an http or https URL", "-target", "http://", "-token", "t")
	f(nil, "-target must be an http or https URL", "-target", "http://localhost:8080/?x=1", "-token", "t")
	f(nil, `-token (or $ATROZ_TOKEN) is required to send request events, unless -user is an admin`, "-target", target)
	f(nil, "-rate must be between 1 and 5000", "-target", target, "-token", "t", "-rate", "0")
	f(nil, "-duration must not be negative", "-target", target, "-token", "t", "-duration", "-1s")
	f(nil, "-user needs a password", "-target", target, "-token", "t", "-user", "ana")
	f(map[string]string{"ATROZ_PASSWORD": "pw"}, "a password needs -user", "-target", target, "-token", "t")
	f(nil, "usage", "-target", target, "-token", "t", "extra")
	f(nil, "usage", "-nope")
}

func TestDemoCommandLine(t *testing.T) {
	m, _, stderr := testMain(nil)
	err := m.Run(context.Background(), []string{"demo", "-target", "localhost"})
	if code := m.exitCode(err); code != 1 || !strings.Contains(stderr.String(), "atroz: -target must be") {
		t.Errorf("exit code %d, stderr %q; want 1 and the -target error", code, stderr)
	}
	help, _, err := run(t, nil, "help", "demo")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(help, "HighErrorRate fires") || !strings.Contains(help, "-seed") {
		t.Errorf("demo help (%v) lacks the cycle or the flags:\n%s", err, help)
	}
}

// TestDemoAgainstServer runs the demo against a real server and checks
// what the server counted.
func TestDemoAgainstServer(t *testing.T) {
	dir := t.TempDir()
	const password = "demo password 1"
	secret := demoTestStore(t, dir, password)
	addr := demoTestServer(t, dir)
	target := "http://" + addr

	t.Run("churn phase with WebSockets", func(t *testing.T) {
		m, out, _ := testMain(nil)
		o, err := (&DemoCommand{m.Env}).parse([]string{"-target", target, "-token", secret, "-user", "demo", "-password", password, "-seed", "7", "-rate", "100"})
		if err != nil {
			t.Fatal(err)
		}
		o.interval, o.first, o.ticks = 5*time.Millisecond, newDemoTraffic(7, 100).phaseStart("churn"), 80
		got, err := runDemo(context.Background(), o, out)
		if err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		if got.errors != 0 || got.limited != 0 || got.batches != 3*o.ticks || got.drops == 0 || got.closes == 0 || got.connects != got.drops+got.closes {
			t.Fatalf("demo sent %s; want a batch per service a tick, clean closes and drops, no errors\n%s", got, out)
		}
		if n := strings.Count(out.String(), "churn  "); n != int(o.ticks/demoProgressTicks) {
			t.Errorf("%d progress lines, want %d:\n%s", n, o.ticks/demoProgressTicks, out)
		}
		demoCheckMetrics(t, addr, secret, got)
	})

	t.Run("command with -duration and no user", func(t *testing.T) {
		m, out, _ := testMain(map[string]string{"ATROZ_TOKEN": secret})
		start := time.Now()
		if err := m.Run(context.Background(), []string{"demo", "-target", target, "-duration", "1200ms"}); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("demo -duration 1200ms took %s", took)
		}
		for _, want := range []string{"no WebSocket clients", "demo stopped: ", "WebSockets 0 opened", " 0 errors"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("refused token", func(t *testing.T) {
		m, out, _ := testMain(nil)
		err := m.Run(context.Background(), []string{"demo", "-target", target, "-token", "atz_nope"})
		if err == nil || !strings.Contains(err.Error(), "refused the ingest token") || !strings.Contains(err.Error(), "atroz token create demo") {
			t.Errorf("demo with a wrong token: %v\n%s", err, out)
		}
	})

	t.Run("an admin login and no token", func(t *testing.T) {
		m, out, _ := testMain(nil)
		if err := m.Run(context.Background(), []string{"demo", "-target", target, "-user", "boss", "-password", password, "-duration", "1200ms"}); err != nil {
			t.Fatalf("demo: %v\n%s", err, out)
		}
		if !strings.Contains(out.String(), "created the ingest token demo-") || !strings.Contains(out.String(), " 0 errors") {
			t.Errorf("output:\n%s", out)
		}
		if got := demoTokenNames(t, target, password); got != "demo" {
			t.Errorf("tokens after the demo: %s, want only demo (its own revoked)", got)
		}
	})

	t.Run("a viewer login and no token", func(t *testing.T) {
		m, out, _ := testMain(nil)
		err := m.Run(context.Background(), []string{"demo", "-target", target, "-user", "demo", "-password", password})
		if err == nil || !strings.Contains(err.Error(), "create an ingest token as demo (an admin may; or pass -token): 403") {
			t.Errorf("demo as a viewer without a token: %v\n%s", err, out)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		m, out, _ := testMain(nil)
		err := m.Run(context.Background(), []string{"demo", "-target", target, "-token", secret, "-user", "demo", "-password", "not it at all"})
		if err == nil || !strings.Contains(err.Error(), "log in as demo: 401") {
			t.Errorf("demo with a wrong password: %v\n%s", err, out)
		}
	})
}

// demoTokenNames lists the server's ingest tokens through the admin API,
// as boss, comma-separated.
func demoTokenNames(t *testing.T, target, password string) string {
	t.Helper()
	l := &apiLogin{client: http.DefaultClient, url: target + "/api/v1/auth/login", user: "boss", password: password}
	jwt, err := l.token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, target+"/api/v1/admin/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Data []struct{ Name string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tok := range out.Data {
		names = append(names, tok.Name)
	}
	return strings.Join(names, ",")
}

// demoTestStore creates the store in dir with an ingest token, whose
// secret it returns, the viewer demo and the admin boss, both with password.
func demoTestStore(t *testing.T, dir, password string) string {
	t.Helper()
	var secret string
	withTestAuth(t, dir, func(a *auth.Service) {
		var err error
		if secret, err = a.CreateToken("demo", auth.ScopeIngest, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := a.AddUser("demo", auth.RoleViewer, password); err != nil {
			t.Fatal(err)
		}
		if err := a.AddUser("boss", auth.RoleAdmin, password); err != nil {
			t.Fatal(err)
		}
	})
	return secret
}

// demoTestServer serves the store in dir until the test ends, and returns
// its address.
func demoTestServer(t *testing.T, dir string) string {
	t.Helper()
	m, _, stderr := testMain(map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return waitListening(t, stderr, done)
}

// demoCheckMetrics checks that the server's metrics count what the demo
// sent: every request event under its service and route, every beacon
// under its page, and every WebSocket connect and end by reason. A
// disconnect is counted once the server has read it, so the check is
// retried for a while.
func demoCheckMetrics(t *testing.T, addr, token string, sent demoTotals) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := demoMetricsMatch(demoScrape(t, addr, token), sent)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// demoMetricsMatch reports how the scraped samples differ from sent.
func demoMetricsMatch(samples []demoSample, sent demoTotals) error {
	routes, pages := map[string]bool{}, map[string]bool{}
	var events, beacons float64
	ws := map[string]float64{}
	for _, s := range samples {
		switch {
		case s.name == "http_requests_total" && strings.HasSuffix(s.labels["service"], "-api"):
			routes[s.labels["service"]+" "+s.labels["method"]+" "+s.labels["route"]] = true
			events += s.value
		case s.name == "frontend_fps_count" && s.labels["service"] == demoService:
			pages[s.labels["page"]] = true
		case s.name == "frontend_beacons_total" && s.labels["service"] == demoService:
			beacons += s.value
		case strings.HasPrefix(s.name, "websocket_"):
			ws[s.name+s.labels["reason"]] = s.value
		}
	}
	switch {
	case len(routes) < 12:
		return fmt.Errorf("request series for %d routes, want at least 12: %v", len(routes), routes)
	case int64(events) != sent.events:
		return fmt.Errorf("server counted %v request events, demo sent %d", events, sent.events)
	case len(pages) < 4 || !pages["/products/:id"]:
		return fmt.Errorf("FPS histograms for pages %v, want at least 4 with /products/:id", pages)
	case int64(beacons) != sent.beacons:
		return fmt.Errorf("server counted %v beacons, demo sent %d", beacons, sent.beacons)
	case int64(ws["websocket_connects_total"]) != sent.connects || int64(ws["websocket_disconnects_totalnormal"]) != sent.closes ||
		int64(ws["websocket_disconnects_totalerror"]) != sent.drops || ws["websocket_connections"] != 0:
		return fmt.Errorf("server's WebSocket counts %v, demo made %d connects, %d closes, %d drops", ws, sent.connects, sent.closes, sent.drops)
	}
	return nil
}

// demoSample is one line of the Prometheus text format.
type demoSample struct {
	name   string
	labels map[string]string
	value  float64
}

// demoSampleLine matches a sample line: name, labels, value.
var demoSampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)

// demoLabel matches one label pair.
var demoLabel = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// demoScrape reads the server's /metrics with the ingest token.
func demoScrape(t *testing.T, addr, token string) []demoSample {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	var out []demoSample
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := demoSampleLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		s := demoSample{name: m[1], labels: map[string]string{}}
		s.value, err = strconv.ParseFloat(m[3], 64)
		if err != nil {
			continue
		}
		for _, l := range demoLabel.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
