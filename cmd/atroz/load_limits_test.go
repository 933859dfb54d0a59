package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"atroz/web"
)

// TestLoadBeaconsWithTokenNever429 runs the README's beacon load, with an
// ingest token, at a server with default rate limits: its beacons are
// charged to the token's budget, not to the 6,000 a minute of its address,
// so none of the 8,000 is refused.
func TestLoadBeaconsWithTokenNever429(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and sends load for several seconds")
	}
	env := map[string]string{"DATA_DIR": t.TempDir(), "LISTEN_ADDR": "127.0.0.1:0", "SCRAPE_INTERVAL": "1s"}
	out, _, err := run(t, env, "token", "create", "load")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])
	m, _, stderr := testMain(env)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()
	addr := waitListening(t, stderr, done)
	out, errOut, err := run(t, map[string]string{"ATROZ_TOKEN": token}, "load", "-target", "http://"+addr, "-kind", "beacons", "-rate", "2000", "-duration", "4s", "-verify=false", "-json")
	if err != nil {
		t.Fatalf("load: %v\n%s", err, errOut)
	}
	var r loadReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	// Every answer is a success; a beacon the loaded test machine did not
	// answer in time (a transport error, not a status) proves nothing
	// either way, but past the address's 6,000 a minute there must be
	// accepted beacons, which only the token's budget lets through.
	for status, n := range r.ByStatus {
		if code, err := strconv.Atoi(status); err == nil && code/100 != 2 {
			t.Errorf("%d beacons answered %s", n, status)
		}
	}
	if r.Sent != 8000 || r.Accepted <= web.DefaultRateLimitIngest {
		t.Errorf("sent %d, accepted %d (%v); want 8000 sent and more than the address's %d accepted", r.Sent, r.Accepted, r.Errors, web.DefaultRateLimitIngest)
	}
	if r.Rejected > 0 {
		t.Logf("%d beacons unanswered on a loaded machine: %v", r.Rejected, r.Errors)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
