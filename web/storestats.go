package web

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"atroz/store"
)

// storeStats is the answer of GET /api/v1/admin/store/stats: what
// "atroz db stats" prints, for the file this server holds.
type storeStats struct {
	Path string `json:"path"`
	store.DiskStats
}

// storeStats answers the store file's size, series, write-ahead log and
// tiers. It reads every key in one read transaction, so it is for an
// admin's tool, not for a dashboard that polls.
func (s *Server) storeStats(c *gin.Context) {
	ds, err := s.db.DiskStats()
	if err != nil {
		abortWithError(c, http.StatusInternalServerError, ErrorInternal, err)
		return
	}
	success(c, storeStats{Path: s.db.Path(), DiskStats: ds}, nil)
}
