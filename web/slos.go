package web

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"atroz/collector"
	"atroz/query"
	"atroz/slo"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/common/model"
)

// sloMaxAge is how long GET /api/v1/slos answers from its last count.
// Counting reads every matching counter over the SLO's window (30 days of
// the 1-minute tier for every route and code of every service, for the
// built-in SLOs), so dashboards polling it share one count, and no viewer
// can make the server recount more often than this.
const sloMaxAge = 30 * time.Second

// sloCache holds the last count; its lock makes concurrent requests wait
// for one count rather than each run its own.
type sloCache struct {
	mu  sync.Mutex
	at  time.Time
	f   *slo.File
	sts []slo.Status
}

// SetSLOs makes GET /api/v1/slos report the SLOs of f, the built-in ones
// included unless f drops them.
func (s *Server) SetSLOs(f *slo.File) { s.slos.Store(f) }

// sloDefinition is an SLO as GET /api/v1/slos defines it, for the
// dashboard's form: its fields and where it comes from.
type sloDefinition struct {
	slo.SLO
	Origin string `json:"origin"`
}

// definitions returns the SLOs of f, the built-in ones first when kept.
func definitions(f *slo.File) []sloDefinition {
	list := f.SLOs
	if f.Defaults {
		list = append(slo.Defaults(), list...)
	}
	out := make([]sloDefinition, len(list))
	for i := range list {
		out[i] = sloDefinition{SLO: list[i], Origin: list[i].Origin()}
	}
	return out
}

// latencyThresholds returns the request-duration histogram's bounds as
// durations ("500ms"): the thresholds a latency SLO may have.
func latencyThresholds() []string {
	bs := collector.DurationBuckets()
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = model.Duration(time.Duration(b * float64(time.Second))).String()
	}
	return out
}

// sloAPI serves GET /api/v1/slos, and to admins the changes of the
// dashboard's SLOs (sloadmin.go). GET /api/v1/slos answers each SLO's (and each service's, for the
// built-in ones) events over its window and the last hour, counted exactly
// from the stored counters, its SLI, error budget left and burn rate, as
// of at most sloMaxAge ago.
func (s *Server) sloAPI(api, admin *gin.RouterGroup) {
	s.sloAdminAPI(admin)
	api.GET("/slos", func(c *gin.Context) {
		if err := s.SyncSLOs(); err != nil { // another instance's changes, when shared
			s.log.Warn("shared SLOs not read", "event_type", "slo", "error", err)
		}
		f := s.slos.Load()
		if f == nil {
			success(c, gin.H{"slos": []slo.Status{}, "definitions": []sloDefinition{}, "latency_thresholds": latencyThresholds()}, nil)
			return
		}
		sts, at, err := s.sloCache.statuses(c.Request.Context(), s, f)
		switch {
		case errors.Is(err, query.ErrBackend):
			c.Header("Retry-After", "5")
			abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
			return
		case err != nil:
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
			return
		}
		success(c, gin.H{"slos": nonNil(sts), "computed_at": at.UTC().Format(time.RFC3339),
			"definitions": definitions(f), "latency_thresholds": latencyThresholds()}, nil)
	})
}

// statuses returns the last count of f's SLOs, counting again when it is
// older than sloMaxAge or of other SLOs: every change of the dashboard's
// SLOs makes a new File, so the next request after one counts anew.
func (sc *sloCache) statuses(ctx context.Context, s *Server, f *slo.File) ([]slo.Status, time.Time, error) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	now := time.Now()
	if sc.f == f && now.Sub(sc.at) < sloMaxAge {
		return sc.sts, sc.at, nil
	}
	r := slo.StoreReader(s.db)
	if s.query.Remote() { // the backend keeps the counters, at full resolution
		r = slo.SampleReader(ctx, s.query)
	}
	sts, err := slo.Statuses(r, f, now)
	if err != nil {
		return nil, now, err
	}
	sc.f, sc.at, sc.sts = f, now, sts
	return sts, now, nil
}
