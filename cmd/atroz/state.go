package main

import (
	"fmt"
	"log/slog"

	"atroz/remote"
	"atroz/state"
	"atroz/store"
)

// openRecords returns where users, tokens and logins live: the data file,
// or with STATE_REDIS_URL the Redis every instance behind one load
// balancer shares, which the data file's users and tokens seed when it
// has never held any. The function returned releases it.
func openRecords(cfg *Config, db *store.DB, log *slog.Logger) (store.RecordStore, func() error, error) {
	if cfg.StateRedisURL == "" {
		return db, func() error { return nil }, nil
	}
	r, err := state.Open(cfg.StateRedisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("config %w", err)
	}
	n, err := r.Seed(db, store.RecordUser, store.RecordToken)
	if err != nil {
		_ = r.Close()
		return nil, nil, fmt.Errorf("STATE_REDIS_URL: seed from the data file: %w", err)
	}
	log.Info("users, tokens and logins shared in Redis", slog.String("event_type", "startup"),
		slog.String("url", remote.RedactURL(cfg.StateRedisURL)), slog.Int("seeded_records", n))
	return r, r.Close, nil
}
