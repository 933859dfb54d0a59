package web

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"atroz/store"
)

// healthBody is the JSON answer of GET /health.
type healthBody struct {
	Status        string      `json:"status"`
	Version       string      `json:"version"`
	UptimeSeconds float64     `json:"uptime_seconds"`
	Store         store.Stats `json:"store"`
}

// health answers that the server is up, with the store's running figures.
func (s *Server) health(c *gin.Context) {
	c.JSON(http.StatusOK, healthBody{
		Status:        "ok",
		Version:       s.cfg.Version,
		UptimeSeconds: time.Since(s.started).Seconds(),
		Store:         s.db.Stats(),
	})
}
