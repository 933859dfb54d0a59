package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"atroz/store"
	"atroz/web"
)

// ServeCommand runs the HTTP server over the store until SIGINT or SIGTERM.
type ServeCommand struct {
	Env
}

// Run opens the store and serves HTTP until a signal arrives or ctx is done;
// then it shuts the server down within the shutdown timeout and closes the
// store, which flushes what is left.
func (c *ServeCommand) Run(ctx context.Context, args []string) (err error) {
	fs := c.flagSet("serve", c.Usage)
	cfg, err := c.parseConfig(fs, args)
	if err != nil {
		return err
	}
	if err := c.wantArgs(fs, 0); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop) // a second signal kills at once
	log := cfg.Logger(c.Stderr)
	db, err := openStore(cfg)
	if err != nil {
		return err
	}
	db.SetLogger(log)
	defer func() {
		err = errors.Join(err, closeStore(db))
		log.Info("stopped", slog.String("event_type", "shutdown"), slog.Bool("clean", err == nil))
	}()
	return serve(ctx, cfg, db, log)
}

// serve listens on cfg.ListenAddr and serves until ctx is done, then shuts
// the server down gracefully.
func serve(ctx context.Context, cfg *Config, db *store.DB, log *slog.Logger) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := web.New(web.Config{Version: version}, db, log)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("listening", slog.String("event_type", "startup"), slog.String("addr", ln.Addr().String()),
		slog.String("data_dir", cfg.DataDir), slog.String("environment", cfg.Environment), slog.String("version", version))
	select {
	case err := <-served:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	return shutdown(srv, served, cfg.ShutdownTimeout, log)
}

// shutdown stops srv, waiting up to timeout for requests in flight.
func shutdown(srv *web.Server, served <-chan error, timeout time.Duration, log *slog.Logger) error {
	log.Info("shutting down", slog.String("event_type", "shutdown"), slog.Duration("timeout", timeout))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down http: %w", err)
	}
	if err := <-served; err != nil {
		return fmt.Errorf("serve http: %w", err)
	}
	return nil
}

// Usage prints the command's help on Stderr.
func (c *ServeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Run the HTTP server over the store until SIGINT or SIGTERM.

Usage:

	atroz serve [flags]
`)
	printSettings(c.Stderr)
}
