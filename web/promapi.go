package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

	"atroz/collector"
	"atroz/query"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/util/annotations"
	"github.com/prometheus/prometheus/util/stats"
)

// The Prometheus HTTP API, in its shapes and status codes, for GET and
// form-encoded POST, so Grafana's Prometheus data source, promtool and
// scripts written for Prometheus read AtroZ unchanged.

func (s *Server) promAPI(api *gin.RouterGroup) {
	for _, r := range []struct {
		path string
		h    gin.HandlerFunc
	}{
		{"/query", s.instantQuery},
		{"/query_range", s.rangeQuery},
		{"/series", s.series},
		{"/labels", s.labelNames},
		{"/label/:name/values", s.labelValues},
		{"/metadata", s.metadata},
		{"/status/buildinfo", s.buildInfo},
		{"/format_query", formatQuery},
		{"/query_exemplars", queryExemplars},
		{"/status/runtimeinfo", s.runtimeInfo},
		{"/status/config", s.statusConfig},
		{"/status/flags", s.statusFlags},
		{"/status/tsdb", s.statusTSDB},
		{"/targets", s.targets},
	} {
		api.GET(r.path, r.h)
		api.POST(r.path, r.h)
	}
	api.POST("/read", s.remoteRead)
}

// success writes {"status":"success","data":data} with any warnings.
func success(c *gin.Context, data any, warnings annotations.Annotations) {
	body := gin.H{"status": "success", "data": data}
	ws, infos := warnings.AsStrings("", 10, 10)
	if len(ws) > 0 {
		body["warnings"] = ws
	}
	if len(infos) > 0 {
		body["infos"] = infos
	}
	c.JSON(http.StatusOK, body)
}

// queryResult is the data of a query answer.
type queryResult struct {
	ResultType parser.ValueType `json:"resultType"`
	Result     parser.Value     `json:"result"`
	// Stats are the engine's statistics, when the stats parameter asks.
	Stats stats.QueryStats `json:"stats,omitempty"`
}

// withStats returns ctx asking the engine for statistics when the stats
// parameter is set (per step for stats=all), as Prometheus' API does.
func withStats(c *gin.Context, ctx context.Context) (context.Context, *query.Stats) {
	v := c.Request.Form.Get("stats")
	if v == "" {
		return ctx, nil
	}
	return query.WithStats(ctx, v == "all")
}

// statsResult returns the statistics st gathered; nil when none were asked.
func statsResult(st *query.Stats) stats.QueryStats {
	if st == nil {
		return nil
	}
	return st.Result
}

func (s *Server) instantQuery(c *gin.Context) {
	ts, err := timeParam(c, "time", time.Now())
	if err != nil {
		badRequest(c, err)
		return
	}
	ctx, cancel, err := s.queryContext(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	defer cancel()
	res, err := query.ParseResolution(c.Request.Form.Get("max_source_resolution"))
	if err != nil {
		badRequest(c, err)
		return
	}
	done, err := s.query.Admit(queryPrincipal(c))
	if err != nil {
		queryError(c, err)
		return
	}
	defer done()
	ctx, st := withStats(c, ctx)
	v, ws, err := s.query.InstantAt(ctx, c.Request.Form.Get("query"), ts, res)
	if err != nil {
		queryError(c, err)
		return
	}
	success(c, queryResult{v.Type(), v, statsResult(st)}, ws)
}

func (s *Server) rangeQuery(c *gin.Context) {
	start, err := requiredTime(c, "start")
	if err != nil {
		badRequest(c, err)
		return
	}
	end, err := requiredTime(c, "end")
	if err != nil {
		badRequest(c, err)
		return
	}
	step, err := durationParam(c, "step")
	if err != nil {
		badRequest(c, err)
		return
	}
	ctx, cancel, err := s.queryContext(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	defer cancel()
	res, err := query.ParseResolution(c.Request.Form.Get("max_source_resolution"))
	if err != nil {
		badRequest(c, err)
		return
	}
	done, err := s.query.Admit(queryPrincipal(c))
	if err != nil {
		queryError(c, err)
		return
	}
	defer done()
	ctx, st := withStats(c, ctx)
	m, ws, err := s.query.RangeAt(ctx, c.Request.Form.Get("query"), start, end, step, res)
	if err != nil {
		queryError(c, err)
		return
	}
	if m == nil {
		m = promql.Matrix{}
	}
	success(c, queryResult{parser.ValueTypeMatrix, m, statsResult(st)}, ws)
}

// queryPrincipal names who a query counts against in the per-principal
// bound of queries in flight: the user, the token, or the client address
// (its /64 for IPv6), as the rate limits count them.
func queryPrincipal(c *gin.Context) string {
	p := principalOf(c)
	if p.kind != principalAnonymous {
		return p.kind.String() + " " + p.name
	}
	return "client " + rateKey(c.ClientIP())
}

// queryContext bounds the query by its timeout parameter, when given.
func (s *Server) queryContext(c *gin.Context) (context.Context, context.CancelFunc, error) {
	if err := c.Request.ParseForm(); err != nil {
		return nil, nil, fmt.Errorf("parse form: %w", err)
	}
	if c.Request.Form.Get("query") == "" {
		return nil, nil, errors.New("query is required")
	}
	if c.Request.Form.Get("timeout") == "" {
		ctx, cancel := context.WithCancel(c.Request.Context())
		return ctx, cancel, nil
	}
	d, err := durationParam(c, "timeout")
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), d)
	return ctx, cancel, nil
}

func (s *Server) series(c *gin.Context) {
	sets, err := matchParams(c, true)
	if err != nil {
		badRequest(c, err)
		return
	}
	lk, err := lookupParams(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	seen := map[uint64]bool{}
	out := []labels.Labels{}
	for _, ms := range sets {
		found, err := s.seriesIn(lk, ms)
		if err != nil {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
			return
		}
		for _, ls := range found {
			if h := ls.Hash(); !seen[h] {
				seen[h] = true
				out = append(out, ls)
			}
		}
	}
	out, ws := truncated(out, lk.limit)
	success(c, out, ws)
}

// seriesIn returns the series ms selects, with data in the lookup's range
// when it has one.
func (s *Server) seriesIn(lk lookup, ms []*labels.Matcher) ([]labels.Labels, error) {
	if !lk.ranged {
		return s.query.Series(ms)
	}
	return s.query.SeriesBetween(lk.mint, lk.maxt, ms)
}

func (s *Server) labelNames(c *gin.Context) {
	sets, err := matchParams(c, false)
	if err != nil {
		badRequest(c, err)
		return
	}
	lk, err := lookupParams(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	var names []string
	if lk.ranged {
		names, err = s.query.LabelNamesBetween(lk.mint, lk.maxt, sets)
	} else {
		names, err = s.query.LabelNames(sets)
	}
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	names, ws := truncated(names, lk.limit)
	success(c, names, ws)
}

func (s *Server) labelValues(c *gin.Context) {
	name := c.Param("name")
	if !model.UTF8Validation.IsValidLabelName(name) {
		badRequest(c, fmt.Errorf("invalid label name: %q", name))
		return
	}
	sets, err := matchParams(c, false)
	if err != nil {
		badRequest(c, err)
		return
	}
	lk, err := lookupParams(c)
	if err != nil {
		badRequest(c, err)
		return
	}
	var values []string
	if lk.ranged {
		values, err = s.query.LabelValuesBetween(name, lk.mint, lk.maxt, sets)
	} else {
		values, err = s.query.LabelValues(name, sets)
	}
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	values, ws := truncated(values, lk.limit)
	success(c, values, ws)
}

// metadata answers from the collector's definitions: type, help and unit per metric.
func (s *Server) metadata(c *gin.Context) {
	_ = c.Request.ParseForm()
	want := c.Request.Form.Get("metric")
	out := map[string][]gin.H{}
	for _, d := range collector.Defs {
		if want == "" || want == d.Name {
			out[d.Name] = []gin.H{{"type": d.Type, "help": d.Help, "unit": ""}}
		}
	}
	success(c, out, nil)
}

func (s *Server) buildInfo(c *gin.Context) {
	success(c, gin.H{"version": s.cfg.Version, "revision": s.cfg.Revision, "branch": "", "buildUser": "", "buildDate": "", "goVersion": runtime.Version()}, nil)
}

// formatQuery answers the query parameter pretty-printed by Prometheus'
// own printer, as Prometheus' /api/v1/format_query (Grafana's format
// button). Formatting runs nothing, so experimental functions parse here.
func formatQuery(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		badRequest(c, fmt.Errorf("parse form: %w", err))
		return
	}
	expr, err := parser.NewParser(parser.Options{EnableExperimentalFunctions: true}).ParseExpr(c.Request.Form.Get("query"))
	if err != nil {
		badRequest(c, fmt.Errorf("invalid parameter \"query\": %w", err))
		return
	}
	success(c, expr.Pretty(0), nil)
}

// queryExemplars answers Prometheus' /api/v1/query_exemplars, which
// Grafana calls when a panel shows exemplars: AtroZ stores none, so a
// valid request gets an empty list and a query that does not parse a 400.
func queryExemplars(c *gin.Context) {
	if err := c.Request.ParseForm(); err != nil {
		badRequest(c, fmt.Errorf("parse form: %w", err))
		return
	}
	if _, err := parser.NewParser(parser.Options{EnableExperimentalFunctions: true}).ParseExpr(c.Request.Form.Get("query")); err != nil {
		badRequest(c, fmt.Errorf("invalid parameter \"query\": %w", err))
		return
	}
	success(c, []struct{}{}, nil)
}

// runtimeInfo answers Prometheus' /api/v1/status/runtimeinfo with the
// fields that mean something here.
func (s *Server) runtimeInfo(c *gin.Context) {
	success(c, gin.H{
		"startTime":           s.started.UTC(),
		"serverTime":          time.Now().UTC(),
		"reloadConfigSuccess": true,
		"lastConfigTime":      s.started.UTC(),
		"corruptionCount":     0,
		"goroutineCount":      runtime.NumGoroutine(),
		"GOMAXPROCS":          runtime.GOMAXPROCS(0),
		"GOMEMLIMIT":          debug.SetMemoryLimit(-1),
		"GOGC":                os.Getenv("GOGC"),
		"GODEBUG":             os.Getenv("GODEBUG"),
		"storageRetention":    model.Duration(s.cfg.Retention).String(),
	}, nil)
}

func badRequest(c *gin.Context, err error) {
	abortWithError(c, http.StatusBadRequest, ErrorBadData, err)
}

// queryError maps the engine's errors to Prometheus' types and codes.
func queryError(c *gin.Context, err error) {
	var (
		timeout  promql.ErrQueryTimeout
		canceled promql.ErrQueryCanceled
		storage  promql.ErrStorage
	)
	// The engine wraps a select's error in an ErrStorage, which does not unwrap.
	backendDown := errors.Is(err, query.ErrBackend) || (errors.As(err, &storage) && errors.Is(storage.Err, query.ErrBackend))
	switch {
	case errors.Is(err, query.ErrBadQuery):
		abortWithError(c, http.StatusBadRequest, ErrorBadData, err)
	case backendDown:
		c.Header("Retry-After", "5")
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
	case errors.Is(err, query.ErrTooManyQueries):
		c.Header("Retry-After", "1")
		abortWithError(c, http.StatusTooManyRequests, ErrorRateLimited, err)
	case errors.Is(err, query.ErrBusy):
		c.Header("Retry-After", "1")
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
	case errors.As(err, &timeout), errors.Is(err, context.DeadlineExceeded):
		abortWithError(c, http.StatusServiceUnavailable, ErrorTimeout, err)
	case errors.As(err, &canceled), errors.Is(err, context.Canceled):
		abortWithError(c, http.StatusServiceUnavailable, ErrorCanceled, err)
	case errors.As(err, &storage):
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	default: // too many samples among them
		abortWithError(c, http.StatusUnprocessableEntity, ErrorExecution, err)
	}
}

// timeParam reads a time as Prometheus does: unix seconds, or RFC 3339.
func timeParam(c *gin.Context, name string, def time.Time) (time.Time, error) {
	if err := c.Request.ParseForm(); err != nil {
		return time.Time{}, err
	}
	v := c.Request.Form.Get(name)
	if v == "" {
		return def, nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		// Rounded to the millisecond, as Prometheus does: 1796171891.033
		// is 1796171891.0329999 as a float, which is not 32 ms.
		s, frac := math.Modf(f)
		return time.Unix(int64(s), int64(math.Round(frac*1000))*int64(time.Millisecond)).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("invalid parameter %q: cannot parse %q to a valid timestamp", name, v)
}

func requiredTime(c *gin.Context, name string) (time.Time, error) {
	t, err := timeParam(c, name, time.Time{})
	if err == nil && t.IsZero() {
		err = fmt.Errorf("invalid parameter %q: missing", name)
	}
	return t, err
}

// durationParam reads a duration: seconds as a number, or a Prometheus duration such as 15s.
func durationParam(c *gin.Context, name string) (time.Duration, error) {
	if err := c.Request.ParseForm(); err != nil {
		return 0, err
	}
	v := c.Request.Form.Get(name)
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		d := f * float64(time.Second)
		if d >= float64(math.MaxInt64) || d <= float64(math.MinInt64) || math.IsNaN(d) {
			return 0, fmt.Errorf("invalid parameter %q: cannot parse %q to a valid duration. It overflows int64", name, v)
		}
		return time.Duration(d), nil
	}
	if d, err := model.ParseDuration(v); err == nil {
		return time.Duration(d), nil
	}
	return 0, fmt.Errorf("invalid parameter %q: cannot parse %q to a valid duration", name, v)
}

// matchParams parses the match[] selectors; required makes at least one mandatory.
func matchParams(c *gin.Context, required bool) ([][]*labels.Matcher, error) {
	if err := c.Request.ParseForm(); err != nil {
		return nil, err
	}
	raw := c.Request.Form["match[]"]
	if required && len(raw) == 0 {
		return nil, errors.New("no match[] parameter provided")
	}
	p := parser.NewParser(parser.Options{})
	sets := make([][]*labels.Matcher, 0, len(raw))
	for _, m := range raw {
		ms, err := p.ParseMetricSelector(m)
		if err != nil {
			return nil, fmt.Errorf("invalid parameter \"match[]\": %w", err)
		}
		sets = append(sets, ms)
	}
	return sets, nil
}
