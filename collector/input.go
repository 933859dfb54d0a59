package collector

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode/utf8"
)

// InputError is bad input from a client: it names the field and the reason,
// and the API answers it with 400.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return e.Field + " " + e.Reason
}

func badInput(field, format string, args ...any) *InputError {
	return &InputError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// MaxLabelBytes bounds service, route and page values.
const MaxLabelBytes = 256

// decodeJSON decodes exactly one JSON value from b into v: unknown fields,
// trailing data and invalid UTF-8 are errors, each said plainly.
func decodeJSON(b []byte, v any, where string) error {
	if !utf8.Valid(b) {
		return badInput(where, "is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, where)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badInput(where, "has data after the JSON value")
	}
	return nil
}

// jsonError turns encoding/json's errors into InputErrors naming the field.
func jsonError(err error, where string) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var in *InputError
	switch {
	case errors.As(err, &in): // from a field's own UnmarshalJSON
		return badInput(joinField(where, in.Field), "%s", in.Reason)
	case errors.As(err, &syn):
		return badInput(where, "is malformed JSON at byte %d: %v", syn.Offset, err)
	case errors.As(err, &typ) && typ.Field != "":
		return badInput(joinField(where, typ.Field), "must be %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &typ):
		return badInput(where, "must be %s, got %s", jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badInput(where, "is empty or truncated JSON")
	}
	return badInput(where, "%s", strings.TrimPrefix(err.Error(), "json: "))
}

func joinField(where, field string) string {
	if where == "" {
		return field
	}
	return where + "." + field
}

func jsonKind(k string) string {
	switch k {
	case "float64":
		return "a number (at most 1.8e308)"
	case "int", "int64":
		return "a whole number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return k
}

// checkLabel vets a value that becomes a label: present, at most
// MaxLabelBytes, no control characters.
func checkLabel(field, v string) error {
	switch {
	case v == "":
		return badInput(field, "is required")
	case len(v) > MaxLabelBytes:
		return badInput(field, "is %d bytes, at most %d allowed", len(v), MaxLabelBytes)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return badInput(field, "contains a control character")
		}
	}
	return nil
}

// checkNumber vets a finite number within [lo, hi].
func checkNumber(field string, v, lo, hi float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < lo || v > hi {
		return badInput(field, "must be between %g and %g, got %g", lo, hi, v)
	}
	return nil
}

// Window is the span of timestamps ingest accepts: not older than the raw
// retention, not further ahead than the store's future skew.
type Window struct {
	Now, MinT, MaxT int64 // unix milliseconds
}

// checkTime vets a timestamp in ms; zero means now.
func (w Window) checkTime(field string, t int64) (int64, error) {
	switch {
	case t == 0:
		return w.Now, nil
	case t > w.MaxT:
		return 0, badInput(field, "is %d, more than %d ms ahead of the server's clock", t, w.MaxT-w.Now)
	case t < w.MinT:
		return 0, badInput(field, "is %d, older than the retention (oldest accepted %d)", t, w.MinT)
	}
	return t, nil
}

// Window returns the timestamps ingest accepts now.
func (c *Collector) Window() Window {
	now := c.opts.Now().UnixMilli()
	o := c.db.Options()
	return Window{Now: now, MinT: now - o.RawRetention.Milliseconds(), MaxT: now + o.MaxFutureSkew.Milliseconds()}
}
