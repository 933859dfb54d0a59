package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/store"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// TestServeRemoteWrite serves with REMOTE_WRITE_URL pointing at a receiver
// and stops: every sample the store holds afterwards, the final flush's
// included, reached the receiver once, and nothing else did; through the
// outbox, and through the in-memory queue (REMOTE_WRITE_BUFFER_MB=0).
func TestServeRemoteWrite(t *testing.T) {
	for _, mb := range []string{"256", "0"} {
		t.Run("buffer_mb="+mb, func(t *testing.T) { testServeRemoteWrite(t, mb) })
	}
}

func testServeRemoteWrite(t *testing.T, bufferMB string) {
	var mu sync.Mutex
	received := 0
	seen := map[string]int{}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		raw, err := snappy.Decode(nil, body)
		var req prompb.WriteRequest
		if err != nil || req.Unmarshal(raw) != nil || r.Header.Get("Authorization") != "Bearer rw-token" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, ts := range req.Timeseries {
			received += len(ts.Samples)
			for _, smp := range ts.Samples {
				seen[ts.String()+"@"+fmt.Sprint(smp.Timestamp)]++
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	dir := t.TempDir()
	m, _, stderr := testMain(map[string]string{"DATA_DIR": dir, "LISTEN_ADDR": "127.0.0.1:0", "SCRAPE_INTERVAL": "1s",
		"REMOTE_WRITE_URL": rcv.URL + "/api/v1/write", "REMOTE_WRITE_BEARER_TOKEN": "rw-token", "REMOTE_WRITE_BUFFER_MB": bufferMB})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, nil) }()
	waitListening(t, stderr, done)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		n := received
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing forwarded within 20s:\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v\n%s", err, stderr)
	}

	db, err := store.Open(filepath.Join(dir, "atroz.db"), &store.Options{FlushInterval: -1, PruneInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	got, err := db.Select(store.Query{MinT: time.Now().Add(-time.Hour).UnixMilli(), MaxT: time.Now().Add(time.Hour).UnixMilli(), Matchers: []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}})
	if err != nil {
		t.Fatal(err)
	}
	stored := 0
	for _, s := range got {
		stored += len(s.Samples)
	}
	mu.Lock()
	defer mu.Unlock()
	if bufferMB != "0" {
		if st := db.OutboxStats(); st.Records != 0 {
			t.Errorf("outbox after a clean stop: %+v", st)
		}
	}
	if stored == 0 || received != stored || len(seen) != received {
		t.Errorf("the store holds %d samples, the receiver got %d (%d distinct)", stored, received, len(seen))
	}
}

// TestRemoteWriteStartupLogRedacts logs each remote-write URL at start-up
// with the value of its query and its password hidden.
func TestRemoteWriteStartupLogRedacts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RemoteWrite.URL = "http://vm:8428/api/v1/write?token=s3cret,https://u:pw-s3cret@vm2/write"
	var log strings.Builder
	rw, err := startRemoteWrite(&cfg, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := rw.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := log.String()
	if strings.Contains(got, "s3cret") || !strings.Contains(got, "url=\"http://vm:8428/api/v1/write?token=xxxxx\"") || !strings.Contains(got, "url=https://vm2/write") {
		t.Errorf("start-up log does not redact the URLs:\n%s", got)
	}
}
