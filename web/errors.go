package web

import (
	"errors"

	"github.com/gin-gonic/gin"
)

// ErrorType classifies an API error the way the Prometheus HTTP API does, so
// clients written for Prometheus (Grafana among them) understand it.
type ErrorType string

// The error types of the Prometheus HTTP API.
const (
	ErrorBadData     ErrorType = "bad_data"
	ErrorExecution   ErrorType = "execution"
	ErrorCanceled    ErrorType = "canceled"
	ErrorTimeout     ErrorType = "timeout"
	ErrorNotFound    ErrorType = "not_found"
	ErrorInternal    ErrorType = "internal"
	ErrorUnavailable ErrorType = "unavailable"
	// Beyond Prometheus' set: authentication, origin and size refusals,
	// and samples refused while the data volume is full.
	ErrorUnauthorized ErrorType = "unauthorized"
	ErrorForbidden    ErrorType = "forbidden"
	ErrorTooLarge     ErrorType = "too_large"
	ErrorDiskFull     ErrorType = "disk_full"
	// ErrorMethodNotAllowed answers a known path asked with another method (405).
	ErrorMethodNotAllowed ErrorType = "method_not_allowed"
)

// errorBody is the JSON body of every error answer.
type errorBody struct {
	Status    string    `json:"status"`
	ErrorType ErrorType `json:"errorType"`
	Error     string    `json:"error"`
}

// abortWithError answers with code and {"status":"error","errorType":typ,"error":err}
// and stops the handler chain. It is the only place that writes an error body.
//
// In production a 5xx answer carries a generic message and the request ID,
// never internals; the detail goes to the access log line (error field). A
// disk-full refusal and a remote read refused as one too many at once are
// the exceptions: their messages are written for the sender.
func abortWithError(c *gin.Context, code int, typ ErrorType, err error) {
	msg := err.Error()
	if code >= 500 && typ != ErrorDiskFull && !errors.Is(err, errReadBusy) && c.GetBool(ctxProduction) {
		c.Set(ctxErrorDetail, msg)
		msg = "internal error; quote request ID " + c.GetString(ctxRequestID) + " to the operator"
	}
	if isOTLP(c) {
		otlpAbort(c, code, msg)
		return
	}
	c.AbortWithStatusJSON(code, errorBody{Status: "error", ErrorType: typ, Error: msg})
}

// Context keys: whether the server runs in production, and a hidden error's detail.
const (
	ctxProduction  = "production"
	ctxErrorDetail = "error_detail"
)
