package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/store"
)

// healthBody is the JSON answer of GET /health.
type healthBody struct {
	Status        string      `json:"status"` // ok or degraded
	Reason        string      `json:"reason,omitempty"`
	Version       string      `json:"version"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Store         store.Stats `json:"store"`
}

// health answers that the server is up, with the store's running figures.
// A full data volume makes it "degraded", with a reason, but still 200:
// the process is alive and serves reads, and a probe that restarted it or a
// balancer that dropped it would lose the samples it holds in memory for
// the flush that will fit, or cut off the dashboard. store_disk_full is the
// signal to alert on.
func (s *Server) health(c *gin.Context) {
	st := s.db.Stats()
	body := healthBody{Status: "ok", Version: s.cfg.Version, UptimeSeconds: time.Since(s.started).Seconds(), Store: st}
	if st.DiskFull {
		body.Status = "degraded"
		body.Reason = "data volume full since " + st.DiskFullSince.UTC().Format(time.RFC3339) + ": ingestion answers 507 until space is freed; reads work"
	}
	c.JSON(http.StatusOK, body)
}

// healthy answers Prometheus' liveness probe, /-/healthy, as Prometheus
// does: 200 and a line of text while the process serves, so promtool
// check healthy and orchestrators' probes work unchanged.
func healthy(c *gin.Context) {
	c.String(http.StatusOK, "AtroZ is Healthy.\n")
}

// ready answers Prometheus' readiness probe, /-/ready: once a Server
// exists its store is open and every route serves, so it is always ready.
func ready(c *gin.Context) {
	c.String(http.StatusOK, "AtroZ is Ready.\n")
}
