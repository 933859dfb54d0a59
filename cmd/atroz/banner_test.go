package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// firstUserText is what ensureAdmin writes when it invents a password.
const firstUserText = "\n  AtroZ created the user admin with password pw-0123456789abcdefghij\n  It is shown this once; change it with: atroz user passwd admin\n\n"

// TestStartupBanner writes the banner to a terminal as plain text, else as
// one JSON line, and as plain text when the log level would hide the
// password; each holds the URL and, on a first start, the password.
func TestStartupBanner(t *testing.T) {
	const url = "http://localhost:8080/"
	f := func(terminal bool, level slog.Level, firstUser string, wantConsole, wantLog []string) {
		t.Helper()
		var console, logs bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))
		startupBanner(&console, terminal, log, url, firstUser)
		check := func(what, got string, want []string) {
			t.Helper()
			if len(want) == 0 && got != "" {
				t.Errorf("terminal=%v level=%v: %s %q, want nothing", terminal, level, what, got)
			}
			for _, w := range want {
				if strings.Count(got, w) != 1 {
					t.Errorf("terminal=%v level=%v: %s %q, want %q once", terminal, level, what, got, w)
				}
			}
		}
		check("console", console.String(), wantConsole)
		check("log", logs.String(), wantLog)
		if logs.Len() > 0 && strings.Count(logs.String(), "\n") != 1 {
			t.Errorf("terminal=%v: %d log lines, want one", terminal, strings.Count(logs.String(), "\n"))
		}
	}
	pw := "pw-0123456789abcdefghij"
	f(true, slog.LevelInfo, firstUserText, []string{"\n  AtroZ is ready: " + url + "\n  AtroZ created the user admin with password " + pw + "\n", "atroz user passwd admin\n\n"}, nil)
	f(true, slog.LevelInfo, "", []string{"AtroZ is ready: " + url}, nil)
	f(false, slog.LevelInfo, firstUserText, nil, []string{`"msg":"AtroZ is ready","event_type":"ready","url":"` + url + `","first_user":"AtroZ created the user admin with password ` + pw + `. It is shown this once`})
	f(false, slog.LevelInfo, "", nil, []string{`"event_type":"ready","url":"` + url + `"}`})
	f(false, slog.LevelWarn, firstUserText, []string{"AtroZ is ready: " + url, pw}, nil)
	f(false, slog.LevelWarn, "", nil, nil)
}

// TestDashboardURL names a wildcard listen address localhost.
func TestDashboardURL(t *testing.T) {
	f := func(addr string, tls bool, want string) {
		t.Helper()
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := dashboardURL(a, tls); got != want {
			t.Errorf("dashboardURL(%s, %v) = %q, want %q", addr, tls, got, want)
		}
	}
	f("127.0.0.1:8080", false, "http://127.0.0.1:8080/")
	f("0.0.0.0:8080", false, "http://localhost:8080/")
	f("[::]:443", true, "https://localhost:443/")
	f("[::1]:8443", true, "https://[::1]:8443/")
	f("192.0.2.7:80", false, "http://192.0.2.7:80/")
}

// TestServeBanner starts a first server: after its listen line one ready
// line gives the dashboard's URL and the admin's password, which logs in,
// and the password appears nowhere else.
func TestServeBanner(t *testing.T) {
	m, _, stderr := testMain(map[string]string{"DATA_DIR": filepath.Join(t.TempDir(), "data"), "LISTEN_ADDR": "127.0.0.1:0"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()
	addr := waitListening(t, stderr, done)
	var ready struct{ URL, FirstUser string }
	var order []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		var ev struct {
			Msg, URL  string
			FirstUser string `json:"first_user"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil {
			order = append(order, ev.Msg)
			if ev.Msg == "AtroZ is ready" {
				ready.URL, ready.FirstUser = ev.URL, ev.FirstUser
			}
		} else if strings.TrimSpace(line) != "" {
			t.Errorf("a plain-text line among the JSON log: %q", line)
		}
	}
	if got := strings.Join(order, ","); !strings.Contains(got, "listening,AtroZ is ready") {
		t.Errorf("log lines %s: want the ready line after listening", got)
	}
	if ready.URL != "http://"+addr+"/" {
		t.Errorf("ready URL %q, want http://%s/", ready.URL, addr)
	}
	if !strings.Contains(ready.FirstUser, "password ") {
		t.Fatalf("ready line names no password: %q", ready.FirstUser)
	}
	fields := strings.Fields(ready.FirstUser[strings.Index(ready.FirstUser, "password ")+len("password "):])
	pw := strings.TrimSuffix(fields[0], ".")
	if len(pw) != 24 || strings.Count(stderr.String(), pw) != 1 {
		t.Fatalf("password %q (want 24 bytes, shown once) in:\n%s", pw, stderr)
	}
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": pw})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Post(ready.URL+"api/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("login with the banner's password: %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
