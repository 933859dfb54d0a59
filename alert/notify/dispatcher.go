package notify

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Receiver delivers notifications to one destination: a webhook, Slack, an
// SMTP server, ...
type Receiver interface {
	// Name identifies the receiver in logs, stats and metrics.
	Name() string
	// Send delivers a batch of notifications (usually one) in one attempt.
	// It must return promptly once ctx is done. An error that wraps
	// ErrRetryable, or a network error or timeout, makes the Dispatcher try
	// again later; any other error is final.
	Send(ctx context.Context, n []*Notification) error
}

// DispatcherOptions tunes a Dispatcher. A nil *DispatcherOptions, and any
// zero field, means the default; NewDispatcher also takes a negative
// duration or size as the default (Validate reports them).
type DispatcherOptions struct {
	// Timeout bounds one Send attempt. Default 10s.
	Timeout time.Duration
	// MaxRetries is how many times a retryable failure is tried again after
	// the first attempt. Default 5: with the default backoff the waits add
	// up to at most 15.5s (half that on average), plus the attempts' own
	// time. A negative value disables retries.
	MaxRetries int
	// BackoffBase is the first retry's maximum wait; it doubles per retry,
	// with full jitter (a uniform wait in [0, cap)). Default 500ms.
	BackoffBase time.Duration
	// BackoffMax caps the wait between attempts. Default 30s.
	BackoffMax time.Duration
	// QueueSize is the number of batches each receiver's queue holds before
	// Dispatch drops new ones. Default 1000.
	QueueSize int
	// DrainTimeout is how long Close waits for queued batches to be sent
	// before it cancels the sends in flight. Default 5s.
	DrainTimeout time.Duration
	// Logger receives one event per failed attempt and per dropped batch.
	// Default slog.Default().
	Logger *slog.Logger
	// Now tells the time of an attempt, for the logs. Default time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done, whichever comes first, returning
	// ctx.Err() in the latter case. Tests replace it to skip the backoff.
	// Default a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Validate reports the first negative duration or count in o.
func (o *DispatcherOptions) Validate() error {
	fields := []struct {
		name string
		v    int64
	}{
		{"timeout", int64(o.Timeout)},
		{"backoff base", int64(o.BackoffBase)}, {"backoff max", int64(o.BackoffMax)},
		{"queue size", int64(o.QueueSize)}, {"drain timeout", int64(o.DrainTimeout)},
	}
	for _, f := range fields {
		if f.v < 0 {
			return fmt.Errorf("dispatcher options: %s must not be negative, got %d", f.name, f.v)
		}
	}
	return nil
}

// withDefaults returns a copy of o with every unset field filled in.
func (o *DispatcherOptions) withDefaults() DispatcherOptions {
	var c DispatcherOptions
	if o != nil {
		c = *o
	}
	setDefault(&c.Timeout, 10*time.Second)
	if c.MaxRetries == 0 {
		c.MaxRetries = 5
	}
	setDefault(&c.BackoffBase, 500*time.Millisecond)
	setDefault(&c.BackoffMax, 30*time.Second)
	setDefault(&c.QueueSize, 1000)
	setDefault(&c.DrainTimeout, 5*time.Second)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = sleepCtx
	}
	return c
}

// setDefault sets *v to def unless *v is positive.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dispatcher fans notifications out to receivers. Each receiver has its own
// bounded queue and worker goroutine, so a slow or dead receiver delays
// neither the caller nor the other receivers.
type Dispatcher struct {
	opts    DispatcherOptions
	workers []*worker
	ctx     context.Context // cancelled when draining times out
	cancel  context.CancelFunc
	stop    chan struct{} // closed by Close: workers drain and return
	wg      sync.WaitGroup

	mu     sync.RWMutex // guards closed against Dispatch racing Close
	closed bool
}

// NewDispatcher starts one worker per receiver. opts may be nil.
func NewDispatcher(receivers []Receiver, opts *DispatcherOptions) *Dispatcher {
	d := &Dispatcher{opts: opts.withDefaults(), stop: make(chan struct{})}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	for _, r := range receivers {
		w := newWorker(r, &d.opts)
		d.workers = append(d.workers, w)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			w.run(d.ctx, d.stop)
		}()
	}
	return d
}

// Dispatch enqueues the notifications (nil ones are skipped) as one batch
// to every receiver. It never blocks: a receiver whose queue is full, or a
// closed Dispatcher, drops the batch, logs it and counts it as dropped. The
// receivers read the notifications later, from other goroutines: the caller
// must not change them afterwards.
func (d *Dispatcher) Dispatch(ns ...*Notification) {
	ns = slices.DeleteFunc(slices.Clone(ns), func(n *Notification) bool { return n == nil })
	if len(ns) == 0 {
		return
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, w := range d.workers {
		if d.closed {
			w.drop(ns, "dispatcher closed")
			continue
		}
		w.enqueue(ns)
	}
}

// Close stops the workers once their queues are sent, waiting at most
// DrainTimeout before it cancels the sends in flight and drops what is left.
// It is safe to call more than once.
func (d *Dispatcher) Close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	close(d.stop)
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d.opts.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	d.cancel()
	<-done
}
