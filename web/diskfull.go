package web

import (
	"errors"
	"net/http"

	"atroz/store"

	"github.com/gin-gonic/gin"
)

// errStorageFull is what a sender is told while the data volume is full.
// The store's own error names the file; the server's log has it.
var errStorageFull = errors.New("insufficient storage: the server's data volume is full, so it stores no new samples until space is freed; retry later")

// writable lets a payload in only while the store takes new samples, and
// otherwise answers as storeRefused does, before the body is read.
func (s *Server) writable(c *gin.Context, endpoint string) bool {
	return !s.storeRefused(c, endpoint, s.db.Writable())
}

// storeRefused answers a payload the store cannot take now, which is the
// server's fault, not the sender's: 507 Insufficient Storage while the data
// volume is full, 503 once the store is closed. Senders retry both. It
// counts the refusal and reports whether err was one; nil is not.
func (s *Server) storeRefused(c *gin.Context, endpoint string, err error) bool {
	switch {
	case errors.Is(err, store.ErrDiskFull):
		abortWithError(c, http.StatusInsufficientStorage, ErrorDiskFull, errStorageFull)
	case errors.Is(err, store.ErrClosed):
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
	default:
		return false
	}
	s.col.CountUnavailable(endpoint, err)
	return true
}

// appendRefused answers an error of AppendText or AppendSamples: the
// store's refusal as storeRefused does, anything else as bad input.
func (s *Server) appendRefused(c *gin.Context, endpoint string, err error) {
	if !s.storeRefused(c, endpoint, err) {
		s.badInput(c, endpoint, err)
	}
}
