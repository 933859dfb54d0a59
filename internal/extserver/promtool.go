package extserver

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// promtoolPkg is promtool's package in the Prometheus module that go.mod
// requires; go.mod's tool directive pins its dependencies.
const promtoolPkg = "github.com/prometheus/prometheus/cmd/promtool"

var (
	promtoolOnce sync.Once
	promtoolPath string
	promtoolErr  error
)

// Promtool returns the path of promtool built from the Prometheus module
// version in go.mod, the promtool of the Prometheus whose libraries AtroZ
// uses (Debian's promtool is older). It is built once per test binary into
// the user's cache directory, under the module and Go versions, and reused
// from there while neither changes. A failed build skips the test, unless
// the CI environment variable is set.
//
// When the PROMTOOL environment variable names a binary, as make test
// sets it after building promtool once before the tests, that is used.
func Promtool(t testing.TB) string {
	t.Helper()
	promtoolOnce.Do(func() {
		if bin := os.Getenv("PROMTOOL"); bin != "" {
			promtoolPath = bin
			return
		}
		promtoolPath, promtoolErr = buildPromtool()
	})
	if promtoolErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool: %v", promtoolErr)
		}
		t.Skipf("promtool not built: %v", promtoolErr)
	}
	return promtoolPath
}

// buildPromtool builds promtool unless the cache holds it for this version.
func buildPromtool() (string, error) {
	version, err := goCmd("list", "-m", "-f", "{{.Version}}", "github.com/prometheus/prometheus")
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "atroz", "promtool", version+"-"+runtime.Version()+"-nosd")
	bin := filepath.Join(dir, "promtool")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("promtool cache: %w", err)
	}
	// Built beside its place and renamed into it, so a test binary running
	// at the same time never sees half a file.
	tmp := fmt.Sprintf("%s.%d", bin, os.Getpid())
	// remove_all_sd leaves out the cloud service discoveries (Kubernetes,
	// AWS, Azure, ...), which query and check commands never use: a third
	// fewer packages to compile on a fresh machine.
	if _, err := goCmd("build", "-tags", "remove_all_sd", "-o", tmp, promtoolPkg); err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("promtool cache: %w", err)
	}
	return bin, nil
}

// goCmd runs the go command in the module and returns its trimmed output.
func goCmd(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command("go", args...) // #nosec G204 -- the tests' own go commands
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, errOut.Bytes())
	}
	return strings.TrimSpace(out.String()), nil
}
