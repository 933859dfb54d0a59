package web

import (
	"net/http"
	"time"

	"atroz/slo"

	"github.com/gin-gonic/gin"
)

// SetSLOs makes GET /api/v1/slos report the SLOs of f, the built-in ones
// included unless f drops them.
func (s *Server) SetSLOs(f *slo.File) { s.slos.Store(f) }

// sloAPI serves GET /api/v1/slos: each SLO's (and each service's, for the
// built-in ones) events over its window and the last hour, counted exactly
// from the stored counters, its SLI, error budget left and burn rate.
func (s *Server) sloAPI(api *gin.RouterGroup) {
	api.GET("/slos", func(c *gin.Context) {
		f := s.slos.Load()
		if f == nil {
			success(c, gin.H{"slos": []slo.Status{}}, nil)
			return
		}
		sts, err := slo.Statuses(s.db, f, time.Now())
		if err != nil {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
			return
		}
		success(c, gin.H{"slos": nonNil(sts)}, nil)
	})
}
