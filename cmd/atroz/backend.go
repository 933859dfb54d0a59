package main

import (
	"fmt"
	"log/slog"
	"strings"

	"atroz/query"
	"atroz/remote"
)

// QueryBackendConfig names a Prometheus-compatible query API (a
// VictoriaMetrics vmselect or single node, Mimir, Thanos Query,
// Prometheus) that the dashboard, Explore, the query API, rules and SLOs
// read instead of the store.
type QueryBackendConfig struct {
	// URL is the API's base, under which /api/v1/query is
	// (QUERY_BACKEND_URL); user:password@ in it is basic auth. Empty: the store answers.
	URL string
	// BearerToken authenticates to it (QUERY_BACKEND_BEARER_TOKEN).
	BearerToken string
	// Headers are sent with every request, comma-separated Name=value
	// pairs such as X-Scope-OrgID=team-a (QUERY_BACKEND_HEADERS).
	Headers string
	// CAFile verifies its certificate (QUERY_BACKEND_CA_FILE);
	// InsecureSkipVerify skips that (QUERY_BACKEND_INSECURE_SKIP_VERIFY).
	CAFile             string
	InsecureSkipVerify bool
	// Mode is evaluate (AtroZ evaluates PromQL over the backend's raw
	// samples: the store's answers, whatever the backend's language) or
	// forward (the backend evaluates; less data moved, its language's
	// answers) (QUERY_BACKEND_MODE). Default evaluate.
	Mode string
}

func (b *QueryBackendConfig) settings() []setting {
	return []setting{
		{"query-backend-url", "Prometheus-compatible query API read instead of the store (vmselect, Mimir, Thanos Query, Prometheus); user:pass@ is basic auth", &b.URL},
		{"query-backend-bearer-token", "bearer token for the query backend", &b.BearerToken},
		{"query-backend-headers", "comma-separated Name=value headers sent to the query backend, such as X-Scope-OrgID=team-a", &b.Headers},
		{"query-backend-ca-file", "CA certificate that verifies the query backend", &b.CAFile},
		{"query-backend-insecure-skip-verify", "do not verify the query backend's certificate", &b.InsecureSkipVerify},
		{"query-backend-mode", "evaluate (PromQL here over the backend's raw samples) or forward (the backend evaluates)", &b.Mode},
	}
}

// backend returns the query.Backend the settings name, nil without a URL,
// or an error naming the setting that is wrong.
func (b *QueryBackendConfig) backend() (*query.Backend, error) {
	if b.Mode != "evaluate" && b.Mode != "forward" {
		return nil, fmt.Errorf("config QUERY_BACKEND_MODE: must be evaluate or forward, got %q", b.Mode)
	}
	headers, err := parseHeaders(b.Headers)
	if err != nil {
		return nil, err
	}
	if b.URL == "" {
		return nil, nil
	}
	be, err := query.NewBackend(query.BackendConfig{URL: b.URL, BearerToken: b.BearerToken, Headers: headers, CAFile: b.CAFile, InsecureSkipVerify: b.InsecureSkipVerify})
	if err != nil {
		return nil, fmt.Errorf("config %w", err)
	}
	return be, nil
}

// parseHeaders reads QUERY_BACKEND_HEADERS: Name=value pairs, comma-separated.
func parseHeaders(list string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range splitList(list) {
		name, value, ok := strings.Cut(item, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || strings.ContainsAny(name, " :") {
			return nil, fmt.Errorf("config QUERY_BACKEND_HEADERS: %q is not Name=value", item)
		}
		out[name] = value
	}
	return out, nil
}

// apply sets the engine's backend options.
func (b *QueryBackendConfig) apply(o *query.Options) error {
	be, err := b.backend()
	if err != nil {
		return err
	}
	o.Backend, o.BackendRead = be, be != nil && b.Mode == "evaluate"
	return nil
}

// warnBackend logs which backend queries read, and warns when nothing
// AtroZ collects reaches it: without REMOTE_WRITE_URL the dashboard shows
// only what others write to the cluster.
func warnBackend(cfg *Config, log *slog.Logger) {
	if cfg.QueryBackend.URL == "" {
		return
	}
	log.Info("query backend", slog.String("event_type", "startup"), slog.String("url", remote.RedactURL(cfg.QueryBackend.URL)), slog.String("mode", cfg.QueryBackend.Mode))
	if cfg.RemoteWrite.URL == "" {
		log.Warn("QUERY_BACKEND_URL is set without REMOTE_WRITE_URL: what AtroZ collects stays in its own store, which queries no longer read",
			slog.String("event_type", "startup"))
	}
}
