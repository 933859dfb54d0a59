package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"atroz/slo"

	"github.com/gin-gonic/gin"
)

// sloAdmin holds the SLO catalog; its lock orders the changes, so the rule
// groups swapped into the alert manager are always the last change's.
type sloAdmin struct {
	mu      sync.Mutex
	catalog atomic.Pointer[slo.Catalog]
}

// errNoCatalog is answered to a change of SLOs before alerting has loaded them.
var errNoCatalog = errors.New("the SLOs are not loaded: alerting is not running")

// SetSLOCatalog attaches the SLOs in force, which admins change through
// /api/v1/admin/slos, and makes GET /api/v1/slos report them.
func (s *Server) SetSLOCatalog(c *slo.Catalog) {
	s.sloAdmin.catalog.Store(c)
	s.SetSLOs(c.File())
}

// sloAdminAPI serves the changes of the SLOs created in the dashboard.
func (s *Server) sloAdminAPI(admin *gin.RouterGroup) {
	admin.POST("/admin/slos", s.createSLO)
	admin.PUT("/admin/slos/:name", s.replaceSLO)
	admin.DELETE("/admin/slos/:name", s.deleteSLO)
}

// createSLO stores a new SLO and answers 201 with it.
func (s *Server) createSLO(c *gin.Context) {
	sl, ok := s.readSLO(c, "")
	if !ok {
		return
	}
	if s.changeSLOs(c, "created", sl.Name, func(cat *slo.Catalog) error { return cat.Create(sl) }) {
		c.JSON(http.StatusCreated, gin.H{"status": "success", "data": sloDefinition{SLO: sl, Origin: sl.Origin()}})
	}
}

// replaceSLO stores the SLO sent in place of the dashboard's SLO of the
// path's name, and answers 200 with it.
func (s *Server) replaceSLO(c *gin.Context) {
	sl, ok := s.readSLO(c, c.Param("name"))
	if !ok {
		return
	}
	if s.changeSLOs(c, "replaced", sl.Name, func(cat *slo.Catalog) error { return cat.Replace(sl) }) {
		success(c, sloDefinition{SLO: sl, Origin: sl.Origin()}, nil)
	}
}

// deleteSLO removes the dashboard's SLO of the path's name; its alerts resolve.
func (s *Server) deleteSLO(c *gin.Context) {
	name := c.Param("name")
	if s.changeSLOs(c, "deleted", name, func(cat *slo.Catalog) error { return cat.Delete(name) }) {
		c.Status(http.StatusNoContent)
	}
}

// readSLO decodes and checks the SLO of the body, answering 400 naming the
// field at fault. A PUT's body (path is its name) names the path's SLO or none.
func (s *Server) readSLO(c *gin.Context, path string) (slo.SLO, bool) {
	cat := s.sloAdmin.catalog.Load()
	if cat == nil {
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, errNoCatalog)
		return slo.SLO{}, false
	}
	body, ok := readBody(c, maxAdminBodyBytes)
	if !ok {
		return slo.SLO{}, false
	}
	if path != "" {
		body = withName(body, path)
	}
	sl, err := slo.DecodeJSON(body, cat.Buckets())
	if err == nil && path != "" && sl.Name != path {
		err = &slo.FieldError{Field: "name", Reason: fmt.Sprintf("%q differs from the path's %q: delete the SLO and create another to rename it", sl.Name, path)}
	}
	if err != nil {
		badRequest(c, err)
		return slo.SLO{}, false
	}
	return sl, true
}

// changeSLOs applies change to the catalog, then swaps the SLOs' rule
// groups into the alert manager and what GET /api/v1/slos reports, and
// logs who did it. It answers the refusals: 404 for an unknown SLO, 409
// for a name in use or an SLO the API does not change.
func (s *Server) changeSLOs(c *gin.Context, action, name string, change func(*slo.Catalog) error) bool {
	s.sloAdmin.mu.Lock()
	defer s.sloAdmin.mu.Unlock()
	cat := s.sloAdmin.catalog.Load()
	if cat == nil {
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, errNoCatalog)
		return false
	}
	err := change(cat)
	switch {
	case errors.Is(err, slo.ErrNotFound):
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("name: %w", err))
		return false
	case errors.Is(err, slo.ErrNameTaken), errors.Is(err, slo.ErrFromFile), errors.Is(err, slo.ErrBuiltIn):
		abortWithError(c, http.StatusConflict, ErrorConflict, err)
		return false
	case err != nil:
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return false
	}
	if err := s.applySLOs(cat.File()); err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return false
	}
	p := principalOf(c)
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "slo "+action,
		slog.String("event_type", "admin"), slog.String("slo", name),
		slog.String(p.kind.String(), p.name), slog.String("request_id", c.GetString(ctxRequestID)))
	return true
}

// applySLOs swaps f's rule groups into the alert manager and makes
// GET /api/v1/slos report f.
func (s *Server) applySLOs(f *slo.File) error {
	if m := s.alerts.Load(); m != nil {
		groups, err := slo.RuleGroups(f, s.log)
		if err != nil { // the SLOs passed the checks their rules rely on
			return err
		}
		m.SetGroups(slo.RuleSource, groups)
	}
	s.SetSLOs(f)
	return nil
}

// SyncSLOs takes in the dashboard SLOs another instance sharing them has
// created, changed or deleted: their rules and GET /api/v1/slos follow.
func (s *Server) SyncSLOs() error {
	s.sloAdmin.mu.Lock()
	defer s.sloAdmin.mu.Unlock()
	cat := s.sloAdmin.catalog.Load()
	if cat == nil {
		return nil
	}
	changed, err := cat.Refresh()
	if err != nil || !changed {
		return err
	}
	return s.applySLOs(cat.File())
}

// RunSLOSync calls SyncSLOs every interval until ctx is done.
func (s *Server) RunSLOSync(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func(time.Time) {
		if err := s.SyncSLOs(); err != nil {
			s.log.Warn("shared SLOs not read", "event_type", "slo", "error", err)
		}
	})
}

// withName adds the name to a JSON object that has none; anything else is
// left for DecodeJSON to refuse.
func withName(body []byte, name string) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil || fields == nil {
		return body
	}
	if _, ok := fields["name"]; ok {
		return body
	}
	fields["name"], _ = json.Marshal(name)
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
}
