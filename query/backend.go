package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/util/annotations"
)

// BackendConfig names a Prometheus-compatible HTTP query API (a
// VictoriaMetrics vmselect or single node, Mimir, Thanos Query,
// Prometheus) and how to reach it.
type BackendConfig struct {
	// URL is the API's base, under which /api/v1/query is, such as
	// http://vmselect:8481/select/0/prometheus. user:password@ in it is
	// basic auth.
	URL string
	// BearerToken authenticates with Authorization: Bearer; exclusive
	// with basic auth.
	BearerToken string
	// Headers are sent with every request, such as X-Scope-OrgID for a
	// Mimir tenant.
	Headers map[string]string
	// CAFile verifies the API's certificate; InsecureSkipVerify skips it.
	CAFile             string
	InsecureSkipVerify bool
	// Timeout bounds one request. Default 2m, Prometheus' query timeout.
	Timeout time.Duration
}

// Backend is a Prometheus-compatible HTTP query API that an Engine
// forwards its queries to instead of evaluating them over the store: the
// answers, warnings and infos are the backend's.
type Backend struct {
	api     v1.API
	timeout time.Duration
}

// NewBackend returns the Backend cfg names, its client built by the
// Prometheus ecosystem's own HTTP client configuration.
func NewBackend(cfg BackendConfig) (*Backend, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("QUERY_BACKEND_URL: want an http or https URL")
	}
	hc := config.HTTPClientConfig{TLSConfig: config.TLSConfig{CAFile: cfg.CAFile, InsecureSkipVerify: cfg.InsecureSkipVerify}}
	if u.User != nil {
		pass, _ := u.User.Password()
		hc.BasicAuth = &config.BasicAuth{Username: u.User.Username(), Password: config.Secret(pass)}
		u.User = nil
	}
	if cfg.BearerToken != "" {
		if hc.BasicAuth != nil {
			return nil, errors.New("QUERY_BACKEND_URL: a bearer token and basic auth are exclusive")
		}
		hc.Authorization = &config.Authorization{Type: "Bearer", Credentials: config.Secret(cfg.BearerToken)}
	}
	if len(cfg.Headers) > 0 {
		hs := map[string]config.Header{}
		for k, v := range cfg.Headers {
			hs[k] = config.Header{Values: []string{v}}
		}
		hc.HTTPHeaders = &config.Headers{Headers: hs}
	}
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("QUERY_BACKEND_URL: %w", err)
	}
	rt, err := config.NewRoundTripperFromConfig(hc, "query_backend")
	if err != nil {
		return nil, fmt.Errorf("QUERY_BACKEND_URL: %w", err)
	}
	client, err := api.NewClient(api.Config{Address: u.String(), RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("QUERY_BACKEND_URL: %w", err)
	}
	return &Backend{api: v1.NewAPI(client), timeout: cmp.Or(cfg.Timeout, 2*time.Minute)}, nil
}

// instant evaluates qs at ts on the backend.
func (b *Backend) instant(ctx context.Context, qs string, ts time.Time) (parser.Value, annotations.Annotations, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	v, warns, infos, err := b.api.Query(ctx, qs, ts)
	if err != nil {
		return nil, nil, backendError(err)
	}
	out, err := fromModel(v)
	return out, notes(warns, infos), err
}

// rangeQuery evaluates qs from start to end every step on the backend.
func (b *Backend) rangeQuery(ctx context.Context, qs string, start, end time.Time, step time.Duration) (promql.Matrix, annotations.Annotations, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	v, warns, infos, err := b.api.QueryRange(ctx, qs, v1.Range{Start: start, End: end, Step: step})
	if err != nil {
		return nil, nil, backendError(err)
	}
	out, err := fromModel(v)
	if err != nil {
		return nil, nil, err
	}
	m, ok := out.(promql.Matrix)
	if !ok {
		return nil, nil, fmt.Errorf("query backend: a range query answered a %s", out.Type())
	}
	return m, notes(warns, infos), nil
}

// series returns the labels of the series the matchers select with data
// between start and end (zero times leave the range to the backend).
func (b *Backend) series(ms []*labels.Matcher, start, end time.Time) ([]labels.Labels, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	sets, _, _, err := b.api.Series(ctx, []string{selector(ms)}, start, end)
	if err != nil {
		return nil, backendError(err)
	}
	out := make([]labels.Labels, len(sets))
	for i, s := range sets {
		out[i] = metricLabels(model.Metric(s))
	}
	return out, nil
}

// labelNames returns the label names of the series any matcher set
// selects with data between start and end (zero: the backend's range).
func (b *Backend) labelNames(sets [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	names, _, _, err := b.api.LabelNames(ctx, selectors(sets), start, end)
	if err != nil {
		return nil, backendError(err)
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = string(n)
	}
	slices.Sort(out)
	return out, nil
}

// labelValues returns the values of name among the series any matcher
// set selects with data between start and end (zero: the backend's range).
func (b *Backend) labelValues(name string, sets [][]*labels.Matcher, start, end time.Time) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	vals, _, _, err := b.api.LabelValues(ctx, name, selectors(sets), start, end)
	if err != nil {
		return nil, backendError(err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	slices.Sort(out)
	return out, nil
}

// queryFunc is the rules' QueryFunc over the backend: an instant query
// whose answer must be a vector (or a scalar, as Prometheus' own allows).
func (b *Backend) queryFunc() rules.QueryFunc {
	return func(ctx context.Context, qs string, t time.Time) (promql.Vector, error) {
		v, _, err := b.instant(ctx, qs, t)
		if err != nil {
			return nil, err
		}
		switch v := v.(type) {
		case promql.Vector:
			return v, nil
		case promql.Scalar:
			return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
		}
		return nil, fmt.Errorf("rule result is not a vector or scalar: %s", v.Type())
	}
}

func selectors(sets [][]*labels.Matcher) []string {
	out := make([]string, len(sets))
	for i, ms := range sets {
		out[i] = selector(ms)
	}
	return out
}

// selector writes matchers as a PromQL series selector.
func selector(ms []*labels.Matcher) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// ErrBackend marks a query the backend could not answer: it is down,
// failed or timed out. The HTTP API answers it 503.
var ErrBackend = errors.New("query backend unavailable")

// backendError keeps a refused query a bad query (400), as the store's
// engine would answer it; anything else is the backend's failure.
func backendError(err error) error {
	var ae *v1.Error
	if errors.As(err, &ae) && ae.Type == v1.ErrBadData {
		return fmt.Errorf("%w: %s", ErrBadQuery, ae.Msg)
	}
	return fmt.Errorf("%w: %w", ErrBackend, err)
}

// errForwarded is the note every forwarded answer carries: the backend
// evaluated the query in its own language, whose functions may answer
// otherwise than PromQL's over the same samples (MetricsQL's rate() does
// not extrapolate), so a client can tell it from AtroZ's own evaluation.
var errForwarded = fmt.Errorf("%w: evaluated by the query backend (QUERY_BACKEND_MODE=forward), in its own query language", annotations.PromQLInfo)

// notes turns the backend's warnings and infos into annotations, each kept
// as it was, after errForwarded.
func notes(warns v1.Warnings, infos v1.Infos) annotations.Annotations {
	a := annotations.New().Add(errForwarded)
	for _, w := range warns {
		a.Add(fmt.Errorf("%w: %s", annotations.PromQLWarning, w))
	}
	for _, i := range infos {
		a.Add(fmt.Errorf("%w: %s", annotations.PromQLInfo, i))
	}
	return a
}

// fromModel converts the client's answer into the engine's types.
func fromModel(v model.Value) (parser.Value, error) {
	switch v := v.(type) {
	case model.Vector:
		out := make(promql.Vector, 0, len(v))
		for _, s := range v {
			if s.Histogram != nil {
				return nil, errNativeHistogram
			}
			out = append(out, promql.Sample{Metric: metricLabels(s.Metric), T: int64(s.Timestamp), F: float64(s.Value)})
		}
		return out, nil
	case model.Matrix:
		out := make(promql.Matrix, 0, len(v))
		for _, ss := range v {
			if len(ss.Histograms) > 0 {
				return nil, errNativeHistogram
			}
			pts := make([]promql.FPoint, len(ss.Values))
			for i, p := range ss.Values {
				pts[i] = promql.FPoint{T: int64(p.Timestamp), F: float64(p.Value)}
			}
			out = append(out, promql.Series{Metric: metricLabels(ss.Metric), Floats: pts})
		}
		return out, nil
	case *model.Scalar:
		return promql.Scalar{T: int64(v.Timestamp), V: float64(v.Value)}, nil
	case *model.String:
		return promql.String{T: int64(v.Timestamp), V: v.Value}, nil
	}
	return nil, fmt.Errorf("query backend: an answer of type %T", v)
}

var errNativeHistogram = errors.New("query backend: native histograms are not supported")

func metricLabels(m model.Metric) labels.Labels {
	b := labels.NewScratchBuilder(len(m))
	for k, v := range m {
		b.Add(string(k), string(v))
	}
	b.Sort()
	return b.Labels()
}
