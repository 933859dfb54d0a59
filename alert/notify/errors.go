package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

var (
	// ErrRetryable is wrapped by a Receiver's error when a later attempt may
	// succeed: HTTP 5xx and 429 answers, SMTP 4xx replies. Network errors
	// and timeouts are retried without it.
	ErrRetryable = errors.New("retryable")
	// ErrTLSRequired is returned by EmailReceiver.Send when the SMTP server
	// does not offer STARTTLS and EmailConfig.AllowInsecure is false.
	ErrTLSRequired = errors.New("smtp server does not offer STARTTLS and TLS is required")
)

// StatusError is returned by the HTTP receivers when the server answers
// with a status other than 2xx. It matches ErrRetryable (errors.Is) for 5xx
// and 429 answers; any other status is a permanent failure.
type StatusError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Body is the start of the answer's body, for the log.
	Body string
	// RetryAfter is the answer's Retry-After in seconds, zero when absent.
	RetryAfter time.Duration
}

// Error returns the status and the start of the body.
func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Is reports whether target is ErrRetryable and the status is worth a retry.
func (e *StatusError) Is(target error) bool {
	return target == ErrRetryable && (e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests)
}

// statusBodyLimit is how much of an error answer's body a StatusError keeps.
const statusBodyLimit = 512

// newStatusError reads the start of resp's body into a StatusError.
func newStatusError(resp *http.Response) *StatusError {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, statusBodyLimit))
	e := &StatusError{StatusCode: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	var secs int
	if _, err := fmt.Sscanf(resp.Header.Get("Retry-After"), "%d", &secs); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	return e
}

// isRetryable reports whether a failed Send may succeed if tried again.
func isRetryable(err error) bool {
	switch {
	case errors.Is(err, ErrRetryable), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED):
		return true
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var netErr net.Error
	return errors.As(err, &opErr) || errors.As(err, &dnsErr) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}
