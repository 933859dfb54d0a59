package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/store"
)

func TestServeLockedDataDir(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "atroz.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()

	m, _, _ := testMain(nil)
	start := time.Now()
	err = m.Run(context.Background(), []string{"serve", "-data-dir", dir, "-lock-timeout", "300ms", "-listen-addr", "127.0.0.1:0"})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("serve took %s to give up", took)
	}
	want := "data directory " + dir + " is in use by another atroz process (lock not acquired within 300ms)"
	if err == nil || err.Error() != want {
		t.Fatalf("serve error = %v, want %q", err, want)
	}
	if code := m.exitCode(err); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
}

func TestServeHealthAndShutdown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	m, _, stderr := testMain(map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()

	addr := waitListening(t, stderr, done)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /health = %d, want 200", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after cancel, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not stop")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped","event_type":"shutdown","clean":true`) {
		t.Errorf("log lacks a clean stop:\n%s", stderr)
	}
	if !strings.Contains(stderr.String(), `"level":"WARN","msg":"development mode: beacons from any origin,`) {
		t.Errorf("development start logs no WARN naming the mode:\n%s", stderr)
	}
	if err := requireStore(&Config{DataDir: dir}); err != nil {
		t.Errorf("store not created in the new data directory: %v", err)
	}
}

// waitListening waits for serve's startup log line and returns its address.
func waitListening(t *testing.T, log *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			t.Fatalf("serve stopped early: %v\n%s", err, log)
		default:
		}
		for _, line := range strings.Split(log.String(), "\n") {
			var ev struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Msg == "listening" {
				return ev.Addr
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal(errors.New("serve did not log its address"))
	return ""
}

// TestServeMetricsPlacement checks where /metrics is served: on the main
// port behind an ingest token by default, open on METRICS_PORT when set,
// nowhere when disabled.
func TestServeMetricsPlacement(t *testing.T) {
	free := freePort(t)
	f := func(env map[string]string, mainCode int, metricsPort string) {
		t.Helper()
		env["DATA_DIR"], env["LISTEN_ADDR"] = t.TempDir(), "127.0.0.1:0"
		m, _, stderr := testMain(env)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx, nil) }()
		addr := waitListening(t, stderr, done)
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
		if code := get(t, client, "http://"+addr+"/metrics"); code != mainCode {
			t.Errorf("%v: main port /metrics = %d, want %d", env, code, mainCode)
		}
		if metricsPort != "" {
			if code := get(t, client, "http://127.0.0.1:"+metricsPort+"/metrics"); code != http.StatusOK {
				t.Errorf("%v: metrics port /metrics = %d, want 200", env, code)
			}
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("serve: %v", err)
		}
	}
	f(map[string]string{}, http.StatusUnauthorized, "") // on the main port it takes an ingest token
	f(map[string]string{"ENABLE_METRICS": "false"}, http.StatusNotFound, "")
	f(map[string]string{"METRICS_PORT": free}, http.StatusNotFound, free)
}

func get(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// freePort returns a loopback port nothing listens on at the moment.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// TestWarnDevelopment warns in development only.
func TestWarnDevelopment(t *testing.T) {
	f := func(environment string, want bool) {
		t.Helper()
		var b strings.Builder
		warnDevelopment(&Config{Environment: environment, ListenAddr: "127.0.0.1:8080"}, slog.New(slog.NewTextHandler(&b, nil)))
		if got := strings.Contains(b.String(), "level=WARN") && strings.Contains(b.String(), "development mode"); got != want {
			t.Errorf("%s: logged %q", environment, b.String())
		}
	}
	f("development", true)
	f("production", false)
}
