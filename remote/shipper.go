package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
)

// Outbox is the durable buffer a Shipper sends from: the store's outbox
// (store.OutboxOptions), whose records are remote-write request bodies
// made by Encode.
type Outbox interface {
	Outbox(after uint64, maxBytes int) ([]store.OutboxRecord, error)
	DeleteOutbox(through uint64) error
	OutboxNotify() <-chan struct{}
	OutboxStats() store.OutboxStats
}

// readBytes bounds the records a destination reads at once.
const readBytes = 4 << 20

// Shipper sends the records of an Outbox, in order, to each of its
// destinations, and deletes a record from the outbox once every
// destination has it. A destination that is down holds its records, and
// the others' delivered ones, in the outbox until it returns or the
// outbox's bounds drop them: nothing acknowledged by the store is lost
// within those bounds, across restarts too. Delivery is at least once: a
// restart sends again what a destination had received after the last
// deletion.
type Shipper struct {
	src   Outbox
	log   *slog.Logger
	dests []*destination

	mu      sync.Mutex // one deletion at a time
	deleted uint64     // the outbox holds no record at or below it

	stop     chan struct{}
	sendCtx  context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// destination is one URL's position in the outbox and its counters.
type destination struct {
	cfg    Config
	shown  string
	client *http.Client
	// cursor is the last record delivered or given up on.
	cursor atomic.Uint64
	// waiting is when the record being delivered was written (unix ms),
	// 0 when the destination has sent everything.
	waiting               atomic.Int64
	wake                  chan struct{} // a flush added records
	sent, failed, retries *metrics.Counter
}

// NewShipper starts shipping src's records to every cfgs URL, registering
// in set: remote_write_samples_total{url,result="sent"|"failed"},
// remote_write_retries_total{url}, remote_write_lag_seconds{url} (how
// long the oldest record not yet delivered there has waited),
// remote_write_buffer_bytes, remote_write_buffer_records and
// remote_write_buffer_dropped_samples_total (dropped unsent by the
// outbox's bounds).
func NewShipper(src Outbox, cfgs []Config, client *http.Client, set *metrics.Set, log *slog.Logger) (*Shipper, error) {
	s := &Shipper{src: src, log: log, stop: make(chan struct{})}
	s.sendCtx, s.cancel = context.WithCancel(context.Background())
	for _, cfg := range cfgs {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		cfg = cfg.withDefaults()
		d := &destination{cfg: cfg, shown: RedactURL(cfg.URL), client: client, wake: make(chan struct{}, 1)}
		name := func(metric, extra string) string { return fmt.Sprintf(`%s{url=%q%s}`, metric, d.shown, extra) }
		d.sent = set.NewCounter(name("remote_write_samples_total", `,result="sent"`))
		d.failed = set.NewCounter(name("remote_write_samples_total", `,result="failed"`))
		d.retries = set.NewCounter(name("remote_write_retries_total", ""))
		set.NewGauge(name("remote_write_lag_seconds", ""), func() float64 {
			w := d.waiting.Load()
			if w == 0 {
				return 0
			}
			return max(0, float64(time.Now().UnixMilli()-w)/1000)
		})
		s.dests = append(s.dests, d)
	}
	set.NewGauge("remote_write_buffer_bytes", func() float64 { return float64(src.OutboxStats().Bytes) })
	set.NewGauge("remote_write_buffer_records", func() float64 { return float64(src.OutboxStats().Records) })
	set.NewGauge("remote_write_buffer_dropped_samples_total", func() float64 { return float64(src.OutboxStats().DroppedSamples) })
	for _, d := range s.dests {
		s.wg.Add(1)
		go s.run(d)
	}
	s.wg.Add(1)
	go s.wakeAll()
	return s, nil
}

// wakeAll passes each notice of the outbox on to every destination.
func (s *Shipper) wakeAll() {
	defer s.wg.Done()
	for {
		select {
		case <-s.src.OutboxNotify():
			for _, d := range s.dests {
				select {
				case d.wake <- struct{}{}:
				default:
				}
			}
		case <-s.stop:
			return
		}
	}
}

// Close lets every destination send what the outbox holds until ctx is
// done, then stops them; what is left stays in the outbox for the next
// start.
func (s *Shipper) Close(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.stop) })
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.cancel()
		<-done
		return fmt.Errorf("remote write: %w with records left in the outbox for the next start", ctx.Err())
	}
}

// run delivers the outbox to d: each record in order, then it waits for
// the next flush's. Once stopped it sends what is there and returns.
func (s *Shipper) run(d *destination) {
	defer s.wg.Done()
	stopping := false
	for {
		recs, err := s.src.Outbox(d.cursor.Load(), readBytes)
		if err != nil {
			s.log.Error("remote write: read the outbox", "url", d.shown, "error", err)
		}
		for _, r := range recs {
			if !s.deliver(d, r) {
				return // Close gave up waiting
			}
			d.cursor.Store(r.Seq)
		}
		d.waiting.Store(0)
		if len(recs) > 0 {
			s.release()
			continue
		}
		if stopping {
			return
		}
		select {
		case <-d.wake:
		case <-s.stop:
			stopping = true // one more read: the last flush's records
		case <-time.After(time.Second): // after a read that failed
		}
	}
}

// deliver sends one record to d until it is delivered or refused for
// good; false when Close gave up first.
func (s *Shipper) deliver(d *destination, r store.OutboxRecord) bool {
	d.waiting.Store(r.Written.UnixMilli())
	backoff := d.cfg.MinBackoff
	for {
		retry, err := post(s.sendCtx, d.client, d.cfg, r.Data)
		switch {
		case err == nil:
			d.sent.Add(r.Samples)
			return true
		case s.sendCtx.Err() != nil:
			return false
		case !retry:
			d.failed.Add(r.Samples)
			s.log.Error("remote write: refused, record skipped", "url", d.shown, "samples", r.Samples, "error", err)
			return true
		}
		d.retries.Inc()
		s.log.Warn("remote write: retrying", "url", d.shown, "samples", r.Samples, "in", backoff, "error", err)
		select {
		case <-time.After(backoff):
		case <-s.sendCtx.Done():
			return false
		}
		backoff = min(backoff*2, d.cfg.MaxBackoff)
	}
}

// release deletes the records every destination has.
func (s *Shipper) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	through := uint64(math.MaxUint64)
	for _, d := range s.dests {
		through = min(through, d.cursor.Load())
	}
	if through <= s.deleted {
		return
	}
	if err := s.src.DeleteOutbox(through); err != nil && !errors.Is(err, store.ErrClosed) {
		s.log.Error("remote write: delete delivered records", "error", err)
		return
	}
	s.deleted = through
}
