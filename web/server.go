// Package web is the HTTP surface of AtroZ: the gin router, its handlers and
// the http.Server around them.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/alert"
	"atroz/auth"
	"atroz/collector"
	"atroz/query"
	"atroz/slo"
	"atroz/store"
)

// Default values for Config fields left zero.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultSlowRequest       = 500 * time.Millisecond
	DefaultMaxImportBytes    = 16 << 20
)

// Config configures a Server. Zero fields mean the documented default.
type Config struct {
	// Version is reported by /health.
	Version string

	// ReadHeaderTimeout bounds reading a request's headers, the defence against
	// slow-header clients. Default 5s.
	ReadHeaderTimeout time.Duration

	// ReadTimeout bounds reading a whole request, body included. Default 30s.
	ReadTimeout time.Duration

	// WriteTimeout bounds writing a response. Default 30s.
	WriteTimeout time.Duration

	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request. Default 120s.
	IdleTimeout time.Duration

	// Development accepts beacons from any origin.
	Development bool
	// AllowedOrigins are the origins (scheme://host[:port]) whose pages may
	// send beacons; outside development, others get 403. They get CORS on
	// the beacon route only, without credentials.
	AllowedOrigins []string
	// CredentialedOrigins are the origins whose pages may call the
	// authenticated API with the browser's session cookie: CORS with
	// credentials, state-changing requests and the WebSocket. Default none:
	// the dashboard is served from the server's own origin, which needs no
	// listing.
	CredentialedOrigins []string
	// TrustedProxies are the proxies whose X-Forwarded-For is believed for the
	// client IP; none by default, so a client cannot forge its address.
	TrustedProxies []string
	// MetricsOnMain serves /metrics on this server. Off when metrics are off
	// or served on a port of their own.
	MetricsOnMain bool
	// SlowRequest is the duration past which a request logs a high_latency
	// alert line. Default 500ms.
	SlowRequest time.Duration
	// TruncateIPs logs client addresses cut to their /24 (IPv4) or /48 (IPv6).
	TruncateIPs bool
	// MaxImportBytes bounds a Prometheus text push. Default 16 MiB.
	MaxImportBytes int64

	// Revision is the commit /api/v1/status/buildinfo reports.
	Revision string
	// Auth configures logins and their tokens. Tokens use the real clock,
	// as the JWT library validates them against it.
	Auth AuthConfig
	// RateLimits configures the limits per principal: anonymous clients and
	// logins by client IP, users and API tokens by name.
	RateLimits RateLimitOptions
	// WS configures the live-update WebSocket; its hooks are filled in by New.
	WS WSOptions
	// Retention is reported by /security/status.
	Retention time.Duration
	// TLS is set when the server itself serves HTTPS.
	TLS *tls.Config
	// Settings are the effective settings /api/v1/status/config and
	// /api/v1/status/flags show, secrets redacted.
	Settings []Setting
	// MaxRemoteReadSamples bounds the samples one remote-read request
	// reads, counted as the store copies their chunks, so a request past it
	// is refused having read no more. Default 5,000,000; see
	// DefaultRemoteReadSamples for the memory it bounds.
	MaxRemoteReadSamples int
	// MaxRemoteReadBytes bounds the bytes of one streamed remote-read
	// answer. Default 256 MiB.
	MaxRemoteReadBytes int
	// MaxConcurrentRemoteReads bounds the remote reads served at once;
	// one more is answered 503. Default 10, Prometheus' own
	// --storage.remote.read-concurrent-limit.
	MaxConcurrentRemoteReads int
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ReadHeaderTimeout", c.ReadHeaderTimeout},
		{"ReadTimeout", c.ReadTimeout},
		{"WriteTimeout", c.WriteTimeout},
		{"IdleTimeout", c.IdleTimeout},
		{"SlowRequest", c.SlowRequest},
	} {
		if f.d < 0 {
			return fmt.Errorf("web config: %s must not be negative, got %s", f.name, f.d)
		}
	}
	for _, o := range c.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("web config: AllowedOrigins: %w", err)
		}
	}
	for _, o := range c.CredentialedOrigins {
		if err := checkOrigin(o); err != nil {
			return fmt.Errorf("web config: CredentialedOrigins: %w", err)
		}
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.ReadHeaderTimeout = orDefault(c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	c.ReadTimeout = orDefault(c.ReadTimeout, DefaultReadTimeout)
	c.WriteTimeout = orDefault(c.WriteTimeout, DefaultWriteTimeout)
	c.IdleTimeout = orDefault(c.IdleTimeout, DefaultIdleTimeout)
	c.SlowRequest = orDefault(c.SlowRequest, DefaultSlowRequest)
	if c.MaxImportBytes <= 0 {
		c.MaxImportBytes = DefaultMaxImportBytes
	}
	if c.MaxRemoteReadSamples <= 0 {
		c.MaxRemoteReadSamples = DefaultRemoteReadSamples
	}
	if c.MaxRemoteReadBytes <= 0 {
		c.MaxRemoteReadBytes = DefaultRemoteReadBytes
	}
	if c.MaxConcurrentRemoteReads <= 0 {
		c.MaxConcurrentRemoteReads = DefaultRemoteReadConcurrency
	}
	return c
}

// orDefault returns d, or def when d is zero.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Server serves the AtroZ HTTP API over one store.
type Server struct {
	cfg     Config
	db      *store.DB
	col     *collector.Collector
	query   *query.Engine
	alerts  atomic.Pointer[alert.Manager]
	slos    atomic.Pointer[slo.File]
	access  *auth.Service
	auth    *sessions
	events  *SecurityEvents
	limits  *RateLimiter
	hub     *Hub
	https   func(*gin.Context) bool
	self    func(*gin.Context) string // the request's own origin, scheme://host
	assets  map[string]*asset
	log     *slog.Logger
	origins map[string]bool
	started time.Time
	engine  *gin.Engine
	http    *http.Server
	// reads holds a token for each remote read being served.
	reads chan struct{}
	// otlp bounds the OTLP requests decoded at once.
	otlp *otlpLimit
	// onRemoteRead, when set, is called by each remote read while it holds
	// its token; tests use it to hold reads open.
	onRemoteRead func()
	// credentialed holds CredentialedOrigins.
	credentialed map[string]bool
	// compress compresses answers as the client accepts (compress.go).
	compress gin.HandlerFunc
	// summary counts the ingest requests logged at DEBUG (accesslog.go).
	summary accessSummary
	// usersMu orders the user routes' changes (users.go).
	usersMu userChanges

	// sloCache holds the last count of GET /api/v1/slos.
	sloCache sloCache
	// sloAdmin holds the SLO catalog the admin routes change (sloadmin.go).
	sloAdmin sloAdmin
}

// Deps are the parts a Server serves, built by the caller in the order the
// data flows (store, collector, auth, query); the Server closes none of them.
type Deps struct {
	// Store holds the samples that ingest writes.
	Store *store.DB
	// Collector records the server's requests and the ingested data.
	Collector *collector.Collector
	// Auth verifies logins and API tokens and manages the tokens.
	Auth *auth.Service
	// Query answers the query API, the dashboard's panels and its live view.
	Query *query.Engine
}

// check reports the first part missing.
func (d Deps) check() error {
	switch {
	case d.Store == nil:
		return errors.New("web: Deps.Store is nil")
	case d.Collector == nil:
		return errors.New("web: Deps.Collector is nil")
	case d.Auth == nil:
		return errors.New("web: Deps.Auth is nil")
	case d.Query == nil:
		return errors.New("web: Deps.Query is nil")
	}
	return nil
}

// New builds a Server over d. It does not listen until Serve is called.
func New(cfg Config, d Deps, log *slog.Logger) (*Server, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, db: d.Store, col: d.Collector, access: d.Auth, query: d.Query, log: log, started: time.Now(), origins: map[string]bool{}}
	for _, o := range cfg.AllowedOrigins {
		s.origins[o] = true
	}
	s.credentialed = make(map[string]bool, len(cfg.CredentialedOrigins))
	for _, o := range cfg.CredentialedOrigins {
		s.credentialed[o] = true
	}
	s.reads = make(chan struct{}, cfg.MaxConcurrentRemoteReads)
	s.otlp = newOTLPLimit(max(2, runtime.GOMAXPROCS(0)))
	if err := s.security(); err != nil {
		return nil, err
	}
	var err error
	if s.compress, err = newCompressor(); err != nil {
		return nil, err
	}
	if s.assets, err = loadAssets(); err != nil {
		return nil, fmt.Errorf("dashboard files: %w", err)
	}
	s.engine = s.routes()
	s.http = &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          serverErrorLog(log, cfg.TruncateIPs),
	}
	return s, nil
}

// Handler returns the router, for tests and for embedding in another server.
func (s *Server) Handler() http.Handler { return s.engine }

// Serve accepts connections on ln until Shutdown, over TLS when
// Config.TLS is set. It returns nil after a Shutdown and the listener's
// error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections and waits for active requests to end,
// or for ctx to be done.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.http.Shutdown(ctx)
}

// routes builds the gin engine with its middleware and routes.
func (s *Server) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	// Without trusted proxies ClientIP is the TCP peer, so a client cannot
	// spoof its address with X-Forwarded-For. Config.Validate vetted the list.
	_ = e.SetTrustedProxies(s.cfg.TrustedProxies)
	// The request ID comes first so every later line carries it; the metrics
	// sit outside recovery so a request that panicked is counted as the 500
	// it became; compression sits outside recovery so a panic's 500 is
	// written whole; the body limit refuses a body too large before anything
	// reads it; CORS answers preflights before any route; identify sets who
	// the request acts as before any rate limit charges it.
	e.Use(requestID(s.cfg.Development), s.accessLog(), SecurityHeaders(s.https), s.col.Middleware(), s.compress, s.recovery(), s.bodyLimit, s.httpsOnly(), s.cors(), s.identify)
	e.NoRoute(s.staticFiles)
	e.HandleMethodNotAllowed = true // a route asked with a method it lacks answers 405 with Allow, as Prometheus does
	e.NoMethod(methodNotAllowed)
	guard := SameOriginGuard(s.self, s.credentialedAllowed)
	csrf := func(c *gin.Context) {
		guard(c)
		if c.IsAborted() {
			s.securityEvent(c, SecurityCSRFBlocked, c.GetHeader("Sec-Fetch-Site")+" "+c.GetHeader("Origin"))
		}
	}
	// Open: health, the beacon script and beacons (origin-checked), logins.
	e.GET("/health", s.health)
	for _, probe := range []struct {
		path string
		h    gin.HandlerFunc
	}{{"/-/healthy", healthy}, {"/-/ready", ready}} { // Prometheus' probes, for promtool and orchestrators
		e.GET(probe.path, probe.h)
		e.HEAD(probe.path, probe.h)
	}
	e.GET("/beacon.js", beaconJS)
	e.POST("/api/v1/beacons", s.limits.Middleware(RateClassIngest), s.beacons)
	authg := e.Group("/api/v1/auth", s.limits.Middleware(RateClassAuth), csrf)
	authg.POST("/login", s.auth.mw.LoginHandler)
	authg.POST("/refresh", s.auth.refresh)
	authg.POST("/logout", s.auth.logout)
	// Ingest-scoped tokens: pushes, and /metrics on the main port
	// (Prometheus' scrape config sends a bearer token with authorization:).
	ingest := e.Group("/", s.limits.Middleware(RateClassIngest), s.require(auth.ScopeIngest))
	ingest.POST("/api/v1/ingest/requests", s.ingestRequests)
	ingest.POST("/api/v1/import/prometheus", s.importPrometheus)
	ingest.POST("/api/v1/write", s.remoteWrite)
	ingest.POST(otlpRoute, s.otlpMetrics)
	if s.cfg.MetricsOnMain {
		ingest.GET("/metrics", metricsHandler(s.col))
	}
	// Logins and read- or admin-scoped tokens: viewers and read tokens
	// read, admins and admin tokens also change.
	viewer := e.Group("/api/v1", s.limits.Middleware(RateClassAPI), csrf, s.require(auth.ScopeRead))
	admin := e.Group("/api/v1", s.limits.Middleware(RateClassAPI), csrf, s.require(auth.ScopeAdmin))
	s.promAPI(viewer)
	e.GET("/federate", s.limits.Middleware(RateClassAPI), csrf, s.require(auth.ScopeRead), s.federate) // Prometheus' path, beside its API
	s.alertAPI(viewer, admin)
	s.sloAPI(viewer, admin)
	s.tokenAPI(admin)
	s.userAPI(admin)
	s.sourceAPI(viewer, admin)
	admin.GET("/admin/store/stats", s.storeStats)
	viewer.GET("/auth/me", s.me)
	viewer.GET("/dashboard/panels", s.panels)
	e.GET("/security/status", s.limits.Middleware(RateClassAPI), s.require(auth.ScopeAdmin), s.securityStatus)
	e.GET("/ws", s.limits.Middleware(RateClassAPI), s.hub.Handler())
	return e
}

// securityEvent records a refused or suspicious request.
func (s *Server) securityEvent(c *gin.Context, kind, action string) {
	s.events.Record(c, kind, action)
}

// methodNotAllowed answers a known path asked with a method it does not
// serve; gin has set the Allow header.
func methodNotAllowed(c *gin.Context) {
	abortWithError(c, http.StatusMethodNotAllowed, ErrorMethodNotAllowed, fmt.Errorf("%s is not allowed on %s (allowed: %s)", c.Request.Method, c.Request.URL.Path, c.Writer.Header().Get("Allow")))
}

func errNoRoute(c *gin.Context) error {
	return fmt.Errorf("no route for %s %s", c.Request.Method, c.Request.URL.Path)
}
