//go:build reliability

package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// bin is the atroz binary the suite builds once.
var bin string

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

// runSuite builds atroz unless ATROZ_BIN names a binary, runs the tests and
// then looks for leaked goroutines.
func runSuite(m *testing.M) int {
	bin = os.Getenv("ATROZ_BIN")
	if bin == "" {
		dir, err := os.MkdirTemp("", "atroz-reliability-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer func() { _ = os.RemoveAll(dir) }()
		bin = filepath.Join(dir, "atroz")
		build := exec.Command("go", "build", "-o", bin, "atroz/cmd/atroz")
		build.Stdout, build.Stderr = os.Stdout, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build atroz:", err)
			return 1
		}
	}
	if code := m.Run(); code != 0 {
		return code
	}
	if err := goleak.Find(); err != nil {
		fmt.Fprintln(os.Stderr, "goleak:", err)
		return 1
	}
	return 0
}

// Credentials the suite creates in every data directory it sets up.
const (
	testUser     = "reliability"
	testPassword = "reliability-password-1"
)

// site is a data directory with a dashboard user and a token that ingests
// and reads.
type site struct {
	dir   string
	token string
	env   []string // settings every server of the site starts with
}

// newSite prepares dir with a user and a token, and returns the
// settings a server on it starts with: loopback, fast flushes and scrapes,
// rate limits out of the way of the load.
func newSite(t *testing.T, dir string, extra ...string) *site {
	t.Helper()
	s := &site{dir: dir, env: append([]string{
		"DATA_DIR=" + dir, "LISTEN_ADDR=127.0.0.1:0", "ENVIRONMENT=development", "LOG_LEVEL=info",
		"FLUSH_INTERVAL=200ms", "SCRAPE_INTERVAL=1s",
		"RATE_LIMIT_INGEST_PER_MINUTE=100000000", "RATE_LIMIT_PER_MINUTE=1000000", "RATE_LIMIT_AUTH_PER_MINUTE=1000",
	}, extra...)}
	atroz(t, s.env, testPassword+"\n", "user", "add", "-role", "admin", testUser)
	out := atroz(t, s.env, "", "token", "create", "-scope", "ingest,read", "reliability") // read: /health's store figures
	s.token = strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	return s
}

// atroz runs a short atroz command to completion and returns its stdout.
func atroz(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	out, err := atrozErr(env, stdin, args...)
	if err != nil {
		t.Fatalf("atroz %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// atrozErr runs a short atroz command and returns its standard output; an
// error carries its standard error.
func atrozErr(env []string, stdin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%w: %s", err, errOut.String())
	}
	return out.String(), nil
}

// server is a running atroz serve process.
type server struct {
	cmd *exec.Cmd
	url string
	log *serverLog
	// token ingests and reads, so /health answers with the store's figures.
	token string
	done  chan error
}

// serverLog is the file a server logs to. A file, not a pipe the test
// reads, so that ten thousand access lines a second never wait on the test.
type serverLog struct{ path string }

// String returns the last 64 KiB of the log, for assertions and failure
// reports.
func (l *serverLog) String() string {
	b, _ := os.ReadFile(l.path)
	if len(b) > 64<<10 {
		b = b[len(b)-64<<10:]
	}
	return string(b)
}

// listening returns the address of the log's "listening" line, if any.
func (l *serverLog) listening() string {
	b, _ := os.ReadFile(l.path)
	for _, line := range bytes.Split(b, []byte("\n")) {
		var ev struct{ Msg, Addr string }
		if json.Unmarshal(line, &ev) == nil && ev.Msg == "listening" && ev.Addr != "" {
			return ev.Addr
		}
	}
	return ""
}

// start starts atroz serve on the site and waits until it listens.
func (s *site) start(t *testing.T, extra ...string) *server {
	t.Helper()
	srv, err := s.startErr(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.kill()
		_ = os.Remove(srv.log.path)
	})
	return srv
}

// startErr starts atroz serve and waits for its "listening" line, or
// returns its output if it exits first.
func (s *site) startErr(extra ...string) (*server, error) {
	f, err := os.CreateTemp("", "atroz-serve-*.log")
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(append(os.Environ(), s.env...), extra...)
	cmd.Stdout, cmd.Stderr = f, f
	srv := &server{cmd: cmd, log: &serverLog{path: f.Name()}, token: s.token, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { srv.done <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if addr := srv.log.listening(); addr != "" {
			srv.url = "http://" + addr
			return srv, nil
		}
		select {
		case err := <-srv.done:
			srv.done <- err
			out := srv.log.String()
			_ = os.Remove(f.Name())
			return nil, fmt.Errorf("serve exited before listening: %w\n%s", err, out)
		default:
		}
	}
	srv.kill()
	return nil, fmt.Errorf("serve did not listen within 30s:\n%s", srv.log)
}

// kill sends SIGKILL, if the process still runs, and waits for it.
func (srv *server) kill() {
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	srv.wait()
}

// stop sends SIGTERM and requires a clean exit within a minute.
func (srv *server) stop(t *testing.T) {
	t.Helper()
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-srv.done:
		srv.done <- err
	case <-time.After(time.Minute):
		t.Fatalf("serve did not stop within a minute of SIGTERM:\n%s", srv.log)
	}
	if err != nil {
		t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, srv.log)
	}
}

// wait waits for the process to exit and returns how it ended; it may be
// called again.
func (srv *server) wait() error {
	err := <-srv.done
	srv.done <- err
	return err
}

// peakRSS is the process's peak resident set (VmHWM), in bytes.
func (srv *server) peakRSS(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// health is the part of GET /health the suite reads.
type health struct {
	Status string `json:"status"`
	Store  struct {
		Series         int       `json:"series"`
		Flushes        uint64    `json:"flushes"`
		FlushErrors    uint64    `json:"flush_errors"`
		LastFlushStart time.Time `json:"last_flush_start"`
	} `json:"store"`
}

// lastFlushStart is when the last committed flush began: every sample
// appended before it is on disk.
func (h health) lastFlushStart() time.Time { return h.Store.LastFlushStart }

// httpClient is the suite's client: a wedged server fails a test, not the
// whole run at its time limit.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// health reads GET /health with the site's token, which sees the store's
// figures an anonymous caller does not.
func (srv *server) health(t *testing.T) (health, int) {
	t.Helper()
	var h health
	req, err := http.NewRequest(http.MethodGet, srv.url+"/health", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+srv.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /health: %v", err)
	}
	return h, resp.StatusCode
}

// loadReport is the part of atroz load -json's report the suite reads.
type loadReport struct {
	Sent          int64              `json:"sent"`
	Accepted      int64              `json:"accepted"`
	Rejected      int64              `json:"rejected"`
	ByStatus      map[string]int64   `json:"by_status"`
	Errors        map[string]string  `json:"errors"`
	LatencyMs     map[string]float64 `json:"latency_ms"`
	AcceptedItems int64              `json:"accepted_items"`
	Stored        *int64             `json:"stored"`
	Seconds       float64            `json:"seconds"`
}

// load runs atroz load against srv and returns its report; args add to
// the target, credentials and -json.
func (s *site) load(ctx context.Context, srv *server, args ...string) (*loadReport, string, error) {
	cmd := exec.CommandContext(ctx, bin, append([]string{"load", "-target", srv.url, "-json"}, args...)...)
	cmd.Env = append(os.Environ(), "ATROZ_USER="+testUser, "ATROZ_PASSWORD="+testPassword, "ATROZ_TOKEN="+s.token)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var r loadReport
	if jerr := json.Unmarshal(out.Bytes(), &r); jerr != nil {
		return nil, errOut.String(), fmt.Errorf("load: %v, report: %v\n%s%s", err, jerr, out.String(), errOut.String())
	}
	return &r, errOut.String(), err
}

// beaconsServed is how many beacons the server has answered 204, from its
// own /metrics (the ingest token opens it on the main port).
func (s *site) beaconsServed(t *testing.T, srv *server) int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	const series = `http_requests_total{service="atroz",route="/api/v1/beacons",method="POST",code="204"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// awaitBeacons waits until the background beacon load reaches the server,
// so that what follows happens under load.
func (s *site) awaitBeacons(t *testing.T, srv *server) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); s.beaconsServed(t, srv) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no beacon reached the server within 30s:\n%s", srv.log)
		}
	}
}

// login returns a bearer token for the suite's user.
func login(t *testing.T, srv *server) string {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, testUser, testPassword)
	resp, err := httpClient.Post(srv.url+"/api/v1/auth/login", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Token == "" {
		t.Fatalf("login: %d %v", resp.StatusCode, err)
	}
	return out.Data.Token
}
