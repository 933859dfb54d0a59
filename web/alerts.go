package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"atroz/alert"
	"atroz/alert/notify"
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
	admin.GET("/admin/receivers", s.withAlerts(func(c *gin.Context, m *alert.Manager) {
		success(c, gin.H{"receivers": m.Receivers()}, nil)
	}))
	admin.POST("/admin/receivers/:name/test", s.withAlerts(s.testReceiver))
}

// testReceiver sends a test notification through one receiver and answers
// whether it was delivered: 200 with delivered true, or with delivered
// false and the receiver's error (its URLs redacted) when the receiver
// refused it; 404 for an unknown receiver, 409 while its last test is
// still being sent.
func (s *Server) testReceiver(c *gin.Context, m *alert.Manager) {
	name := c.Param("name")
	err := m.SendTestNotification(c.Request.Context(), name, actor(principalOf(c)))
	switch {
	case errors.Is(err, notify.ErrReceiverNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, err)
	case errors.Is(err, notify.ErrTestInFlight):
		abortWithError(c, http.StatusConflict, ErrorBadData, err)
	case err != nil:
		success(c, gin.H{"receiver": name, "delivered": false, "error": err.Error()}, nil)
	default:
		success(c, gin.H{"receiver": name, "delivered": true}, nil)
	}
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
	events, err := m.HistoryView(from, to, c.Request.Form.Get("alertname"))
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
	sil.CreatedBy = actor(principalOf(c))
	created, err := m.AddSilence(sil)
	if err != nil {
		badRequest(c, fmt.Errorf("silence: %w", err))
		return
	}
	s.auditSilence(c, SecuritySilenceCreated, created)
	success(c, gin.H{"silenceID": created.ID}, nil)
}

func (s *Server) deleteSilence(c *gin.Context, m *alert.Manager) {
	ended, err := m.DeleteSilence(c.Param("id"))
	switch {
	case errors.Is(err, alert.ErrSilenceNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, err)
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
	default:
		s.auditSilence(c, SecuritySilenceExpired, ended)
		success(c, nil, nil)
	}
}

// actor names p in a silence's createdBy and the audit log: a user's name,
// or "token:" and a token's name.
func actor(p principal) string {
	if p.kind == principalToken {
		return "token:" + p.name
	}
	return p.name
}

// auditSilence records who created or expired which silence, and what it
// mutes, as a security event.
func (s *Server) auditSilence(c *gin.Context, kind string, sil alert.Silence) {
	ms := make([]string, len(sil.Matchers))
	for i, m := range sil.Matchers {
		ms[i] = m.String()
	}
	s.events.Audit(c, kind, "silence "+strings.TrimPrefix(kind, "silence_"),
		slog.String("silence", sil.ID),
		slog.String("by", actor(principalOf(c))),
		slog.String("created_by", sil.CreatedBy),
		slog.String("matchers", "{"+strings.Join(ms, ",")+"}"),
		slog.Time("ends_at", sil.EndsAt))
}
