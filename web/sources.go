package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"atroz/collector"
)

// sourceAPI serves the data sources whose freshness StaleData watches:
// viewers list them, admins retire one that will not report again (a
// decommissioned service, a test), so its StaleData resolves at once
// instead of after a day of silence. A source name holds a colon and, in
// its service, possibly a slash, so it is the rest of the path.
func (s *Server) sourceAPI(viewer, admin *gin.RouterGroup) {
	viewer.GET("/sources", s.listSources)
	admin.DELETE("/admin/sources/*source", s.retireSource)
}

// listSources answers every source the collector keeps, by name: whether
// it is watched, its newest data and its last report.
func (s *Server) listSources(c *gin.Context) {
	success(c, s.col.Sources(), nil)
}

// retireSource forgets a source and answers 204; 404 when it is not kept.
func (s *Server) retireSource(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("source"), "/")
	if name == "" {
		badRequest(c, errors.New("source: a source name is required in the path, as /api/v1/admin/sources/requests:billing"))
		return
	}
	err := s.col.RetireSource(name)
	if errors.Is(err, collector.ErrUnknownSource) {
		abortWithError(c, http.StatusNotFound, ErrorNotFound, fmt.Errorf("source: no source named %q is kept (never reported, forgotten or retired)", name))
		return
	}
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	p := principalOf(c)
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "source retired",
		slog.String("event_type", "admin"),
		slog.String("source", name),
		slog.String(p.kind.String(), p.name),
		slog.String("request_id", c.GetString(ctxRequestID)),
	)
	c.Status(http.StatusNoContent)
}
