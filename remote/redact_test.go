package remote

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
)

func TestRedactURL(t *testing.T) {
	f := func(raw, want string) {
		t.Helper()
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
	f("http://vm:8428/api/v1/write", "http://vm:8428/api/v1/write")
	f("https://vm/api/v1/write?token=s3cret", "https://vm/api/v1/write?token=xxxxx")
	f("https://vm/write?b=1&a=s3cret&a=2", "https://vm/write?a=xxxxx&b=xxxxx")
	f("https://user:s3cret@vm/write", "https://user:xxxxx@vm/write")
	f("https://user:s3cret@vm/write?key=s3cret", "https://user:xxxxx@vm/write?key=xxxxx")
	f("http://user:s3cret@vm:bad/write?key=s3cret", "http://xxxxx@vm:bad")
	f("http://[::1/x?key=s3cret", "http://xxxxx@[::1")
}

// lineWriter hands every log line written to it to a channel.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	select {
	case w <- string(p):
	default:
	}
	return len(p), nil
}

// TestWriterRedactsURL keeps a credential in REMOTE_WRITE_URL's query out of
// the metric labels and out of the error a failed request logs, which
// net/http writes with the whole request URL.
func TestWriterRedactsURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // every request fails to connect
	lines := make(lineWriter, 16)
	set := metrics.NewSet()
	cfg := Config{URL: srv.URL + "/api/v1/write?token=s3cret", Shards: 1, BatchDelay: time.Millisecond, MinBackoff: time.Hour}
	w, err := New(cfg, &http.Client{}, set, slog.New(slog.NewJSONHandler(lines, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.Enqueue([]store.SeriesSamples{series("a", 0, 1)})
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("a refused connection logged nothing")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.Close(ctx)
	if !strings.Contains(line, "retrying") || !strings.Contains(line, "token=xxxxx") || strings.Contains(line, "s3cret") {
		t.Errorf("log line does not redact the URL: %s", line)
	}
	m := metricText(set)
	if !strings.Contains(m, `remote_write_lag_seconds{url="`+srv.URL+`/api/v1/write?token=xxxxx"}`) || strings.Contains(m, "s3cret") {
		t.Errorf("metric labels do not redact the URL:\n%s", m)
	}
	if err := (Config{URL: "ftp://vm/?token=s3cret"}).Validate(); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Validate error shows the credential: %v", err)
	}
}
