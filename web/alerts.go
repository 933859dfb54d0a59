package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"atroz/alert"
	"atroz/query"

	"github.com/gin-gonic/gin"
)

// SetAlerts attaches the alert manager whose state the alert API serves.
func (s *Server) SetAlerts(m *alert.Manager) { s.alerts.Store(m) }

// Query returns the PromQL engine behind the query API, for the alert manager to share.
func (s *Server) Query() *query.Engine { return s.query }

func (s *Server) alertAPI(api, admin *gin.RouterGroup) {
	api.GET("/alerts", s.withAlerts(func(c *gin.Context, m *alert.Manager) {
		success(c, gin.H{"alerts": nonNil(m.Alerts())}, nil)
	}))
	api.GET("/rules", s.withAlerts(func(c *gin.Context, m *alert.Manager) {
		groups, err := m.RuleGroups(c.Query("type"))
		if err != nil {
			badRequest(c, err)
			return
		}
		success(c, gin.H{"groups": groups}, nil)
	}))
	api.GET("/alerts/history", s.withAlerts(s.alertHistory))
	api.GET("/silences", s.withAlerts(func(c *gin.Context, m *alert.Manager) { success(c, m.Silences(), nil) }))
	admin.POST("/silences", s.withAlerts(s.addSilence))
	admin.DELETE("/silences/:id", s.withAlerts(s.deleteSilence))
}

// withAlerts answers 503 until an alert manager is attached.
func (s *Server) withAlerts(h func(*gin.Context, *alert.Manager)) gin.HandlerFunc {
	return func(c *gin.Context) {
		m := s.alerts.Load()
		if m == nil {
			abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, errors.New("alerting is not running"))
			return
		}
		h(c, m)
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// alertHistory answers the recorded transitions between from and to
// (default: the last 24 hours), optionally of one alertname.
func (s *Server) alertHistory(c *gin.Context, m *alert.Manager) {
	now := time.Now()
	from, err := timeParam(c, "from", now.Add(-24*time.Hour))
	if err != nil {
		badRequest(c, err)
		return
	}
	to, err := timeParam(c, "to", now)
	if err != nil {
		badRequest(c, err)
		return
	}
	if to.Before(from) {
		badRequest(c, errors.New("invalid parameter \"to\": before \"from\""))
		return
	}
	events, err := m.History(from, to, c.Request.Form.Get("alertname"))
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	success(c, events, nil)
}

func (s *Server) addSilence(c *gin.Context, m *alert.Manager) {
	var sil alert.Silence
	if ok, err := readJSON(c, 64<<10, &sil); !ok {
		return
	} else if err != nil {
		badRequest(c, fmt.Errorf("silence: %w", err))
		return
	}
	created, err := m.AddSilence(sil)
	if err != nil {
		badRequest(c, fmt.Errorf("silence: %w", err))
		return
	}
	success(c, gin.H{"silenceID": created.ID}, nil)
}

func (s *Server) deleteSilence(c *gin.Context, m *alert.Manager) {
	err := m.DeleteSilence(c.Param("id"))
	switch {
	case errors.Is(err, alert.ErrSilenceNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, err)
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	default:
		success(c, nil, nil)
	}
}
