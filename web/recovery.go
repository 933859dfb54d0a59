package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// errInternal is what a client sees when a handler panics; details stay in the log.
var errInternal = errors.New("internal server error")

// recovery turns a handler's panic into a logged event and a JSON 500, so one
// bad request never takes the server down.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			r := recover()
			if r == nil {
				return
			}
			if r == http.ErrAbortHandler {
				panic(r) // net/http's own signal to drop the connection quietly
			}
			s.log.Error("handler panic",
				slog.String("event_type", "panic"),
				slog.String("method", c.Request.Method),
				slog.String("route", c.FullPath()),
				slog.String("panic", fmt.Sprint(r)),
				slog.String("stack", string(debug.Stack())))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, errInternal)
		}()
		c.Next()
	}
}
