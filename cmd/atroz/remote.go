package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"atroz/remote"
	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/common/model"
)

// RemoteWriteConfig holds the settings of forwarding samples with
// Prometheus remote write.
type RemoteWriteConfig struct {
	// URL lists, comma-separated, remote-write endpoints that get every
	// stored sample (REMOTE_WRITE_URL); user:password@ in a URL is basic auth.
	URL string
	// BearerToken authenticates to every URL without basic auth (REMOTE_WRITE_BEARER_TOKEN).
	BearerToken string
	// QueueSamples bounds each URL's queue; past it samples are dropped and counted (REMOTE_WRITE_QUEUE_SAMPLES). Default 500,000.
	QueueSamples int
	// Shards is the parallel senders per URL (REMOTE_WRITE_SHARDS). Default 2.
	Shards int
	// BufferMB bounds the outbox, the samples kept in the data file until
	// every URL has them, in MiB (REMOTE_WRITE_BUFFER_MB); past it the
	// oldest are dropped and counted. 0 turns the outbox off for an
	// in-memory queue of QueueSamples per URL, which a restart or a full
	// queue loses. Default 256.
	BufferMB int
	// BufferMaxAge drops outbox records older than it (REMOTE_WRITE_BUFFER_MAX_AGE). Default 24h.
	BufferMaxAge time.Duration
	// ExternalLabels, comma-separated name=value pairs, are added to every
	// series sent that lacks the label, as Prometheus' external_labels:
	// several instances writing to one cluster need one of their own, such
	// as atroz_instance=eu-1 (REMOTE_WRITE_EXTERNAL_LABELS). Default none.
	ExternalLabels string
}

func defaultRemoteWriteConfig() RemoteWriteConfig {
	return RemoteWriteConfig{QueueSamples: 500_000, Shards: 2, BufferMB: 256, BufferMaxAge: 24 * time.Hour}
}

func (r *RemoteWriteConfig) settings() []setting {
	return []setting{
		{"remote-write-url", "comma-separated Prometheus remote-write URLs that get every stored sample", &r.URL},
		{"remote-write-bearer-token", "bearer token for the remote-write URLs without user:password@", &r.BearerToken},
		{"remote-write-queue-samples", "samples queued per remote-write URL before new ones are dropped", &r.QueueSamples},
		{"remote-write-shards", "parallel senders per remote-write URL", &r.Shards},
		{"remote-write-buffer-mb", "MiB of samples kept in the data file until every remote-write URL has them (0: an in-memory queue instead)", &r.BufferMB},
		{"remote-write-buffer-max-age", "age past which samples kept for remote write are dropped unsent", &r.BufferMaxAge},
		{"remote-write-external-labels", "comma-separated name=value labels added to every series sent that lacks them (one per instance when several write to one cluster)", &r.ExternalLabels},
	}
}

// externalLabels parses REMOTE_WRITE_EXTERNAL_LABELS, sorted by name.
func (r *RemoteWriteConfig) externalLabels() (store.Labels, error) {
	var out store.Labels
	for _, item := range splitList(r.ExternalLabels) {
		name, value, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		if !ok || !model.LegacyValidation.IsValidLabelName(name) || strings.HasPrefix(name, "__") || value == "" {
			return nil, fmt.Errorf("config REMOTE_WRITE_EXTERNAL_LABELS: %q is not name=value with a label name of [a-zA-Z_][a-zA-Z0-9_]* and a value", item)
		}
		if out.Get(name) != "" {
			return nil, fmt.Errorf("config REMOTE_WRITE_EXTERNAL_LABELS: %s given twice", name)
		}
		out = append(out, store.Label{Name: name, Value: strings.TrimSpace(value)})
	}
	slices.SortFunc(out, func(a, b store.Label) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// durable reports whether samples wait for the remote-write URLs in the
// store's outbox rather than in memory.
func (r *RemoteWriteConfig) durable() bool { return r.URL != "" && r.BufferMB > 0 }

// outbox returns the store's outbox options, nil when not durable.
func (r *RemoteWriteConfig) outbox() *store.OutboxOptions {
	if !r.durable() {
		return nil
	}
	external, _ := r.externalLabels() // Validate checked them
	return &store.OutboxOptions{
		Encode:   func(batch []store.SeriesSamples) []byte { body, _ := remote.EncodeWith(batch, external); return body },
		MaxBytes: int64(r.BufferMB) << 20,
		MaxAge:   r.BufferMaxAge,
	}
}

// configs gives one remote.Config per URL, or the errors naming what is wrong.
func (r *RemoteWriteConfig) configs() ([]remote.Config, []error) {
	var out []remote.Config
	var errs []error
	if r.QueueSamples < 1000 {
		errs = append(errs, fmt.Errorf("config REMOTE_WRITE_QUEUE_SAMPLES: must be at least 1000, got %d", r.QueueSamples))
	}
	if r.Shards < 1 || r.Shards > 64 {
		errs = append(errs, fmt.Errorf("config REMOTE_WRITE_SHARDS: must be between 1 and 64, got %d", r.Shards))
	}
	if r.BufferMB < 0 {
		errs = append(errs, fmt.Errorf("config REMOTE_WRITE_BUFFER_MB: must not be negative, got %d", r.BufferMB))
	}
	if r.BufferMaxAge < time.Minute {
		errs = append(errs, fmt.Errorf("config REMOTE_WRITE_BUFFER_MAX_AGE: must be at least 1m, got %s", r.BufferMaxAge))
	}
	external, err := r.externalLabels()
	if err != nil {
		errs = append(errs, err)
	}
	for _, raw := range splitList(r.URL) {
		c := remote.Config{URL: raw, QueueSamples: r.QueueSamples, Shards: r.Shards, ExternalLabels: external}
		if u, err := url.Parse(raw); err == nil && u.User != nil {
			c.Username = u.User.Username()
			c.Password, _ = u.User.Password()
			u.User = nil
			c.URL = u.String()
		} else {
			c.BearerToken = r.BearerToken
		}
		if err := c.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("config %w", err))
			continue
		}
		out = append(out, c)
	}
	return out, errs
}

// remoteWriters forwards committed samples to every configured URL:
// from the store's outbox (shipper) or from in-memory queues (list).
type remoteWriters struct {
	confs   []remote.Config
	durable bool
	list    []*remote.Writer
	shipper *remote.Shipper
	set     *metrics.Set
	log     *slog.Logger
}

// startRemoteWrite starts a writer per REMOTE_WRITE_URL when samples wait
// in memory; with the outbox, startShipper starts once the store is open.
func startRemoteWrite(cfg *Config, log *slog.Logger) (*remoteWriters, error) {
	confs, errs := cfg.RemoteWrite.configs()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rw := &remoteWriters{confs: confs, durable: cfg.RemoteWrite.durable(), set: metrics.NewSet(), log: log}
	for _, c := range confs {
		log.Info("remote write", slog.String("event_type", "startup"), slog.String("url", remote.RedactURL(c.URL)), slog.Bool("outbox", rw.durable))
		if rw.durable {
			continue
		}
		w, err := remote.New(c, &http.Client{}, rw.set, log)
		if err != nil {
			return nil, err
		}
		rw.list = append(rw.list, w)
	}
	return rw, nil
}

// startShipper ships db's outbox to every URL; nothing without it.
func (rw *remoteWriters) startShipper(db *store.DB) error {
	if !rw.durable {
		return nil
	}
	var err error
	rw.shipper, err = remote.NewShipper(db, rw.confs, &http.Client{}, rw.set, rw.log)
	return err
}

// closeShipper flushes db, so its last samples are in the outbox, and
// sends what the outbox holds until ctx is done; the rest waits there for
// the next start, which is no failure of the shutdown.
func (rw *remoteWriters) closeShipper(ctx context.Context, db *store.DB) error {
	if rw.shipper == nil {
		return nil
	}
	err := db.Flush()
	if serr := rw.shipper.Close(ctx); serr != nil {
		st := db.OutboxStats()
		rw.log.Warn("remote write: records left in the outbox for the next start", slog.String("event_type", "shutdown"),
			slog.Any("error", serr), slog.Int64("records", st.Records), slog.Int64("bytes", st.Bytes))
	}
	return err
}

// onFlush hands a flush's samples to every in-memory writer; nil without them.
func (rw *remoteWriters) onFlush() func([]store.SeriesSamples) {
	if len(rw.list) == 0 {
		return nil
	}
	return func(batch []store.SeriesSamples) {
		for _, w := range rw.list {
			w.Enqueue(batch)
		}
	}
}

// close sends what the in-memory queues hold until ctx is done.
func (rw *remoteWriters) close(ctx context.Context) error {
	var errs []error
	for _, w := range rw.list {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}
