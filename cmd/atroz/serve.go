package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"atroz/alert"
	"atroz/alert/notify"
	"atroz/auth"
	"atroz/collector"
	"atroz/query"
	"atroz/slo"
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
	rw, err := startRemoteWrite(cfg, log)
	if err != nil {
		return err
	}
	defer func() { // after the store's last flush has queued its samples
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, rw.close(ctx))
	}()
	o := cfg.StoreOptions()
	o.OnFlush = rw.onFlush()
	o.Outbox = cfg.RemoteWrite.outbox()
	db, err := openStoreWith(cfg, o)
	if err != nil {
		return err
	}
	db.SetLogger(log)
	sh, err := openShared(cfg, db, log)
	if err != nil {
		_ = closeStore(db)
		return err
	}
	users, err := auth.Open(sh.records, nil)
	var firstUser bytes.Buffer // shown in the banner, after the start-up lines
	if err == nil {
		err = ensureAdmin(users, cfg.Environment == "production", cfg.AdminPasswordFile, &firstUser)
	}
	if err != nil {
		_ = sh.close()
		_ = closeStore(db)
		return fmt.Errorf("first user: %w", err)
	}
	defer func() {
		err = errors.Join(err, users.Close(), sh.close(), closeStore(db)) // the tokens' last use, then the stores
		log.Info("stopped", slog.String("event_type", "shutdown"), slog.Bool("clean", err == nil))
	}()
	if err := rw.startShipper(db); err != nil {
		return err
	}
	defer func() { // before the store closes
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, rw.closeShipper(ctx, db))
	}()
	shown := false
	banner := func(url string) {
		shown = true
		startupBanner(c.Stderr, isTerminal(c.Stderr), log, url, firstUser.String())
	}
	err = serve(ctx, cfg, db, sh, users, rw, log, banner)
	if !shown { // the server never listened: the new admin's password is not lost
		_, _ = c.Stderr.Write(firstUser.Bytes())
	}
	return err
}

// serve wires the store, its users and tokens, the collector, the query
// engine, the web server and alerting, listens on cfg.ListenAddr (and
// METRICS_PORT when set) and serves until ctx is done, then shuts the
// servers down gracefully and stores the metrics one last time. Once
// listening, it calls banner with the dashboard's URL.
func serve(ctx context.Context, cfg *Config, db *store.DB, sh *shared, users *auth.Service, rw *remoteWriters, log *slog.Logger, banner func(url string)) error {
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	col := collector.New(db, cfg.CollectorOptions(log))
	col.AddWriter(rw.set.WritePrometheus)
	qo := cfg.QueryOptions()
	qo.CacheResult = func(hit bool) { col.CacheResult("query", hit) }
	qo.Logger = log
	if err := cfg.QueryBackend.apply(&qo); err != nil {
		_ = ln.Close()
		return err
	}
	warnBackend(cfg, log)
	engine := query.New(db, &qo)
	wc := cfg.WebConfig(version)
	wc.Revision = commit
	wc.Settings = cfg.StatusSettings()
	if wc.Auth, err = cfg.Security.authConfig(cfg.DataDir, cfg.Environment == "production" || cfg.Security.TLSCertFile != ""); err != nil { // production is HTTPS: the cookie is Secure
		_ = ln.Close()
		return err
	}
	if cfg.Security.TLSCertFile != "" {
		if wc.TLS, err = web.TLSConfig(cfg.Security.TLSCertFile, cfg.Security.TLSKeyFile); err != nil {
			_ = ln.Close()
			return err
		}
	}
	srv, err := web.New(wc, web.Deps{Store: db, Collector: col, Auth: users, Query: engine}, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer func() { _ = srv.Close() }()
	alerts, disp, err := startAlerting(cfg, db, sh, engine, srv, col, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	defer disp.Close() // after the evaluation below has stopped: delivers what is queued
	servers := []server{{srv, ln}}
	if cfg.Security.HTTPRedirectAddr != "" {
		rln, err := net.Listen("tcp", cfg.Security.HTTPRedirectAddr)
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen for the HTTPS redirect: %w", err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		servers = append(servers, server{srv.RedirectServer(port), rln})
	}
	if cfg.EnableMetrics && cfg.MetricsPort != 0 {
		mln, err := net.Listen("tcp", metricsAddr(cfg))
		if err != nil {
			_ = ln.Close()
			return fmt.Errorf("listen for metrics: %w", err)
		}
		servers = append(servers, server{metricsServer(col, log), mln})
	}
	scraping, stopScraping := context.WithCancel(context.Background())
	scraped := make(chan struct{})
	go func() { defer close(scraped); col.Run(scraping) }()
	evaluated := make(chan struct{})
	go func() { defer close(evaluated); alerts.Run(scraping) }()
	pushed := make(chan struct{})
	go func() { defer close(pushed); srv.RunLive(scraping, cfg.ScrapeInterval) }()
	summarized := make(chan struct{})
	go func() { defer close(summarized); runAccessSummary(scraping, srv) }()
	synced := make(chan struct{})
	go func() { // the SLOs other instances change, when shared
		defer close(synced)
		if sh.redis != nil {
			srv.RunSLOSync(scraping, 5*time.Second)
		}
	}()
	warnDevelopment(cfg, log)
	log.Info("listening", slog.String("event_type", "startup"), slog.String("addr", ln.Addr().String()),
		slog.String("data_dir", cfg.DataDir), slog.String("environment", cfg.Environment), slog.String("version", version))
	banner(dashboardURL(ln.Addr(), wc.TLS != nil))
	err = runServers(ctx, servers, cfg.ShutdownTimeout, log)
	stopScraping()
	<-scraped
	<-evaluated
	<-pushed
	<-summarized
	<-synced
	if serr := col.Scrape(); serr != nil { // the last requests' counts, before the store closes
		log.Error("final scrape failed", slog.String("event_type", "shutdown"), slog.Any("error", serr))
	}
	return err
}

// developmentWarning names what development mode relaxes.
const developmentWarning = "development mode: beacons from any origin, API requests from any localhost origin, " +
	"error details in 5xx answers, no HTTPS or JWT key required; set ENVIRONMENT=production to deploy"

// warnDevelopment logs, in development, a WARN line naming the mode and
// what it relaxes, so a server started without settings is not mistaken
// for a deployment.
func warnDevelopment(cfg *Config, log *slog.Logger) {
	if cfg.Environment == "development" {
		log.Warn(developmentWarning, slog.String("event_type", "startup"), slog.String("environment", cfg.Environment),
			slog.String("addr", cfg.ListenAddr))
	}
}

// server is an HTTP server and the listener it serves.
type server struct {
	srv interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
	}
	ln net.Listener
}

// runServers serves until ctx is done or one server fails, then shuts all down.
func runServers(ctx context.Context, servers []server, timeout time.Duration, log *slog.Logger) error {
	served := make(chan error, len(servers))
	for _, s := range servers {
		go func() { served <- s.srv.Serve(s.ln) }()
	}
	var first error
	select {
	case err := <-served:
		first = fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", slog.String("event_type", "shutdown"), slog.Duration("timeout", timeout))
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	errs := []error{first}
	for _, s := range servers {
		if err := s.srv.Shutdown(sctx); err != nil {
			errs = append(errs, fmt.Errorf("shut down http: %w", err))
		}
	}
	return errors.Join(errs...)
}

// metricsAddr is the main listen address's host with METRICS_PORT.
func metricsAddr(cfg *Config) string {
	host, _, _ := net.SplitHostPort(cfg.ListenAddr) // Validate checked it
	return net.JoinHostPort(host, strconv.Itoa(cfg.MetricsPort))
}

// metricsServer serves /metrics alone, with the main server's timeouts.
func metricsServer(col *collector.Collector, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           web.MetricsHandler(col),
		ReadHeaderTimeout: web.DefaultReadHeaderTimeout,
		ReadTimeout:       web.DefaultReadTimeout,
		WriteTimeout:      web.DefaultWriteTimeout,
		IdleTimeout:       web.DefaultIdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Usage prints the command's help on Stderr.
func (c *ServeCommand) Usage() {
	fmt.Fprint(c.Stderr, `Run the HTTP server over the store until SIGINT or SIGTERM.

Usage:

	atroz serve [flags]
`)
	printSettings(c.Stderr)
}

// startAlerting loads the rules, builds the receivers and the alert
// manager, and attaches it to the server and the metrics.
func startAlerting(cfg *Config, db *store.DB, sh *shared, engine *query.Engine, srv *web.Server, col *collector.Collector, log *slog.Logger) (*alert.Manager, *notify.Dispatcher, error) {
	groups, err := alert.LoadRules(cfg.Alert.RulesFile, splitList(cfg.Alert.DisabledRules), log)
	if err != nil {
		return nil, nil, err
	}
	slos, err := loadSLOs(cfg, sh.records, log)
	if err != nil {
		return nil, nil, err
	}
	sloGroups, err := slo.RuleGroups(slos.File(), log)
	if err != nil {
		return nil, nil, err
	}
	groups = append(groups, sloGroups...)
	receivers, err := cfg.Alert.receivers(cfg.ExternalURL)
	if err != nil {
		return nil, nil, fmt.Errorf("alert receivers: %w", err)
	}
	disp := notify.NewDispatcher(receivers, &notify.DispatcherOptions{Logger: log})
	m, err := alert.NewManager(db, engine, groups, disp, &alert.Options{
		EvalInterval: cfg.Alert.EvalInterval, RepeatInterval: cfg.Alert.RepeatInterval,
		ExternalURL: cfg.ExternalURL, Logger: log, OnEvent: func(e alert.Event) { srv.AlertEvent(eventForBrowser(e)) },
		Records: sh.records, Leading: sh.leadAlerts(log),
	})
	if err != nil {
		disp.Close()
		return nil, nil, err
	}
	srv.SetAlerts(m)
	srv.SetSLOCatalog(slos)
	col.AddWriter(m.WriteMetrics)
	return m, disp, nil
}

// loadSLOs reads the SLO file (see SLOConfig.load) and the SLOs created
// in the dashboard, which the data file keeps; a stored one the file now
// shadows, or that no longer passes the checks, is left out with a warning.
func loadSLOs(cfg *Config, db store.RecordStore, log *slog.Logger) (*slo.Catalog, error) {
	f, err := cfg.SLO.load()
	if err != nil {
		return nil, err
	}
	c, skipped, err := slo.OpenCatalog(db, f, collector.DurationBuckets())
	if err != nil {
		return nil, err
	}
	for _, err := range skipped {
		log.Warn("stored SLO left out", slog.String("event_type", "startup"), slog.Any("error", err))
	}
	return c, nil
}

// eventForBrowser keeps NaN (an unknown value) out of the JSON pushed to browsers.
func eventForBrowser(e alert.Event) alert.Event {
	if math.IsNaN(e.Value) {
		e.Value = 0
	}
	return e
}
