package main

import (
	"errors"
	"fmt"
	"log/slog"

	"atroz/remote"
	"atroz/state"
	"atroz/store"
)

// shared is where users, tokens, logins, silences and alert state live,
// and who notifies: the data file and this process alone, or with
// STATE_REDIS_URL the Redis every instance behind one load balancer
// shares, with a lease naming the one instance that notifies.
type shared struct {
	records store.RecordStore
	redis   *state.Redis // nil without STATE_REDIS_URL
	lease   *state.Lease // nil until leadAlerts
}

// openShared opens what cfg names. Redis, when it has never held users
// or tokens, is seeded with the data file's.
func openShared(cfg *Config, db *store.DB, log *slog.Logger) (*shared, error) {
	if cfg.StateRedisURL == "" {
		return &shared{records: db}, nil
	}
	r, err := state.Open(cfg.StateRedisURL)
	if err != nil {
		return nil, fmt.Errorf("config %w", err)
	}
	n, err := r.Seed(db, store.RecordUser, store.RecordToken)
	if err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("STATE_REDIS_URL: seed from the data file: %w", err)
	}
	log.Info("users, tokens, logins, silences and alert state shared in Redis", slog.String("event_type", "startup"),
		slog.String("url", remote.RedactURL(cfg.StateRedisURL)), slog.Int("seeded_records", n))
	if cfg.RemoteWrite.URL != "" && cfg.RemoteWrite.ExternalLabels == "" {
		log.Warn("several instances write to one cluster without REMOTE_WRITE_EXTERNAL_LABELS: their own metrics, and the request counters each keeps, share series there and mix",
			slog.String("event_type", "startup"))
	}
	return &shared{records: r, redis: r}, nil
}

// leadAlerts returns who notifies: nil (this process, always) without
// Redis, else the holder of the alerts lease, which it starts competing for.
func (s *shared) leadAlerts(log *slog.Logger) func() bool {
	if s.redis == nil {
		return nil
	}
	s.lease = s.redis.Lease("alerts", state.DefaultLeaseTTL, log)
	return s.lease.Held
}

// close hands the lease over and releases Redis.
func (s *shared) close() error {
	if s.redis == nil {
		return nil
	}
	var err error
	if s.lease != nil {
		err = s.lease.Close()
	}
	return errors.Join(err, s.redis.Close())
}
