package otlp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
)

// Encoding is how a request's body is encoded; its answer is encoded the same way.
type Encoding int

// The encodings of OTLP/HTTP.
const (
	Protobuf Encoding = iota
	JSON
)

// ContentType returns the media type of e.
func (e Encoding) ContentType() string {
	if e == JSON {
		return "application/json"
	}
	return "application/x-protobuf"
}

// ErrUnsupportedMedia is returned by ParseHeaders for a content type or
// encoding OTLP/HTTP does not use; the server answers 415.
var ErrUnsupportedMedia = errors.New("unsupported media")

// ErrTooLarge is returned by Decode when a gzip body inflates past its limit.
var ErrTooLarge = errors.New("body too large")

// ParseHeaders reads a request's Content-Type and Content-Encoding: the
// body's encoding, and whether it is gzipped.
func ParseHeaders(contentType, contentEncoding string) (Encoding, bool, error) {
	enc := Protobuf
	mt, _, err := mime.ParseMediaType(contentType)
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("%w: Content-Type %q: want application/x-protobuf or application/json", ErrUnsupportedMedia, contentType)
	case mt == "application/json":
		enc = JSON
	case mt != "application/x-protobuf":
		return 0, false, fmt.Errorf("%w: Content-Type %q: want application/x-protobuf or application/json", ErrUnsupportedMedia, contentType)
	}
	switch strings.ToLower(contentEncoding) {
	case "", "identity":
		return enc, false, nil
	case "gzip":
		return enc, true, nil
	}
	return 0, false, fmt.Errorf("%w: Content-Encoding %q: want gzip or none", ErrUnsupportedMedia, contentEncoding)
}

// Decode unmarshals an export request from body, inflating it first when
// gzipped, to at most limit bytes.
func Decode(body []byte, enc Encoding, gzipped bool, limit int64) (pmetricotlp.ExportRequest, error) {
	req := pmetricotlp.NewExportRequest()
	if gzipped {
		var err error
		if body, err = gunzip(body, limit); err != nil {
			return req, err
		}
	}
	var err error
	if enc == JSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	if err != nil {
		return req, &FieldError{Field: "body", Reason: fmt.Sprintf("is not an OTLP ExportMetricsServiceRequest in %s: %v", enc.ContentType(), err)}
	}
	return req, nil
}

// gunzip inflates body to at most limit bytes.
func gunzip(body []byte, limit int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, &FieldError{Field: "body", Reason: fmt.Sprintf("is not gzip: %v", err)}
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	switch {
	case err != nil:
		return nil, &FieldError{Field: "body", Reason: fmt.Sprintf("is not valid gzip: %v", err)}
	case int64(len(out)) > limit:
		return nil, fmt.Errorf("%w: inflates past %d bytes", ErrTooLarge, limit)
	}
	return out, nil
}

// FieldError is bad input: the field of the request at fault and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }
