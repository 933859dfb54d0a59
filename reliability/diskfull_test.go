//go:build reliability

package reliability

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"atroz/internal/tmpfs"
)

// TestDiskFull runs the server on a small tmpfs and fills it. Ingestion
// must turn to 507 with a clear message, reads and /health keep working,
// the process stays up, ingestion comes back by itself once space is
// freed, and every push acknowledged at any point is stored.
func TestDiskFull(t *testing.T) {
	dir := tmpfs.Mount(t, 48<<20)
	s := newSite(t, dir)
	srv := s.start(t)
	ballast := filepath.Join(dir, "ballast")
	fill(t, ballast, 512<<10)

	p := &prober{s: s, url: srv.url}
	client := httpClient
	ts := time.Now().UnixMilli()
	code, msg := 0, ""
	for deadline := time.Now().Add(2 * time.Minute); code != http.StatusInsufficientStorage; ts++ {
		if time.Now().After(deadline) {
			t.Fatalf("no 507 within 2 minutes of filling the volume; last answer %d %s", code, msg)
		}
		ts = max(ts, time.Now().UnixMilli())
		code, msg = p.push(context.Background(), client, ts)
		if code != http.StatusOK && code != http.StatusInsufficientStorage {
			t.Fatalf("push answered %d %s, want 200 or 507", code, msg)
		}
	}
	full := len(p.acks)
	if !strings.Contains(msg, "data volume is full") {
		t.Errorf("507 body does not say why: %s", msg)
	}
	if h, hc := srv.health(t); hc != http.StatusOK || h.Status != "degraded" {
		t.Errorf("/health while full: %d %q, want 200 degraded", hc, h.Status)
	}
	checkQuery(t, srv, `count(crash_probe)`)
	if code, msg := p.push(context.Background(), client, ts+1); code != http.StatusInsufficientStorage {
		t.Errorf("a second push while full answered %d %s, want 507", code, msg)
	}

	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for ts += 2; ; ts++ {
		ts = max(ts, time.Now().UnixMilli())
		if code, msg = p.push(context.Background(), client, ts); code == http.StatusOK {
			break
		}
		if time.Since(freed) > time.Minute {
			t.Fatalf("ingestion did not resume within a minute of freeing space; last answer %d %s", code, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
	recovery := time.Since(freed)
	if h, _ := srv.health(t); h.Status != "ok" {
		t.Errorf("/health after recovery: %q, want ok", h.Status)
	}
	srv.stop(t)
	if out, err := atrozErr(s.env, "", "db", "check"); err != nil {
		t.Fatalf("atroz db check: %v\n%s", err, out)
	}
	durable, pending, _ := checkProbes(t, dir, 0, p.acks, time.Now())
	t.Logf("%d pushes acknowledged before the volume filled, %d in all, all %d stored (%d unaccounted); ingestion resumed %s after space was freed",
		full, len(p.acks), durable, pending, recovery.Round(time.Millisecond))
}

// fill writes a file at path that leaves about leave bytes free on its volume.
func fill(t *testing.T, path string, leave int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(path), &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	chunk := make([]byte, 1<<20)
	for n := free - leave; n > 0; n -= int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			t.Fatalf("fill %s: %v", path, err)
		}
	}
}

// checkQuery requires an instant query to answer 200.
func checkQuery(t *testing.T, srv *server, expr string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/api/v1/query?query="+expr, nil)
	req.Header.Set("Authorization", "Bearer "+login(t, srv))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("query %s answered %d while the volume was full, want 200", expr, resp.StatusCode)
	}
}
