package remote

import (
	"bytes"
	"context"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/prompb"
)

// Writer forwards samples to one remote-write destination.
type Writer struct {
	cfg    Config
	shown  string // the URL as RedactURL shows it, for logs, errors and labels
	client *http.Client
	log    *slog.Logger
	shards []*shard
	seed   maphash.Seed

	queued       atomic.Int64 // samples waiting in every shard
	newestQueued atomic.Int64 // unix ms of the newest sample enqueued
	newestSent   atomic.Int64 // unix ms of the newest sample delivered
	sent, failed *metrics.Counter
	dropped      *metrics.Counter
	stop         chan struct{}
	sendCtx      context.Context
	cancelSend   context.CancelFunc
	wg           sync.WaitGroup
	closeOnce    sync.Once
	retries      *metrics.Counter
}

// shard is a share of the queue, by series, sent by one goroutine.
type shard struct {
	mu      sync.Mutex
	buf     []store.SeriesSamples
	samples int
	wake    chan struct{}
}

// New starts a Writer for cfg, registering its metrics in set:
// remote_write_samples_total{url,result="sent"|"failed"|"dropped"},
// remote_write_retries_total, remote_write_queue_length and
// remote_write_lag_seconds (the newest sample queued minus the newest sent).
func New(cfg Config, client *http.Client, set *metrics.Set, log *slog.Logger) (*Writer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	shown := RedactURL(cfg.URL)
	name := func(metric, extra string) string {
		return fmt.Sprintf(`%s{url=%q%s}`, metric, shown, extra)
	}
	w := &Writer{cfg: cfg, shown: shown, client: client, log: log, seed: maphash.MakeSeed(), stop: make(chan struct{})}
	w.sendCtx, w.cancelSend = context.WithCancel(context.Background())
	w.sent = set.NewCounter(name("remote_write_samples_total", `,result="sent"`))
	w.failed = set.NewCounter(name("remote_write_samples_total", `,result="failed"`))
	w.dropped = set.NewCounter(name("remote_write_samples_total", `,result="dropped"`))
	w.retries = set.NewCounter(name("remote_write_retries_total", ""))
	set.NewGauge(name("remote_write_queue_length", ""), func() float64 { return float64(w.queued.Load()) })
	set.NewGauge(name("remote_write_lag_seconds", ""), func() float64 {
		return float64(max(0, w.newestQueued.Load()-w.newestSent.Load())) / 1000
	})
	w.shards = make([]*shard, cfg.Shards)
	for i := range w.shards {
		w.shards[i] = &shard{wake: make(chan struct{}, 1)}
		w.wg.Add(1)
		go w.run(w.shards[i])
	}
	return w, nil
}

// Enqueue queues the samples of a flush without waiting; a series that
// does not fit in the queue is dropped and counted. It suits
// store.Options.OnFlush.
func (w *Writer) Enqueue(batch []store.SeriesSamples) {
	newest := int64(0)
	defer func() { storeMax(&w.newestQueued, newest) }()
	for _, s := range batch {
		n := int64(len(s.Samples))
		if n == 0 {
			continue
		}
		if w.queued.Add(n) > int64(w.cfg.QueueSamples) {
			w.queued.Add(-n)
			w.dropped.Add(int(n))
			continue
		}
		newest = max(newest, s.Samples[n-1].T)
		sh := w.shards[w.shardOf(s.Labels)]
		sh.mu.Lock()
		sh.buf = append(sh.buf, s)
		sh.samples += int(n)
		sh.mu.Unlock()
		select {
		case sh.wake <- struct{}{}:
		default:
		}
	}
}

// shardOf picks a series' shard from its labels, so its samples stay in order.
func (w *Writer) shardOf(ls store.Labels) uint64 {
	var h maphash.Hash
	h.SetSeed(w.seed)
	for _, l := range ls {
		_, _ = h.WriteString(l.Name)
		_ = h.WriteByte(0)
		_, _ = h.WriteString(l.Value)
		_ = h.WriteByte(0)
	}
	return h.Sum64() % uint64(len(w.shards))
}

// Close sends what is queued until ctx is done, then gives up on the rest,
// counting it as dropped.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.stop) })
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		w.cancelSend()
		<-done
		return fmt.Errorf("remote write to %s: %w with samples unsent", w.shown, ctx.Err())
	}
}

// run sends sh's samples: a batch once it is full or BatchDelay after its
// first sample, everything left when the writer stops.
func (w *Writer) run(sh *shard) {
	defer w.wg.Done()
	for {
		select {
		case <-sh.wake:
		case <-w.stop:
			w.drain(sh)
			return
		}
		timer := time.NewTimer(w.cfg.BatchDelay)
	fill:
		for sh.len() < w.cfg.BatchSamples {
			select {
			case <-sh.wake:
			case <-timer.C:
				break fill
			case <-w.stop:
				break fill
			}
		}
		timer.Stop()
		w.drain(sh)
	}
}

func (sh *shard) len() int {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.samples
}

// take removes up to max samples' worth of whole series from sh (at least
// one series, however long).
func (sh *shard) take(max int) ([]store.SeriesSamples, int) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i, n := 0, 0
	for i < len(sh.buf) && (i == 0 || n+len(sh.buf[i].Samples) <= max) {
		n += len(sh.buf[i].Samples)
		i++
	}
	// The batch keeps the front of the buffer, capped so that later
	// appends cannot reach it; the buffer goes on from behind it.
	batch := sh.buf[:i:i]
	if sh.buf = sh.buf[i:]; len(sh.buf) == 0 {
		sh.buf = nil
	}
	sh.samples -= n
	return batch, n
}

// drain sends every batch in sh.
func (w *Writer) drain(sh *shard) {
	for {
		batch, n := sh.take(w.cfg.BatchSamples)
		if n == 0 {
			return
		}
		w.deliver(batch, n)
		w.queued.Add(int64(-n))
	}
}

// deliver sends one batch, retrying what may succeed later until it does
// or the writer gives up at Close.
func (w *Writer) deliver(batch []store.SeriesSamples, n int) {
	body, newest := EncodeWith(batch, w.cfg.ExternalLabels)
	backoff := w.cfg.MinBackoff
	for {
		retry, err := w.send(body)
		switch {
		case err == nil:
			w.sent.Add(n)
			storeMax(&w.newestSent, newest)
			return
		case w.sendCtx.Err() != nil: // Close gave up waiting
			w.dropped.Add(n)
			return
		case !retry:
			w.failed.Add(n)
			w.log.Error("remote write: refused, batch dropped", "url", w.shown, "samples", n, "error", err)
			return
		}
		w.retries.Inc()
		w.log.Warn("remote write: retrying", "url", w.shown, "samples", n, "in", backoff, "error", err)
		select {
		case <-time.After(backoff):
		case <-w.sendCtx.Done():
			w.dropped.Add(n)
			return
		}
		backoff = min(backoff*2, w.cfg.MaxBackoff)
	}
}

// send posts one encoded request; retry tells whether a failure may pass.
func (w *Writer) send(body []byte) (retry bool, err error) {
	return post(w.sendCtx, w.client, w.cfg, body)
}

// post sends one encoded remote-write request to cfg's URL within
// cfg.Timeout; retry tells whether a failure may pass (5xx, 429, a
// network error), as the protocol says.
func post(ctx context.Context, client *http.Client, cfg Config, body []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, redactError(err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("User-Agent", "atroz")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	switch {
	case cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+cfg.BearerToken)
	case cfg.Username != "":
		req.SetBasicAuth(cfg.Username, cfg.Password)
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, redactError(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return false, nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
	return resp.StatusCode/100 == 5 || resp.StatusCode == http.StatusTooManyRequests, err
}

// Encode builds the snappy-compressed remote-write request of batch, with
// each series' labels sorted by name as the protocol requires, and returns
// the newest timestamp in it. It suits store.OutboxOptions.Encode.
func Encode(batch []store.SeriesSamples) ([]byte, int64) { return EncodeWith(batch, nil) }

// EncodeWith is Encode adding external to every series that has no label
// of the same name, as Prometheus adds its external_labels: several
// instances writing to one cluster keep their series apart by them.
func EncodeWith(batch []store.SeriesSamples, external store.Labels) ([]byte, int64) {
	nl, ns := 0, 0
	for _, s := range batch {
		nl += len(s.Labels) + len(external)
		ns += len(s.Samples)
	}
	// One array each for every series' labels and samples: a flush's
	// batch is thousands of series of a sample or two.
	lbls, smps := make([]prompb.Label, 0, nl), make([]prompb.Sample, 0, ns)
	req := prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, len(batch))}
	var newest int64
	for i, s := range batch {
		ts := &req.Timeseries[i]
		from := len(lbls)
		for _, l := range s.Labels {
			lbls = append(lbls, prompb.Label{Name: l.Name, Value: l.Value})
		}
		for _, l := range external {
			if s.Labels.Get(l.Name) == "" {
				lbls = append(lbls, prompb.Label{Name: l.Name, Value: l.Value})
			}
		}
		ts.Labels = lbls[from:len(lbls):len(lbls)]
		if !slices.IsSortedFunc(ts.Labels, compareLabels) { // store labels are sorted; others may not be
			slices.SortFunc(ts.Labels, compareLabels)
		}
		from = len(smps)
		for _, smp := range s.Samples {
			smps = append(smps, prompb.Sample{Timestamp: smp.T, Value: smp.V})
			newest = max(newest, smp.T)
		}
		ts.Samples = smps[from:len(smps):len(smps)]
	}
	// Marshal fails only on a message too large for protobuf, which
	// a batch of at most a store record's samples cannot be.
	raw, _ := req.Marshal()
	return snappy.Encode(nil, raw), newest
}

func compareLabels(a, b prompb.Label) int { return strings.Compare(a.Name, b.Name) }

func storeMax(v *atomic.Int64, x int64) {
	for {
		old := v.Load()
		if x <= old || v.CompareAndSwap(old, x) {
			return
		}
	}
}
