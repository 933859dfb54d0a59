package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"atroz/collector"
	"atroz/query"
	"atroz/store"
	"atroz/web"
)

// Config holds every setting of atroz. Defaults come first, then environment
// variables, then flags: a flag wins over its variable.
type Config struct {
	// Environment is development or production (ENVIRONMENT, -environment).
	// Default development.
	Environment string

	// ListenAddr is the HTTP server's host:port (LISTEN_ADDR, -listen-addr).
	// Default, when empty, "127.0.0.1:8080" in development, so a laptop's
	// server is not on the network, and ":8080" in production; Validate
	// fills it in.
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

	// HTTPReadHeaderTimeout, HTTPReadTimeout, HTTPWriteTimeout and
	// HTTPIdleTimeout bound a connection's headers, whole request, response
	// and keep-alive wait (HTTP_READ_HEADER_TIMEOUT, ...). Defaults 5s, 30s,
	// 30s, 120s; zero keeps the default.
	HTTPReadHeaderTimeout, HTTPReadTimeout, HTTPWriteTimeout, HTTPIdleTimeout time.Duration

	// AllowedOrigins lists, comma-separated, the origins whose pages may send
	// beacons (ALLOWED_ORIGINS, -allowed-origins); development accepts any.
	// It grants nothing else: no credentialed call of the API.
	AllowedOrigins string

	// CredentialedOrigins lists, comma-separated, the origins whose pages
	// may call the authenticated API with a browser's session cookie
	// (CORS_CREDENTIALED_ORIGINS, -cors-credentialed-origins). Default none;
	// the dashboard, served from AtroZ's own origin, needs none.
	CredentialedOrigins string

	// TrustedProxies lists, comma-separated, the proxy addresses or CIDRs
	// whose X-Forwarded-For is believed (TRUSTED_PROXIES, -trusted-proxies).
	// Default none.
	TrustedProxies string

	// EnableMetrics serves /metrics (ENABLE_METRICS, -enable-metrics). Default true.
	EnableMetrics bool

	// MetricsPort serves /metrics on a port of its own instead of the main
	// one; 0 means the main port (METRICS_PORT, -metrics-port). Default 0.
	MetricsPort int

	// ScrapeInterval is how often the metrics are stored
	// (SCRAPE_INTERVAL, -scrape-interval). Default 5s.
	ScrapeInterval time.Duration

	// ServiceName is the service label of AtroZ's own requests
	// (SERVICE_NAME, -service-name). Default atroz.
	ServiceName string

	// SlowRequestThreshold is the latency past which a request logs a
	// high_latency alert (SLOW_REQUEST_THRESHOLD, -slow-request-threshold). Default 500ms.
	SlowRequestThreshold time.Duration

	// GDPREnabled truncates client IPs in logs to their /24 or /48
	// (GDPR_ENABLED, -gdpr-enabled). Default true.
	GDPREnabled bool

	// MaxPagesPerService caps the pages a service's beacons may name; more are
	// counted as <other> (MAX_PAGES_PER_SERVICE, -max-pages-per-service). Default 200.
	MaxPagesPerService int

	// BeaconMaxServices caps the services beacons may name; more are
	// counted as <other> (BEACON_MAX_SERVICES, -beacon-max-services). Default 20.
	BeaconMaxServices int

	// BeaconMaxSeries caps the series all beacons together may create;
	// pages past it are counted as service and page <other>
	// (BEACON_MAX_SERIES, -beacon-max-series). Default 0: a tenth of MAX_SERIES.
	BeaconMaxSeries int

	// QueryTimeout bounds one PromQL query (QUERY_TIMEOUT, -query-timeout). Default 2m.
	QueryTimeout time.Duration

	// QueryMaxSamples bounds the samples one query may hold in memory,
	// up to query.BytesPerSample (130) bytes each
	// (QUERY_MAX_SAMPLES, -query-max-samples). Default 5000000 (650 MB).
	QueryMaxSamples int

	// QueryMaxConcurrency bounds the queries evaluated at once; more wait
	// up to 10s for a slot, then 503, as Prometheus' --query.max-concurrency
	// (QUERY_MAX_CONCURRENCY, -query-max-concurrency). Default GOMAXPROCS, at least 2.
	QueryMaxConcurrency int

	// QueryMaxConcurrencyPerPrincipal bounds the queries one user, token
	// or client address may have in flight; one more is answered 429
	// (QUERY_MAX_CONCURRENCY_PER_PRINCIPAL, -query-max-concurrency-per-principal). Default 32.
	QueryMaxConcurrencyPerPrincipal int

	// QueryCacheMB bounds the range-query result cache; 0 disables it
	// (QUERY_CACHE_MB, -query-cache-mb). Default 64.
	QueryCacheMB int

	// PromQLExperimentalFunctions enables Prometheus' experimental PromQL
	// functions, as its --enable-feature=promql-experimental-functions does
	// (PROMQL_EXPERIMENTAL_FUNCTIONS, -promql-experimental-functions). Default false.
	PromQLExperimentalFunctions bool

	// RemoteReadConcurrentLimit bounds the remote reads (/api/v1/read)
	// served at once; one more is answered 503, as Prometheus'
	// --storage.remote.read-concurrent-limit bounds its own
	// (REMOTE_READ_CONCURRENT_LIMIT, -remote-read-concurrent-limit). Default 10.
	RemoteReadConcurrentLimit int

	// ExternalURL is the dashboard's address as users reach it, for links
	// in notifications (EXTERNAL_URL, -external-url). Default http://localhost:8080.
	ExternalURL string

	// StateRedisURL keeps users, tokens and logins in Redis, shared by
	// every instance behind one load balancer, instead of the data file
	// (STATE_REDIS_URL, -state-redis-url). Default none.
	StateRedisURL string

	// AdminPasswordFile holds the password of the admin a first start creates
	// when the store has no user (ADMIN_PASSWORD_FILE, -admin-password-file).
	// Production needs it, or a user made with atroz user add, as it never
	// invents a password; development invents one when it is unset.
	AdminPasswordFile string

	// Alerting: see alert.go for the settings of rules and receivers.
	Alert AlertConfig
	// SLOs: see slo.go for service-level objectives.
	SLO SLOConfig
	// RemoteWrite: see remote.go for forwarding samples to a cluster.
	RemoteWrite RemoteWriteConfig
	// QueryBackend: see backend.go for reading a cluster instead of the store.
	QueryBackend QueryBackendConfig
	// Security: see security.go for logins, TLS and rate limits.
	Security SecurityConfig
}

// DefaultConfig returns the configuration used when nothing is set: a
// development server keeping its data in ./data, listening on the default
// address of its environment once Validate has run.
func DefaultConfig() Config {
	return Config{
		Environment:     "development",
		DataDir:         "./data",
		RetentionDays:   90,
		FlushInterval:   time.Second,
		LockTimeout:     2 * time.Second,
		MaxSeries:       100_000,
		LogLevel:        "info",
		ShutdownTimeout: 10 * time.Second,

		HTTPReadHeaderTimeout: web.DefaultReadHeaderTimeout,
		HTTPReadTimeout:       web.DefaultReadTimeout,
		HTTPWriteTimeout:      web.DefaultWriteTimeout,
		HTTPIdleTimeout:       web.DefaultIdleTimeout,

		EnableMetrics:        true,
		ScrapeInterval:       5 * time.Second,
		ServiceName:          "atroz",
		SlowRequestThreshold: 500 * time.Millisecond,
		MaxPagesPerService:   200,
		BeaconMaxServices:    20,

		QueryTimeout:    2 * time.Minute,
		QueryMaxSamples: query.DefaultMaxSamples,
		QueryCacheMB:    64,

		QueryMaxConcurrency:             query.DefaultMaxConcurrency(),
		QueryMaxConcurrencyPerPrincipal: query.DefaultMaxConcurrencyPerPrincipal,

		RemoteReadConcurrentLimit: web.DefaultRemoteReadConcurrency,

		ExternalURL:  "http://localhost:8080",
		Alert:        defaultAlertConfig(),
		SLO:          SLOConfig{Defaults: true},
		RemoteWrite:  defaultRemoteWriteConfig(),
		QueryBackend: QueryBackendConfig{Mode: "evaluate"},
		Security:     defaultSecurityConfig(),
		GDPREnabled:  true,
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
	list := []setting{
		{"environment", "development or production", &c.Environment},
		{"listen-addr", "HTTP listen address, host:port (default 127.0.0.1:8080 in development, :8080 in production)", &c.ListenAddr},
		{"data-dir", "directory of the store file atroz.db", &c.DataDir},
		{"data-retention-days", "days of data kept, capping every tier", &c.RetentionDays},
		{"flush-interval", "how often samples are committed to disk", &c.FlushInterval},
		{"lock-timeout", "how long to wait for a data directory in use", &c.LockTimeout},
		{"max-series", "maximum number of series", &c.MaxSeries},
		{"log-level", "debug, info, warn or error", &c.LogLevel},
		{"shutdown-timeout", "how long to wait for requests in flight on shutdown", &c.ShutdownTimeout},
		{"http-read-header-timeout", "longest a client may take to send a request's headers", &c.HTTPReadHeaderTimeout},
		{"http-read-timeout", "longest a client may take to send a whole request, body included", &c.HTTPReadTimeout},
		{"http-write-timeout", "longest a response may take to write", &c.HTTPWriteTimeout},
		{"http-idle-timeout", "how long a keep-alive connection may wait for its next request", &c.HTTPIdleTimeout},
		{"allowed-origins", "comma-separated origins whose pages may send beacons", &c.AllowedOrigins},
		{"cors-credentialed-origins", "comma-separated origins whose pages may call the API with a session cookie (default none)", &c.CredentialedOrigins},
		{"trusted-proxies", "comma-separated proxy addresses or CIDRs trusted for X-Forwarded-For", &c.TrustedProxies},
		{"enable-metrics", "serve /metrics", &c.EnableMetrics},
		{"metrics-port", "serve /metrics on this port instead of the main one (0: main)", &c.MetricsPort},
		{"scrape-interval", "how often the metrics are stored", &c.ScrapeInterval},
		{"service-name", "service label of AtroZ's own requests", &c.ServiceName},
		{"slow-request-threshold", "latency past which a request logs a high_latency alert", &c.SlowRequestThreshold},
		{"gdpr-enabled", "truncate client IPs in logs to /24 or /48 (default true)", &c.GDPREnabled},
		{"max-pages-per-service", "pages per service kept apart before the rest count as <other>", &c.MaxPagesPerService},
		{"beacon-max-services", "services beacons may name before the rest count as <other>", &c.BeaconMaxServices},
		{"beacon-max-series", "series all beacons together may create; pages past it count as <other> (0: a tenth of max-series)", &c.BeaconMaxSeries},
		{"query-timeout", "longest a PromQL query may run", &c.QueryTimeout},
		{"query-max-samples", "most samples one query may hold in memory, 130 bytes each", &c.QueryMaxSamples},
		{"query-max-concurrency", "most queries evaluated at once; more wait up to 10s, then 503", &c.QueryMaxConcurrency},
		{"query-max-concurrency-per-principal", "most queries one user, token or client address may have in flight; one more is answered 429", &c.QueryMaxConcurrencyPerPrincipal},
		{"query-cache-mb", "size of the range-query result cache in MiB (0: off)", &c.QueryCacheMB},
		{"promql-experimental-functions", "enable Prometheus' experimental PromQL functions (double_exponential_smoothing, sort_by_label, ...)", &c.PromQLExperimentalFunctions},
		{"remote-read-concurrent-limit", "most remote reads served at once; one more is answered 503", &c.RemoteReadConcurrentLimit},
		{"external-url", "the dashboard's address as users reach it, for links in notifications", &c.ExternalURL},
		{"state-redis-url", "Redis URL where users, tokens and logins are kept, shared by every instance behind one load balancer (default: the data file)", &c.StateRedisURL},
		{"admin-password-file", "file holding the password of the admin created on a first start (required in production without users)", &c.AdminPasswordFile},
	}
	list = append(list, c.Alert.settings()...)
	list = append(list, c.SLO.settings()...)
	list = append(list, c.RemoteWrite.settings()...)
	list = append(list, c.QueryBackend.settings()...)
	return append(list, c.Security.settings()...)
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
	fs.StringVar(&c.Alert.RulesFile, "rules-file", "", "same as -alert-rules-file")
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
	case *bool:
		fs.BoolVar(p, name, *p, usage)
	}
}

// kind names what a setting's value must look like, for error messages.
func kind(ptr any) string {
	switch ptr.(type) {
	case *int:
		return "a whole number"
	case *time.Duration:
		return "a duration such as 500ms, 5s or 2m"
	case *bool:
		return "true or false"
	}
	return "a string"
}

// Validate returns an error naming each setting that is out of range and
// why, after filling in LISTEN_ADDR's default, which depends on ENVIRONMENT.
func (c *Config) Validate() error {
	if c.ListenAddr == "" {
		c.ListenAddr = defaultListenAddr(c.Environment)
	}
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
	for _, t := range []struct {
		env string
		d   time.Duration
	}{{"HTTP_READ_HEADER_TIMEOUT", c.HTTPReadHeaderTimeout}, {"HTTP_READ_TIMEOUT", c.HTTPReadTimeout}, {"HTTP_WRITE_TIMEOUT", c.HTTPWriteTimeout}, {"HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout}} {
		check(t.d < 0, t.env, "must not be negative, got %s", t.d)
	}
	check(c.MetricsPort < 0 || c.MetricsPort > 65535, "METRICS_PORT", "must be 0 (the main port) or a port number, got %d", c.MetricsPort)
	check(c.ScrapeInterval < time.Second, "SCRAPE_INTERVAL", "must be at least 1s, got %s", c.ScrapeInterval)
	check(c.ServiceName == "", "SERVICE_NAME", "must not be empty")
	check(c.SlowRequestThreshold <= 0, "SLOW_REQUEST_THRESHOLD", "must be positive, got %s", c.SlowRequestThreshold)
	check(c.MaxPagesPerService < 1, "MAX_PAGES_PER_SERVICE", "must be at least 1, got %d", c.MaxPagesPerService)
	check(c.BeaconMaxServices < 1, "BEACON_MAX_SERVICES", "must be at least 1, got %d", c.BeaconMaxServices)
	check(c.BeaconMaxSeries < 0 || c.BeaconMaxSeries > c.MaxSeries, "BEACON_MAX_SERIES", "must be between 0 (a tenth of MAX_SERIES) and MAX_SERIES, got %d", c.BeaconMaxSeries)
	check(c.QueryTimeout <= 0, "QUERY_TIMEOUT", "must be positive, got %s", c.QueryTimeout)
	check(c.QueryMaxSamples < 1, "QUERY_MAX_SAMPLES", "must be at least 1, got %d", c.QueryMaxSamples)
	check(c.QueryMaxConcurrency < 1, "QUERY_MAX_CONCURRENCY", "must be at least 1, got %d", c.QueryMaxConcurrency)
	check(c.QueryMaxConcurrencyPerPrincipal < 1, "QUERY_MAX_CONCURRENCY_PER_PRINCIPAL", "must be at least 1, got %d", c.QueryMaxConcurrencyPerPrincipal)
	check(c.QueryCacheMB < 0, "QUERY_CACHE_MB", "must not be negative, got %d", c.QueryCacheMB)
	check(c.RemoteReadConcurrentLimit < 1, "REMOTE_READ_CONCURRENT_LIMIT", "must be at least 1, got %d", c.RemoteReadConcurrentLimit)
	errs = append(errs, c.Alert.validate()...)
	_, rwErrs := c.RemoteWrite.configs()
	errs = append(errs, rwErrs...)
	if _, err := c.QueryBackend.backend(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.Security.validate(c.Environment == "production", c.AllowedOrigins, c.TrustedProxies)...)
	errs = append(errs, c.validateOrigins()...)
	for _, p := range splitList(c.TrustedProxies) {
		check(!validProxy(p), "TRUSTED_PROXIES", "%q is not an IP address or CIDR", p)
	}
	return errors.Join(errs...)
}

// defaultListenAddr is LISTEN_ADDR's default: loopback only in
// development, every interface in production.
func defaultListenAddr(environment string) string {
	if environment == "production" {
		return ":8080"
	}
	return "127.0.0.1:8080"
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

// splitList splits a comma-separated setting, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func validProxy(p string) bool {
	if net.ParseIP(p) != nil {
		return true
	}
	_, _, err := net.ParseCIDR(p)
	return err == nil
}

// WebConfig maps the configuration to the HTTP server's.
func (c *Config) WebConfig(version string) web.Config {
	return web.Config{
		Version:           version,
		ReadHeaderTimeout: c.HTTPReadHeaderTimeout,
		ReadTimeout:       c.HTTPReadTimeout,
		WriteTimeout:      c.HTTPWriteTimeout,
		IdleTimeout:       c.HTTPIdleTimeout,
		Development:       c.Environment == "development",
		AllowedOrigins:    splitList(c.AllowedOrigins),
		TrustedProxies:    splitList(c.TrustedProxies),
		MetricsOnMain:     c.EnableMetrics && c.MetricsPort == 0,
		SlowRequest:       c.SlowRequestThreshold,
		TruncateIPs:       c.GDPREnabled,
		RateLimits:        c.Security.rateLimitOptions(),
		Retention:         time.Duration(c.RetentionDays) * 24 * time.Hour,

		MaxConcurrentRemoteReads: c.RemoteReadConcurrentLimit,
		CredentialedOrigins:      splitList(c.CredentialedOrigins),
	}
}

// QueryOptions maps the configuration to the PromQL engine's.
func (c *Config) QueryOptions() query.Options {
	cache := int64(c.QueryCacheMB) << 20
	if cache == 0 {
		cache = -1
	}
	return query.Options{
		Timeout: c.QueryTimeout, MaxSamples: c.QueryMaxSamples, CacheBytes: cache, ExperimentalFunctions: c.PromQLExperimentalFunctions,
		MaxConcurrency: c.QueryMaxConcurrency, MaxConcurrencyPerPrincipal: c.QueryMaxConcurrencyPerPrincipal,
	}
}

// CollectorOptions maps the configuration to the collector's.
func (c *Config) CollectorOptions(log *slog.Logger) *collector.Options {
	return &collector.Options{
		Service:            c.ServiceName,
		ScrapeInterval:     c.ScrapeInterval,
		MaxPagesPerService: c.MaxPagesPerService,
		MaxBeaconServices:  c.BeaconMaxServices,
		MaxBeaconSeries:    c.BeaconMaxSeries,
		DataDir:            c.DataDir,
		Logger:             log,
	}
}

// validateOrigins vets ALLOWED_ORIGINS (with the rest of the web settings)
// and CORS_CREDENTIALED_ORIGINS, each error named by its setting.
func (c *Config) validateOrigins() []error {
	wc := c.WebConfig("")
	credentialed := wc.CredentialedOrigins
	wc.CredentialedOrigins = nil
	var errs []error
	if err := wc.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config ALLOWED_ORIGINS: %w", err))
	}
	if slices.Contains(credentialed, "*") {
		return append(errs, errors.New("config CORS_CREDENTIALED_ORIGINS: must list origins; * would let any site use logged-in sessions"))
	}
	if err := (web.Config{CredentialedOrigins: credentialed}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("config CORS_CREDENTIALED_ORIGINS: %w", err))
	}
	return errs
}
