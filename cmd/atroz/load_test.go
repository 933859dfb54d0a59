package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no target", []string{"-verify=false"}, "-target: the server's base URL is required"},
		{"not a URL", []string{"-target", "127.0.0.1:8080", "-verify=false"}, `-target: "127.0.0.1:8080" is not an http(s) URL`},
		{"unknown kind", []string{"-target", "http://h", "-kind", "logs", "-verify=false"}, `-kind: must be one of beacons, requests, import, remote-write, query, got "logs"`},
		{"zero rate", []string{"-target", "http://h", "-rate", "0", "-verify=false"}, "-rate: must be between 1 and 1000000"},
		{"negative duration", []string{"-target", "http://h", "-duration", "-1s", "-verify=false"}, "-duration: must be positive"},
		{"huge batch", []string{"-target", "http://h", "-batch", "10001", "-verify=false"}, "-batch: must be between 1 and 10000"},
		{"requests without token", []string{"-target", "http://h", "-kind", "requests", "-verify=false"}, "-token: requests load needs an ingest token"},
		{"query without user", []string{"-target", "http://h", "-kind", "query", "-verify=false"}, "-user: query load needs a dashboard login"},
		{"verify without user", []string{"-target", "http://h"}, "-user: verifying needs a dashboard login"},
		{"no in-flight", []string{"-target", "http://h", "-max-in-flight", "0", "-verify=false"}, "-max-in-flight: must be at least 1"},
		{"negative senders", []string{"-target", "http://h", "-senders", "-1", "-verify=false"}, "-senders: must be between 0"},
		{"no series", []string{"-target", "http://h", "-kind", "remote-write", "-series", "0", "-verify=false"}, "-series: remote-write needs at least one series per sender (-senders, else -max-in-flight: 2000), got 0"},
		{"fewer series than senders", []string{"-target", "http://h", "-kind", "remote-write", "-senders", "4", "-series", "3", "-verify=false"}, "-series: remote-write needs at least one series per sender"},
		{"remote write verified", []string{"-target", "http://h", "-kind", "remote-write", "-senders", "4"}, "-verify: remote-write load cannot be checked by query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := run(t, nil, append([]string{"load"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPercentiles(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(ds, 0.5, 0.99, 1)
	want := []time.Duration{50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("quantile %d = %s, want %s", i, got[i], want[i])
		}
	}
	// Nearest rank: the 99th percentile of 160 is the 159th, not the 158th.
	ds = ds[:0]
	for i := 1; i <= 160; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := percentiles(ds, 0.99)[0]; got != 159*time.Millisecond {
		t.Errorf("p99 of 1..160 ms = %s, want 159ms", got)
	}
	if got := percentiles(nil, 0.5); got[0] != 0 {
		t.Errorf("empty = %s, want 0", got[0])
	}
}

// TestLoadChargesTheQueue holds the first answer back while later items fall
// due. With one request in flight, items 1 to 7 are due 20 to 140 ms after
// the start but cannot be sent before the first answer at 250 ms, so an open
// model must report each of them at least 110 ms late; a closed model would
// report them as fast as the server answered them.
func TestLoadChargesTheQueue(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			time.Sleep(250 * time.Millisecond)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	o := &loadOptions{target: u, kind: "beacons", rate: 50, duration: 400 * time.Millisecond, maxInFlight: 1, timeout: 5 * time.Second, service: "s"}
	sess := &loadSession{o: o, client: loadClient(o)}
	kind, err := newLoadKind(o, sess)
	if err != nil {
		t.Fatal(err)
	}
	rec := newLoadRecorder(o.rate, o.duration)
	drive(context.Background(), o, sess.client, kind, rec, &syncBuffer{})
	late := 0
	for _, d := range rec.latencies {
		if d >= 110*time.Millisecond {
			late++
		}
	}
	if len(rec.latencies) != 20 || rec.accepted != 20 || late < 8 {
		t.Errorf("answered %d, accepted %d, %d at least 110 ms late; want 20, 20, 8 or more", len(rec.latencies), rec.accepted, late)
	}
}

// TestLoadReportsLoss runs load at a server that accepts every beacon but
// whose queries show fewer stored: the command must print the report and
// fail, naming the shortfall.
func TestLoadReportsLoss(t *testing.T) {
	var beacons atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/auth/login":
			_, _ = w.Write([]byte(`{"status":"success","data":{"token":"t"}}`))
		case "/api/v1/beacons":
			beacons.Add(1)
			w.WriteHeader(http.StatusNoContent)
		case "/api/v1/query":
			fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[0,"%d"]}]}}`, max(beacons.Load()-1, 0))
		}
	}))
	defer srv.Close()
	out, _, err := run(t, map[string]string{"ATROZ_USER": "u", "ATROZ_PASSWORD": "p"}, "load", "-target", srv.URL, "-rate", "20", "-duration", "500ms", "-verify-timeout", "1s")
	if err == nil || !strings.Contains(err.Error(), "the server stored 9 of the 10 items it accepted") {
		t.Errorf("err = %v, want the shortfall", err)
	}
	if !strings.Contains(out, "sent 10  accepted 10  rejected 0") || !strings.Contains(out, "stored 9 of 10 accepted items") {
		t.Errorf("report:\n%s", out)
	}
}

// TestLoadKeepsSecretsOutOfUsage checks that credentials from the
// environment never show as flag defaults in the usage text.
func TestLoadKeepsSecretsOutOfUsage(t *testing.T) {
	_, stderr, _ := run(t, map[string]string{"ATROZ_PASSWORD": "hunter2-secret", "ATROZ_TOKEN": "atz_secret"}, "load", "-bogus")
	if strings.Contains(stderr, "hunter2-secret") || strings.Contains(stderr, "atz_secret") || !strings.Contains(stderr, "-password") {
		t.Errorf("usage leaks a secret or lacks the flags:\n%s", stderr)
	}
}

// TestLoadAgainstServer runs every kind of load at a real server and checks
// the report: all sent items accepted, and all accepted items stored.
func TestLoadAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and sends load for several seconds")
	}
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0", "SCRAPE_INTERVAL": "1s"} // default rate limits: every kind sends with the token or the login
	m, _, _ := testMain(env)
	if err := (&UserCommand{Env: m.Env, Stdin: strings.NewReader("load-password-1\n")}).Run(context.Background(), []string{"add", "load"}); err != nil {
		t.Fatal(err)
	}
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
	loadEnv := map[string]string{"ATROZ_USER": "load", "ATROZ_PASSWORD": "load-password-1", "ATROZ_TOKEN": token}
	runs := []struct {
		kind       string
		rate       int
		batch      int
		wantStored int64
	}{
		{"beacons", 100, 10, 100},
		{"requests", 100, 10, 1000},
		{"import", 100, 10, 1000},
		// Many pushes in flight: each series must still see its pushes in order.
		{"import", 2000, 2, 4000},
		{"query", 100, 10, 0},
	}
	for _, tt := range runs {
		t.Run(fmt.Sprintf("%s at %d/s", tt.kind, tt.rate), func(t *testing.T) {
			out, errOut, err := run(t, loadEnv, "load", "-target", "http://"+addr, "-kind", tt.kind, "-rate", fmt.Sprint(tt.rate), "-duration", "1s", "-batch", fmt.Sprint(tt.batch), "-json")
			if err != nil {
				t.Fatalf("load: %v\n%s", err, errOut)
			}
			var r loadReport
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("report: %v\n%s", err, out)
			}
			if r.Sent != int64(tt.rate) || r.Accepted != r.Sent || r.Rejected != 0 {
				t.Errorf("sent %d, accepted %d, rejected %d; want %d, all, 0: %v", r.Sent, r.Accepted, r.Rejected, tt.rate, r.Errors)
			}
			if tt.kind != "query" && (r.Stored == nil || *r.Stored != tt.wantStored || r.AcceptedItems != tt.wantStored) {
				t.Errorf("stored %v of %d accepted items, want %d", r.Stored, r.AcceptedItems, tt.wantStored)
			}
		})
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLoadBeaconCredentials(t *testing.T) {
	f := func(token, want string) {
		t.Helper()
		o := &loadOptions{token: token, service: "s", kind: "beacons", rate: 1, duration: time.Second, batch: 1, maxInFlight: 1, timeout: time.Second, verifyTimeout: time.Second}
		if err := o.check("http://127.0.0.1:8080"); err != nil {
			t.Fatal(err)
		}
		k := &beaconLoad{s: &loadSession{o: o}, origin: "http://127.0.0.1:8080"}
		req, err := k.request(context.Background(), item{i: 1, due: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get("Authorization"); got != want {
			t.Errorf("token %q: Authorization = %q, want %q", token, got, want)
		}
	}
	f("atz_load", "Bearer atz_load")
	f("", "")
}
