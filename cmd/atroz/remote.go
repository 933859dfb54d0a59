package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"atroz/remote"
	"atroz/store"

	"github.com/VictoriaMetrics/metrics"
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
}

func defaultRemoteWriteConfig() RemoteWriteConfig {
	return RemoteWriteConfig{QueueSamples: 500_000, Shards: 2}
}

func (r *RemoteWriteConfig) settings() []setting {
	return []setting{
		{"remote-write-url", "comma-separated Prometheus remote-write URLs that get every stored sample", &r.URL},
		{"remote-write-bearer-token", "bearer token for the remote-write URLs without user:password@", &r.BearerToken},
		{"remote-write-queue-samples", "samples queued per remote-write URL before new ones are dropped", &r.QueueSamples},
		{"remote-write-shards", "parallel senders per remote-write URL", &r.Shards},
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
	for _, raw := range splitList(r.URL) {
		c := remote.Config{URL: raw, QueueSamples: r.QueueSamples, Shards: r.Shards}
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

// remoteWriters forwards committed samples to every configured URL.
type remoteWriters struct {
	list []*remote.Writer
	set  *metrics.Set
}

// startRemoteWrite starts a writer per REMOTE_WRITE_URL.
func startRemoteWrite(cfg *Config, log *slog.Logger) (*remoteWriters, error) {
	confs, errs := cfg.RemoteWrite.configs()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rw := &remoteWriters{set: metrics.NewSet()}
	client := &http.Client{}
	for _, c := range confs {
		w, err := remote.New(c, client, rw.set, log)
		if err != nil {
			return nil, err
		}
		rw.list = append(rw.list, w)
		log.Info("remote write", slog.String("event_type", "startup"), slog.String("url", remote.RedactURL(c.URL)))
	}
	return rw, nil
}

// onFlush hands a flush's samples to every writer; nil without writers.
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

// close sends what is queued until ctx is done.
func (rw *remoteWriters) close(ctx context.Context) error {
	var errs []error
	for _, w := range rw.list {
		errs = append(errs, w.Close(ctx))
	}
	return errors.Join(errs...)
}
