package web

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/gin-gonic/gin"
)

// HeaderRequestID carries a request's ID in both directions.
const HeaderRequestID = "X-Request-ID"

const ctxRequestID = "request_id"

// requestID keeps the client's X-Request-ID when it is a sane token, makes
// one otherwise, and echoes it in the response, so a client and the logs
// name a request the same way.
func requestID(development bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !saneID(id) {
			id = newID()
		}
		c.Set(ctxRequestID, id)
		c.Set(ctxProduction, !development)
		c.Header(HeaderRequestID, id)
		c.Next()
	}
}

// saneID accepts 1–64 letters, digits, '-', '_' and '.': enough for UUIDs and
// tracing IDs, nothing that could break a log line.
func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
