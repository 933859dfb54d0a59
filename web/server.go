// Package web is the HTTP surface of AtroZ: the gin router, its handlers and
// the http.Server around them.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/store"
)

// Default values for Config fields left zero.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
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
	} {
		if f.d < 0 {
			return fmt.Errorf("web config: %s must not be negative, got %s", f.name, f.d)
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
	log     *slog.Logger
	started time.Time
	engine  *gin.Engine
	http    *http.Server
}

// New builds a Server over db. It does not listen until Serve is called.
func New(cfg Config, db *store.DB, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, db: db, log: log, started: time.Now()}
	s.engine = s.routes()
	s.http = &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s
}

// Handler returns the router, for tests and for embedding in another server.
func (s *Server) Handler() http.Handler { return s.engine }

// Serve accepts connections on ln until Shutdown. It returns nil after a
// Shutdown and the listener's error otherwise.
func (s *Server) Serve(ln net.Listener) error {
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
	// No proxy is trusted: ClientIP is the TCP peer, so a client cannot spoof
	// its address with X-Forwarded-For. A nil list never fails.
	_ = e.SetTrustedProxies(nil)
	e.Use(s.recovery())
	e.NoRoute(func(c *gin.Context) {
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("no route for %s %s", c.Request.Method, c.Request.URL.Path))
	})
	e.GET("/health", s.health)
	return e
}
