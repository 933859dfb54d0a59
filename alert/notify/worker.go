package notify

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// worker owns one receiver's queue and sends its batches in order.
type worker struct {
	r     Receiver
	opts  *DispatcherOptions
	queue chan []*Notification

	sent, failed, dropped, retried atomic.Uint64
	testing                        atomic.Bool // a test notification is being sent
}

func newWorker(r Receiver, opts *DispatcherOptions) *worker {
	return &worker{r: r, opts: opts, queue: make(chan []*Notification, opts.QueueSize)}
}

// enqueue adds ns to the queue, or drops it when the queue is full.
func (w *worker) enqueue(ns []*Notification) {
	select {
	case w.queue <- ns:
	default:
		w.drop(ns, "queue full")
	}
}

// drop counts and logs a batch that will never be sent.
func (w *worker) drop(ns []*Notification, reason string) {
	w.dropped.Add(uint64(len(ns)))
	w.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn, "alert notification dropped",
		slog.String("event_type", "alert_delivery"),
		slog.String("receiver", w.r.Name()),
		slog.String("reason", reason),
		slog.Int("alerts", len(ns)),
		slog.String("alertname", ns[0].Labels["alertname"]))
}

// run sends queued batches until stop is closed, then drains the queue.
func (w *worker) run(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case ns := <-w.queue:
			w.handle(ctx, ns)
		case <-stop:
			w.drain(ctx)
			return
		}
	}
}

// drain sends what is left in the queue.
func (w *worker) drain(ctx context.Context) {
	for {
		select {
		case ns := <-w.queue:
			w.handle(ctx, ns)
		default:
			return
		}
	}
}

// handle delivers ns, or drops it once ctx is done (Close gave up waiting).
func (w *worker) handle(ctx context.Context, ns []*Notification) {
	if ctx.Err() != nil {
		w.drop(ns, "shutdown")
		return
	}
	w.deliver(ctx, ns)
}

// deliver sends ns, retrying retryable failures with backoff.
func (w *worker) deliver(ctx context.Context, ns []*Notification) {
	count := uint64(len(ns))
	for attempt := 1; ; attempt++ {
		start := w.opts.Now()
		err := w.attempt(ctx, ns)
		if err == nil {
			w.sent.Add(count)
			return
		}
		retry := attempt <= w.opts.MaxRetries && isRetryable(err) && ctx.Err() == nil
		w.logFailure(ns, attempt, err, retry, w.opts.Now().Sub(start))
		if !retry || w.opts.Sleep(ctx, w.backoff(attempt, err)) != nil {
			w.failed.Add(count)
			return
		}
		w.retried.Add(count)
	}
}

// attempt makes one Send bounded by the timeout.
func (w *worker) attempt(ctx context.Context, ns []*Notification) error {
	ctx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	return w.r.Send(ctx, ns)
}

// logFailure logs one failed attempt: a warning when it will be retried, an
// error when it is final.
func (w *worker) logFailure(ns []*Notification, attempt int, err error, retry bool, took time.Duration) {
	level := slog.LevelError
	if retry {
		level = slog.LevelWarn
	}
	w.opts.Logger.LogAttrs(context.Background(), level, "alert delivery failed",
		slog.String("event_type", "alert_delivery"),
		slog.String("receiver", w.r.Name()),
		slog.Int("attempt", attempt),
		slog.String("error", err.Error()),
		slog.Bool("retry", retry),
		slog.Int("alerts", len(ns)),
		slog.String("alertname", ns[0].Labels["alertname"]),
		slog.String("status", ns[0].Status),
		slog.Duration("duration", took))
}

// backoff is the wait before retry number attempt: full jitter over an
// exponentially growing cap, or the server's Retry-After when longer.
func (w *worker) backoff(attempt int, err error) time.Duration {
	ceiling := w.opts.BackoffMax
	if shift := attempt - 1; shift < 32 && w.opts.BackoffBase<<shift < ceiling && w.opts.BackoffBase<<shift > 0 {
		ceiling = w.opts.BackoffBase << shift
	}
	d := rand.N(ceiling) // #nosec G404 -- jitter spreads retries; it needs no unpredictability.
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, w.opts.BackoffMax)
	}
	return d
}

// stats reads the worker's counters.
func (w *worker) stats() ReceiverStats {
	return ReceiverStats{
		Name:        w.r.Name(),
		Sent:        w.sent.Load(),
		Failed:      w.failed.Load(),
		Dropped:     w.dropped.Load(),
		Retried:     w.retried.Load(),
		QueueLength: len(w.queue),
	}
}
