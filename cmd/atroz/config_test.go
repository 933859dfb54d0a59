package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

// parseTestConfig reads a Config from env and args as a subcommand does.
func parseTestConfig(env map[string]string, args ...string) (*Config, error) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e := Env{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	return e.parseConfig(fs, args)
}

func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want func(*Config)
	}{
		{"defaults", nil, nil, func(*Config) {}},
		{"env", map[string]string{"LISTEN_ADDR": ":9090", "DATA_RETENTION_DAYS": "7", "FLUSH_INTERVAL": "5s"}, nil,
			func(c *Config) { c.ListenAddr, c.RetentionDays, c.FlushInterval = ":9090", 7, 5*time.Second }},
		{"flag", nil, []string{"-data-dir", "/var/lib/atroz", "-max-series", "10"},
			func(c *Config) { c.DataDir, c.MaxSeries = "/var/lib/atroz", 10 }},
		{"flag wins over env", map[string]string{"LOG_LEVEL": "debug", "LOCK_TIMEOUT": "1s"}, []string{"-log-level", "warn"},
			func(c *Config) { c.LogLevel, c.LockTimeout = "warn", time.Second }},
		{"empty env is unset", map[string]string{"DATA_DIR": ""}, nil, func(*Config) {}},
		{"flag wins over env, string and duration", map[string]string{
			"ENVIRONMENT": "production", "SHUTDOWN_TIMEOUT": "3s",
		}, []string{"-environment", "development", "-shutdown-timeout", "4s"},
			func(c *Config) { c.ShutdownTimeout = 4 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTestConfig(tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			want.ListenAddr = "127.0.0.1:8080" // development's default
			tt.want(&want)
			if *got != want {
				t.Errorf("config =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

// TestListenAddrDefault listens on loopback only in development, on every
// interface in production, and keeps an address that is set in either.
func TestListenAddrDefault(t *testing.T) {
	production := map[string]string{"ENVIRONMENT": "production", "JWT_SECRET_KEY": strings.Repeat("k", 32), "TRUSTED_PROXIES": "127.0.0.1"}
	f := func(env map[string]string, want string) {
		t.Helper()
		c, err := parseTestConfig(env)
		if err != nil {
			t.Fatal(err)
		}
		if c.ListenAddr != want {
			t.Errorf("%v: LISTEN_ADDR %q, want %q", env, c.ListenAddr, want)
		}
	}
	f(nil, "127.0.0.1:8080")
	f(map[string]string{"LISTEN_ADDR": ":9090"}, ":9090")
	f(production, ":8080")
	production["LISTEN_ADDR"] = "127.0.0.1:8080"
	f(production, "127.0.0.1:8080")
}

func TestConfigInvalidEnv(t *testing.T) {
	f := func(key, value, want string) {
		t.Helper()
		_, err := parseTestConfig(map[string]string{key: value})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: err = %v, want it to contain %q", key, value, err, want)
		}
	}
	f("FLUSH_INTERVAL", "soon", `config FLUSH_INTERVAL: invalid value "soon", want a duration`)
	f("MAX_SERIES", "lots", `config MAX_SERIES: invalid value "lots"`)
	f("DATA_RETENTION_DAYS", "1.5", `config DATA_RETENTION_DAYS: invalid value "1.5", want a whole number`)
	f("ENABLE_METRICS", "maybe", `config ENABLE_METRICS: invalid value "maybe", want true or false`)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"environment", func(c *Config) { c.Environment = "staging" }, `ENVIRONMENT: must be development or production, got "staging"`},
		{"listen address", func(c *Config) { c.ListenAddr = "8080" }, `LISTEN_ADDR: must be host:port, got "8080"`},
		{"listen port", func(c *Config) { c.ListenAddr = ":http" }, "LISTEN_ADDR"},
		{"data dir", func(c *Config) { c.DataDir = "" }, "DATA_DIR: must not be empty"},
		{"retention", func(c *Config) { c.RetentionDays = 0 }, "DATA_RETENTION_DAYS: must be at least 1, got 0"},
		{"flush interval", func(c *Config) { c.FlushInterval = 0 }, "FLUSH_INTERVAL: must be positive, got 0s"},
		{"lock timeout", func(c *Config) { c.LockTimeout = -time.Second }, "LOCK_TIMEOUT: must be positive, got -1s"},
		{"max series", func(c *Config) { c.MaxSeries = -1 }, "MAX_SERIES: must be at least 1, got -1"},
		{"log level", func(c *Config) { c.LogLevel = "INFO" }, `LOG_LEVEL: must be debug, info, warn or error, got "INFO"`},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "SHUTDOWN_TIMEOUT: must be positive, got 0s"},
		{"several at once", func(c *Config) { c.DataDir, c.MaxSeries = "", 0 }, "DATA_DIR: must not be empty\nconfig MAX_SERIES"},
		{"metrics port", func(c *Config) { c.MetricsPort = 70000 }, "METRICS_PORT: must be 0 (the main port) or a port number, got 70000"},
		{"scrape interval", func(c *Config) { c.ScrapeInterval = 100 * time.Millisecond }, "SCRAPE_INTERVAL: must be at least 1s, got 100ms"},
		{"service name", func(c *Config) { c.ServiceName = "" }, "SERVICE_NAME: must not be empty"},
		{"slow request", func(c *Config) { c.SlowRequestThreshold = 0 }, "SLOW_REQUEST_THRESHOLD: must be positive"},
		{"pages", func(c *Config) { c.MaxPagesPerService = 0 }, "MAX_PAGES_PER_SERVICE: must be at least 1"},
		{"origin", func(c *Config) { c.AllowedOrigins = "https://shop.example, shop.example/path" }, `ALLOWED_ORIGINS: web config: AllowedOrigins: "shop.example/path" is not an origin`},
		{"credentialed origin", func(c *Config) { c.CredentialedOrigins = "https://ops.example,ops.example" }, `CORS_CREDENTIALED_ORIGINS: web config: CredentialedOrigins: "ops.example" is not an origin`},
		{"credentialed wildcard", func(c *Config) { c.CredentialedOrigins = "*" }, "CORS_CREDENTIALED_ORIGINS: must list origins; * would let any site use logged-in sessions"},
		{"credentialed origins", func(c *Config) { c.CredentialedOrigins = "https://ops.example, http://localhost:3000" }, ""},
		{"proxy", func(c *Config) { c.TrustedProxies = "10.0.0.0/8,proxy.local" }, `TRUSTED_PROXIES: "proxy.local" is not an IP address or CIDR`},
		{"remote write url", func(c *Config) { c.RemoteWrite.URL = "http://vm:8428/api/v1/write,vm:8428" }, `REMOTE_WRITE_URL "vm:8428": want an http or https URL`},
		{"remote write auth", func(c *Config) { c.RemoteWrite.URL, c.RemoteWrite.BearerToken = "http://u:p@vm/api/v1/write", "" }, ""},
		{"remote write shards", func(c *Config) { c.RemoteWrite.Shards = 0 }, "REMOTE_WRITE_SHARDS: must be between 1 and 64, got 0"},
		{"remote write queue", func(c *Config) { c.RemoteWrite.QueueSamples = 10 }, "REMOTE_WRITE_QUEUE_SAMPLES: must be at least 1000, got 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want it valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if c := DefaultConfig(); c.Validate() != nil {
		t.Errorf("defaults invalid: %v", c.Validate())
	}
}

func TestConfigStoreOptions(t *testing.T) {
	c := DefaultConfig()
	c.DataDir, c.RetentionDays, c.MaxSeries = "/srv/atroz", 30, 500
	o := c.StoreOptions()
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	if o.RetentionCap != 30*24*time.Hour || o.MaxSeries != 500 ||
		o.FlushInterval != time.Second || o.LockTimeout != 2*time.Second {
		t.Errorf("StoreOptions() = %+v", o)
	}
	if got := c.StorePath(); got != "/srv/atroz/atroz.db" {
		t.Errorf("StorePath() = %q", got)
	}
}

func TestConfigLogger(t *testing.T) {
	var b strings.Builder
	c := DefaultConfig()
	c.LogLevel = "warn"
	log := c.Logger(&b)
	log.Info("hidden")
	log.Warn("shown", "event_type", "test")
	if strings.Contains(b.String(), "hidden") || !strings.Contains(b.String(), `"msg":"shown","event_type":"test"`) {
		t.Errorf("log = %s", b.String())
	}
}

// TestRemoteWriteConfigs takes basic auth from a URL's user:password@ and
// gives the bearer token to the other URLs.
func TestRemoteWriteConfigs(t *testing.T) {
	r := RemoteWriteConfig{URL: "https://u:p%40ss@mimir.example/api/v1/push, http://vm:8428/api/v1/write", BearerToken: "tok", QueueSamples: 1000, Shards: 2, BufferMB: 256, BufferMaxAge: time.Hour}
	confs, errs := r.configs()
	if len(errs) != 0 || len(confs) != 2 {
		t.Fatalf("%v, %d configs", errs, len(confs))
	}
	if c := confs[0]; c.URL != "https://mimir.example/api/v1/push" || c.Username != "u" || c.Password != "p@ss" || c.BearerToken != "" {
		t.Errorf("first: %+v", c)
	}
	if c := confs[1]; c.URL != "http://vm:8428/api/v1/write" || c.BearerToken != "tok" || c.Username != "" {
		t.Errorf("second: %+v", c)
	}
}

// TestRemoteWriteExternalLabels parses name=value pairs sorted by name,
// and names the setting for a bad one.
func TestRemoteWriteExternalLabels(t *testing.T) {
	r := RemoteWriteConfig{ExternalLabels: "zone=b, atroz_instance=eu-1"}
	got, err := r.externalLabels()
	if err != nil || got.String() != `{atroz_instance="eu-1",zone="b"}` {
		t.Errorf("%v, %v", got, err)
	}
	for _, bad := range []string{"zone", "1zone=b", "__name__=x", "zone=", "zone=a,zone=b"} {
		r.ExternalLabels = bad
		if _, err := r.externalLabels(); err == nil || !strings.Contains(err.Error(), "REMOTE_WRITE_EXTERNAL_LABELS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
