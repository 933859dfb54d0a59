// Package extserver runs the real servers AtroZ's integration tests talk
// to (Debian's Prometheus and Alertmanager) on loopback ports, the way
// net/http/httptest runs Go handlers.
package extserver

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Start runs bin with args, logging to a file in a temporary directory,
// and waits until GET readyURL answers 200. The process is killed when the
// test ends, and its log printed if the test failed. A missing bin skips
// the test, unless the CI environment variable is set: CI must install it
// (install is the package to name).
func Start(t testing.TB, bin, install, readyURL string, args ...string) *Process {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	return start(t, bin, install, func() bool {
		resp, err := c.Get(readyURL)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, args...)
}

// start is Start with ready telling when the process serves.
func start(t testing.TB, bin, install string, ready func() bool, args ...string) *Process {
	t.Helper()
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing on CI (.ci/run installs Debian's %s): %v", bin, install, err)
		}
		t.Skipf("%s not installed (apt-get install %s): %v", bin, install, err)
	}
	logFile, err := os.Create(filepath.Join(t.TempDir(), filepath.Base(bin)+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &Process{t: t, bin: bin, args: args, ready: ready, log: logFile}
	t.Cleanup(func() {
		p.Kill()
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s's log:\n%s", filepath.Base(bin), b)
		}
	})
	p.Restart()
	return p
}

// Process is a server Start runs, which a test may kill and start again.
type Process struct {
	t     testing.TB
	bin   string
	args  []string
	ready func() bool
	log   *os.File
	cmd   *exec.Cmd
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Process) Kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// Restart starts the process again with the same arguments and waits
// until it is ready.
func (p *Process) Restart() {
	p.t.Helper()
	p.Kill()
	cmd := exec.Command(p.bin, p.args...) // #nosec G204 -- tests choose the binary and its flags
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	Eventually(p.t, 30*time.Second, filepath.Base(p.bin)+" ready", p.ready)
}

// Redis runs Debian's redis-server on a loopback port, without
// persistence, and returns its URL.
func Redis(t testing.TB) (string, *Process) {
	t.Helper()
	addr, dir := FreeAddr(t), t.TempDir()
	_, port, _ := net.SplitHostPort(addr)
	p := start(t, "/usr/bin/redis-server", "redis-server", func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = conn.Close()
		}
		return err == nil
	}, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	return "redis://" + addr + "/0", p
}

// FreeAddr returns a loopback address no one listened on a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

// Eventually polls cond every 50 ms until it holds, failing the test after
// timeout: the servers involved work on their own schedules.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
