//go:build reliability

package reliability

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"atroz/internal/tmpfs"
)

// refused starts a server that must not start, and returns its output.
func refused(t *testing.T, s *site, extra ...string) (string, time.Duration) {
	t.Helper()
	began := time.Now()
	srv, err := s.startErr(extra...)
	if err == nil {
		srv.kill()
		t.Fatalf("serve started on %s, want a refusal", s.dir)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("serve did not exit with status 1 by itself: %v", err)
	}
	out := err.Error()
	if strings.Contains(out, "panic:") || strings.Contains(out, "goroutine ") {
		t.Errorf("serve panicked:\n%s", out)
	}
	return out, time.Since(began)
}

// TestStartRefusals checks that a locked, read-only, foreign or truncated
// data directory stops the server at start-up with a clear message and a
// non-zero exit, and no panic.
func TestStartRefusals(t *testing.T) {
	t.Run("locked", func(t *testing.T) {
		s := newSite(t, t.TempDir())
		s.start(t)
		out, took := refused(t, s, "LOCK_TIMEOUT=1s")
		if !strings.Contains(out, "is in use by another atroz process") || took > 10*time.Second {
			t.Errorf("second server: after %s:\n%s", took, out)
		}
		t.Logf("second server on a locked data directory refused after %s", took.Round(time.Millisecond))
	})
	t.Run("read-only", func(t *testing.T) {
		dir := tmpfs.MountReadOnly(t, 1<<20)
		out, _ := refused(t, &site{dir: dir, env: []string{"DATA_DIR=" + dir, "LISTEN_ADDR=127.0.0.1:0"}})
		if !strings.Contains(out, "read-only file system") || !strings.Contains(out, dir) {
			t.Errorf("read-only data directory:\n%s", out)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		dir := t.TempDir()
		garbage := make([]byte, 1<<17)
		for i := range garbage {
			garbage[i] = byte(i*7 + i>>8)
		}
		if err := os.WriteFile(filepath.Join(dir, "atroz.db"), garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		out, _ := refused(t, &site{dir: dir, env: []string{"DATA_DIR=" + dir, "LISTEN_ADDR=127.0.0.1:0"}})
		if !strings.Contains(out, "not an AtroZ data file") {
			t.Errorf("garbage file:\n%s", out)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		s := newSite(t, t.TempDir())
		srv := s.start(t)
		if _, _, err := s.load(t.Context(), srv, "-kind", "import", "-rate", "200", "-duration", "2s", "-batch", "200", "-verify=false"); err != nil {
			t.Fatal(err)
		}
		srv.stop(t)
		path := filepath.Join(s.dir, "atroz.db")
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		out, _ := refused(t, s)
		if !strings.Contains(out, "file is truncated") {
			t.Errorf("truncated file:\n%s", out)
		}
	})
}
