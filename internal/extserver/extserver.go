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
func Start(t *testing.T, bin, install, readyURL string, args ...string) {
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
	cmd := exec.Command(bin, args...) // #nosec G204 -- tests choose the binary and its flags
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logFile.Name())
			t.Logf("%s's log:\n%s", filepath.Base(bin), b)
		}
	})
	c := &http.Client{Timeout: 2 * time.Second}
	Eventually(t, 30*time.Second, filepath.Base(bin)+" ready", func() bool {
		resp, err := c.Get(readyURL)
		if err != nil {
			return false
		}
		_ = resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
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
