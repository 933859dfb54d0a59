package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// notifyStartsAt is when the test alerts start firing.
var notifyStartsAt = time.Date(2026, 3, 14, 15, 9, 26, 535000000, time.UTC)

// notifyFiring returns a firing notification of HighLatency.
func notifyFiring() *Notification {
	return &Notification{
		Status: StatusFiring,
		Labels: map[string]string{"alertname": "HighLatency", "severity": "warning", "service": "api", "route": "/api/v1/items/:id"},
		Annotations: map[string]string{
			"summary":     "p95 latency of api /api/v1/items/:id is 523ms (over 500ms)",
			"description": "the slowest 5% of requests take over half a second",
		},
		StartsAt: notifyStartsAt, Value: 0.523,
		Fingerprint:  "0123456789abcdef",
		GeneratorURL: "http://atroz.example:8080/alerts?alert=HighLatency",
	}
}

// notifyResolved returns n resolved five minutes after it started.
func notifyResolved(n *Notification) *Notification {
	r := *n
	r.Status, r.EndsAt = StatusResolved, n.StartsAt.Add(5*time.Minute)
	return &r
}

// capturedRequest is one request a captureServer received.
type capturedRequest struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// newCaptureServer starts a server that answers the i-th request (from 0)
// with status(i) and sends every request it receives on the channel.
func newCaptureServer(t *testing.T, status func(i int) int) (*httptest.Server, <-chan capturedRequest) {
	t.Helper()
	reqs := make(chan capturedRequest, 100)
	var count atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reqs <- capturedRequest{r.Method, r.URL.Path, r.Header.Clone(), body}
		code := http.StatusOK
		if status != nil {
			code = status(int(count.Add(1) - 1))
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(srv.Close)
	return srv, reqs
}

// receiveRequest waits for the next captured request, failing the test
// after a few seconds.
func receiveRequest(t *testing.T, reqs <-chan capturedRequest) capturedRequest {
	t.Helper()
	select {
	case r := <-reqs:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("no request within 5s")
		return capturedRequest{}
	}
}

// testWebhook returns a webhook receiver named name posting to srv.
func testWebhook(t *testing.T, name string, srv *httptest.Server) *WebhookReceiver {
	t.Helper()
	r, err := NewWebhookReceiver(WebhookConfig{Name: name, URL: srv.URL, Version: "1.2.3"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// testDispatcherOptions skips the backoff waits and records them, and logs
// into buf.
func testDispatcherOptions(buf *bytes.Buffer, waits *[]time.Duration) *DispatcherOptions {
	var mu sync.Mutex
	return &DispatcherOptions{
		Logger:       slog.New(slog.NewJSONHandler(&syncWriter{w: buf}, nil)),
		DrainTimeout: 2 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			*waits = append(*waits, d)
			return ctx.Err()
		},
	}
}

// syncWriter serialises writes from the workers to a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestDispatcherRetries(t *testing.T) {
	f := func(codes []int, want ReceiverStats, wantRequests int, wantLog string) {
		t.Helper()
		srv, reqs := newCaptureServer(t, func(i int) int { return codes[min(i, len(codes)-1)] })
		var logs bytes.Buffer
		var waits []time.Duration
		opts := testDispatcherOptions(&logs, &waits)
		d := NewDispatcher([]Receiver{testWebhook(t, "hook", srv)}, opts)
		d.Dispatch(notifyFiring())
		d.Close()
		if got := d.Stats()[0]; got != want {
			t.Errorf("codes %v: stats %+v, want %+v", codes, got, want)
		}
		if len(reqs) != wantRequests {
			t.Errorf("codes %v: %d requests, want %d", codes, len(reqs), wantRequests)
		}
		if len(waits) != int(want.Retried) {
			t.Errorf("codes %v: %d backoff waits, want %d", codes, len(waits), want.Retried)
		}
		if !strings.Contains(logs.String(), wantLog) {
			t.Errorf("codes %v: log lacks %s:\n%s", codes, wantLog, logs.String())
		}
	}
	f([]int{500, 500, 200}, ReceiverStats{Name: "hook", Sent: 1, Retried: 2}, 3,
		`"event_type":"alert_delivery","receiver":"hook","attempt":2,"error":"webhook hook: HTTP 500 Internal Server Error: answer 500","retry":true`)
	f([]int{429, 200}, ReceiverStats{Name: "hook", Sent: 1, Retried: 1}, 2, `"attempt":1`)
	f([]int{400}, ReceiverStats{Name: "hook", Failed: 1}, 1,
		`"level":"ERROR","msg":"alert delivery failed","event_type":"alert_delivery","receiver":"hook","attempt":1,"error":"webhook hook: HTTP 400 Bad Request: answer 400","retry":false`)
	f([]int{503}, ReceiverStats{Name: "hook", Failed: 1, Retried: 5}, 6, `"attempt":6`)
}

func TestDispatcherBackoff(t *testing.T) {
	w := newWorker(nil, &DispatcherOptions{BackoffBase: 100 * time.Millisecond, BackoffMax: time.Second})
	f := func(attempt int, err error, lo, hi time.Duration) {
		t.Helper()
		for range 100 {
			if d := w.backoff(attempt, err); d < lo || d >= hi {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v)", attempt, d, lo, hi)
			}
		}
	}
	f(1, ErrRetryable, 0, 100*time.Millisecond)
	f(3, ErrRetryable, 0, 400*time.Millisecond)
	f(5, ErrRetryable, 0, time.Second)
	f(100, ErrRetryable, 0, time.Second)
	f(1, &StatusError{StatusCode: 429, RetryAfter: 700 * time.Millisecond}, 700*time.Millisecond, 700*time.Millisecond+1)
	f(1, &StatusError{StatusCode: 429, RetryAfter: time.Hour}, time.Second, time.Second+1)
}

// hungServer answers nothing until the test ends or the client gives up;
// started receives once per request.
func hungServer(t *testing.T) (srv *httptest.Server, started <-chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	ch := make(chan struct{}, 100)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv, ch
}

func TestDispatcherIsolatesReceivers(t *testing.T) {
	hung, hungStarted := hungServer(t)
	healthy, reqs := newCaptureServer(t, nil)
	var logs bytes.Buffer
	var waits []time.Duration
	opts := testDispatcherOptions(&logs, &waits)
	opts.DrainTimeout = 50 * time.Millisecond
	d := NewDispatcher([]Receiver{testWebhook(t, "hung", hung), testWebhook(t, "healthy", healthy)}, opts)
	defer d.Close()

	start := time.Now()
	d.Dispatch(notifyFiring())
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Errorf("Dispatch took %v", took)
	}
	receiveRequest(t, reqs)
	select {
	case <-hungStarted:
	case <-time.After(5 * time.Second):
		t.Fatal("the hung receiver was never called")
	}
	stats := d.Stats()
	if stats[0].Sent+stats[0].Failed != 0 {
		t.Errorf("hung receiver done already: %+v", stats[0])
	}
	d.Close()
	if got, want := d.Stats()[1], (ReceiverStats{Name: "healthy", Sent: 1}); got != want {
		t.Errorf("healthy: %+v, want %+v", got, want)
	}
	if got, want := d.Stats()[0], (ReceiverStats{Name: "hung", Failed: 1}); got != want {
		t.Errorf("hung after Close: %+v, want %+v", got, want)
	}
}

func TestDispatcherQueueOverflow(t *testing.T) {
	hung, hungStarted := hungServer(t)
	var logs bytes.Buffer
	var waits []time.Duration
	opts := testDispatcherOptions(&logs, &waits)
	opts.QueueSize, opts.DrainTimeout = 1, 50*time.Millisecond
	d := NewDispatcher([]Receiver{testWebhook(t, "hung", hung)}, opts)
	defer d.Close()

	d.Dispatch(notifyFiring())
	<-hungStarted // the worker holds the first batch: the queue is empty
	for range 3 {
		d.Dispatch(notifyFiring())
	}
	if got, want := d.Stats()[0], (ReceiverStats{Name: "hung", Dropped: 2, QueueLength: 1}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if !strings.Contains(logs.String(), `"msg":"alert notification dropped","event_type":"alert_delivery","receiver":"hung","reason":"queue full"`) {
		t.Errorf("no drop logged:\n%s", logs.String())
	}
	d.Close()
	d.Dispatch(notifyFiring())
	// Close cancelled the batch in flight and dropped the queued one; the
	// Dispatch after Close is dropped too.
	if got, want := d.Stats()[0], (ReceiverStats{Name: "hung", Failed: 1, Dropped: 4}); got != want {
		t.Errorf("after Close: %+v, want %+v", got, want)
	}
}

func TestDispatcherCloseDrains(t *testing.T) {
	srv, reqs := newCaptureServer(t, nil)
	d := NewDispatcher([]Receiver{testWebhook(t, "hook", srv)}, nil)
	for range 10 {
		d.Dispatch(notifyFiring())
	}
	d.Dispatch()
	d.Dispatch(nil)
	d.Close()
	d.Close()
	if got, want := d.Stats()[0], (ReceiverStats{Name: "hook", Sent: 10}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
	if len(reqs) != 10 {
		t.Errorf("%d requests, want 10", len(reqs))
	}
}

func TestDispatcherWriteMetrics(t *testing.T) {
	srv, _ := newCaptureServer(t, func(int) int { return 404 })
	var logs bytes.Buffer
	var waits []time.Duration
	d := NewDispatcher([]Receiver{testWebhook(t, `we"ird`, srv)}, testDispatcherOptions(&logs, &waits))
	d.Dispatch(notifyFiring())
	d.Close()
	var buf bytes.Buffer
	d.WriteMetrics(&buf)
	want := `alert_notifications_total{receiver="we\"ird",result="sent"} 0
alert_notifications_total{receiver="we\"ird",result="failed"} 1
alert_notifications_total{receiver="we\"ird",result="dropped"} 0
alert_notification_retries_total{receiver="we\"ird"} 0
alert_notification_queue_length{receiver="we\"ird"} 0
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestDispatcherOptionsValidate(t *testing.T) {
	f := func(o DispatcherOptions, want string) {
		t.Helper()
		err := o.Validate()
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("%+v: error %v, want %q", o, err, want)
		}
	}
	f(DispatcherOptions{}, "")
	f(DispatcherOptions{MaxRetries: -1}, "")
	f(DispatcherOptions{QueueSize: -1}, "queue size must not be negative")
	f(DispatcherOptions{Timeout: -time.Second}, "timeout must not be negative")
	d := (*DispatcherOptions)(nil).withDefaults()
	if d.Timeout != 10*time.Second || d.MaxRetries != 5 || d.BackoffBase != 500*time.Millisecond ||
		d.BackoffMax != 30*time.Second || d.QueueSize != 1000 || d.DrainTimeout != 5*time.Second {
		t.Errorf("defaults %+v", d)
	}
}

func TestIsRetryable(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if got := isRetryable(err); got != want {
			t.Errorf("isRetryable(%v) = %v, want %v", err, got, want)
		}
	}
	f(&StatusError{StatusCode: 500}, true)
	f(fmt.Errorf("webhook x: %w", &StatusError{StatusCode: 502}), true)
	f(&StatusError{StatusCode: 429}, true)
	f(&StatusError{StatusCode: 400}, false)
	f(&StatusError{StatusCode: 404}, false)
	f(context.DeadlineExceeded, true)
	f(context.Canceled, false)
	f(&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true)
	f(io.ErrUnexpectedEOF, true)
	f(ErrTLSRequired, false)
	f(errors.New("encode: unsupported value"), false)
}

func TestDispatcherRetriesNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connection refused
	r, err := NewWebhookReceiver(WebhookConfig{URL: "http://" + addr + "/hook"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var waits []time.Duration
	opts := testDispatcherOptions(&logs, &waits)
	opts.MaxRetries = 2
	d := NewDispatcher([]Receiver{r}, opts)
	d.Dispatch(notifyFiring())
	d.Close()
	if got, want := d.Stats()[0], (ReceiverStats{Name: "webhook", Failed: 1, Retried: 2}); got != want {
		t.Errorf("stats %+v, want %+v", got, want)
	}
}

func TestNotifyFormat(t *testing.T) {
	n, m := notifyFiring(), notifyFiring()
	m.Labels = map[string]string{"alertname": "HighMemory"}
	if got, want := batchTitle([]*Notification{n, notifyResolved(m)}), "[FIRING:2] HighLatency, HighMemory"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got, want := batchTitle([]*Notification{notifyResolved(n)}), "[RESOLVED] HighLatency"; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
	if got := sortedLabelNames(map[string]string{"z": "", "alertname": "", "a": ""}); strings.Join(got, ",") != "alertname,a,z" {
		t.Errorf("label names %v", got)
	}
	if got := truncate("éééé", 6); got != "é..." {
		t.Errorf("truncate %q", got)
	}
	if got := jsonValue(math.Inf(1)); got != "+Inf" {
		t.Errorf("json value %v", got)
	}
}
