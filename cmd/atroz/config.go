package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"atroz/store"
)

// Config holds every setting of atroz. Defaults come first, then environment
// variables, then flags: a flag wins over its variable.
type Config struct {
	// Environment is development or production (ENVIRONMENT, -environment).
	// Default development.
	Environment string

	// ListenAddr is the HTTP server's host:port (LISTEN_ADDR, -listen-addr).
	// Default ":8080".
	ListenAddr string

	// DataDir holds the store file atroz.db (DATA_DIR, -data-dir). Default "./data".
	DataDir string

	// RetentionDays caps how long every tier keeps data
	// (DATA_RETENTION_DAYS, -data-retention-days). Default 90.
	RetentionDays int

	// FlushInterval is how often appended samples are committed; a crash loses
	// at most this much (FLUSH_INTERVAL, -flush-interval). Default 1s.
	FlushInterval time.Duration

	// LockTimeout is how long to wait for a data directory that another atroz
	// process holds (LOCK_TIMEOUT, -lock-timeout). Default 2s.
	LockTimeout time.Duration

	// MaxSeries caps the number of series in the store (MAX_SERIES, -max-series).
	// Default 100000.
	MaxSeries int

	// LogLevel is debug, info, warn or error (LOG_LEVEL, -log-level). Default info.
	LogLevel string

	// ShutdownTimeout bounds the wait for in-flight requests on SIGINT or
	// SIGTERM (SHUTDOWN_TIMEOUT, -shutdown-timeout). Default 10s.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the configuration used when nothing is set: a
// development server on :8080 keeping its data in ./data.
func DefaultConfig() Config {
	return Config{
		Environment:     "development",
		ListenAddr:      ":8080",
		DataDir:         "./data",
		RetentionDays:   90,
		FlushInterval:   time.Second,
		LockTimeout:     2 * time.Second,
		MaxSeries:       100_000,
		LogLevel:        "info",
		ShutdownTimeout: 10 * time.Second,
	}
}

// setting ties one Config field to its flag; the environment variable is
// the flag's name in upper case with "-" as "_".
type setting struct {
	flag, usage string
	ptr         any // *string, *int or *time.Duration
}

// settings lists every setting of c, pointing into c.
func (c *Config) settings() []setting {
	return []setting{
		{"environment", "development or production", &c.Environment},
		{"listen-addr", "HTTP listen address, host:port", &c.ListenAddr},
		{"data-dir", "directory of the store file atroz.db", &c.DataDir},
		{"data-retention-days", "days of data kept, capping every tier", &c.RetentionDays},
		{"flush-interval", "how often samples are committed to disk", &c.FlushInterval},
		{"lock-timeout", "how long to wait for a data directory in use", &c.LockTimeout},
		{"max-series", "maximum number of series", &c.MaxSeries},
		{"log-level", "debug, info, warn or error", &c.LogLevel},
		{"shutdown-timeout", "how long to wait for requests in flight on shutdown", &c.ShutdownTimeout},
	}
}

// envName returns the environment variable of a flag: listen-addr is LISTEN_ADDR.
func envName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// newConfig registers one flag per setting on fs and returns the defaults
// overridden by the environment; parsing fs then overrides both. Every
// subcommand reads its settings this way. An empty variable counts as unset.
func newConfig(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) (*Config, error) {
	c := DefaultConfig()
	var errs []error
	for _, s := range c.settings() {
		env := envName(s.flag)
		register(fs, s.ptr, s.flag, s.usage+" ($"+env+")")
		if v, ok := lookupEnv(env); ok && v != "" {
			if err := fs.Set(s.flag, v); err != nil {
				errs = append(errs, fmt.Errorf("config %s: invalid value %q, want %s", env, v, kind(s.ptr)))
			}
		}
	}
	return &c, errors.Join(errs...)
}

// register adds the flag for one setting, its current value as default.
func register(fs *flag.FlagSet, ptr any, name, usage string) {
	switch p := ptr.(type) {
	case *string:
		fs.StringVar(p, name, *p, usage)
	case *int:
		fs.IntVar(p, name, *p, usage)
	case *time.Duration:
		fs.DurationVar(p, name, *p, usage)
	}
}

// kind names what a setting's value must look like, for error messages.
func kind(ptr any) string {
	switch ptr.(type) {
	case *int:
		return "a whole number"
	case *time.Duration:
		return "a duration such as 500ms, 5s or 2m"
	}
	return "a string"
}

// Validate returns an error naming each setting that is out of range and why.
func (c *Config) Validate() error {
	var errs []error
	check := func(bad bool, env, format string, args ...any) {
		if bad {
			errs = append(errs, fmt.Errorf("config %s: "+format, append([]any{env}, args...)...))
		}
	}
	check(c.Environment != "development" && c.Environment != "production",
		"ENVIRONMENT", "must be development or production, got %q", c.Environment)
	check(!validAddr(c.ListenAddr), "LISTEN_ADDR", "must be host:port, got %q", c.ListenAddr)
	check(c.DataDir == "", "DATA_DIR", "must not be empty")
	check(c.RetentionDays < 1, "DATA_RETENTION_DAYS", "must be at least 1, got %d", c.RetentionDays)
	check(c.FlushInterval <= 0, "FLUSH_INTERVAL", "must be positive, got %s", c.FlushInterval)
	check(c.LockTimeout <= 0, "LOCK_TIMEOUT", "must be positive, got %s", c.LockTimeout)
	check(c.MaxSeries < 1, "MAX_SERIES", "must be at least 1, got %d", c.MaxSeries)
	_, err := parseLevel(c.LogLevel)
	check(err != nil, "LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	check(c.ShutdownTimeout <= 0, "SHUTDOWN_TIMEOUT", "must be positive, got %s", c.ShutdownTimeout)
	return errors.Join(errs...)
}

// validAddr reports whether addr is host:port with a numeric port.
func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// StorePath returns the store file inside DataDir.
func (c *Config) StorePath() string {
	return filepath.Join(c.DataDir, "atroz.db")
}

// StoreOptions maps the configuration to the store's options; settings it
// does not name keep the store's defaults.
func (c *Config) StoreOptions() *store.Options {
	return &store.Options{
		FlushInterval: c.FlushInterval,
		LockTimeout:   c.LockTimeout,
		RetentionCap:  time.Duration(c.RetentionDays) * 24 * time.Hour,
		MaxSeries:     c.MaxSeries,
	}
}

// Logger returns a JSON logger writing to w at the configured level.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel) // Validate has refused a bad level
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}

// parseLevel reads debug, info, warn or error.
func parseLevel(s string) (slog.Level, error) {
	switch s {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("unknown log level %q", s)
}
