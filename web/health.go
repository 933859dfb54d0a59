package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/auth"
	"atroz/store"
)

// healthStatus is what GET /health tells anyone: whether the server is ok
// or degraded, and why.
type healthStatus struct {
	Status string `json:"status"` // ok or degraded
	Reason string `json:"reason,omitempty"`
}

// healthBody is the JSON answer of GET /health to a caller who may read:
// the status and the server's version, uptime and store figures.
type healthBody struct {
	healthStatus
	Version       string      `json:"version"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Store         store.Stats `json:"store"`
}

// health answers that the server is up. An anonymous caller gets the status
// alone, as a probe needs no more and the version and store internals help
// an attacker; a logged-in user or a token with the read scope gets the
// version, uptime and the store's running figures too (the metrics port
// shows the same figures as store_* metrics). A full data volume makes it
// "degraded", with a reason, but still 200: the process is alive and
// serves reads, and a probe that restarted it or a balancer that dropped
// it would lose the samples it holds in memory for the flush that will
// fit, or cut off the dashboard. store_disk_full is the signal to alert on.
func (s *Server) health(c *gin.Context) {
	st := s.db.Stats()
	status := healthStatus{Status: "ok"}
	if st.DiskFull {
		status.Status = "degraded"
		status.Reason = "data volume full since " + st.DiskFullSince.UTC().Format(time.RFC3339) + ": ingestion answers 507 until space is freed; reads work"
	}
	if !principalOf(c).has(auth.ScopeRead) {
		c.JSON(http.StatusOK, status)
		return
	}
	c.JSON(http.StatusOK, healthBody{healthStatus: status, Version: s.cfg.Version, UptimeSeconds: time.Since(s.started).Seconds(), Store: st})
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
