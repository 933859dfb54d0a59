package slo

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// recordVersion is the version of the record an SLO created in the
// dashboard is kept as; DecodeRecord refuses others.
const recordVersion = 1

// record is an SLO as the data file keeps it: {"version":1,"slo":{...}}.
type record struct {
	Version int             `json:"version"`
	SLO     json.RawMessage `json:"slo"`
}

// ErrRecordVersion is returned by DecodeRecord for a record of a version
// this build does not read.
var ErrRecordVersion = errors.New("slo record of an unknown version")

// fieldKinds says what each field holds, for the error of a value of
// another JSON type.
var fieldKinds = map[string]string{
	"name":      "a string",
	"service":   "a string",
	"routes":    "a list of strings",
	"objective": "a number, the percentage promised, such as 99.9",
	"window":    `a duration such as "30d"`,
	"indicator": "a string",
	"threshold": `a duration such as "500ms"`,
}

// DecodeJSON decodes and checks one SLO sent as a JSON object of its
// fields (name, service, routes, objective, window, indicator, threshold;
// durations as Prometheus writes them: "30d", "500ms"), as the SLO file's
// are checked; buckets are the request-duration histogram's bounds in
// seconds. Its error is a *FieldError naming the first field at fault.
// The SLO is one of the dashboard's (OriginDashboard).
func DecodeJSON(b []byte, buckets []float64) (SLO, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return SLO{}, fieldError("slo", "must be a JSON object of the fields %s", strings.Join(sloFields, ", "))
	}
	var unknown []string
	for k := range fields {
		if !slices.Contains(sloFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return SLO{}, fieldError(unknown[0], "is unknown: the fields are %s", strings.Join(sloFields, ", "))
	}
	s := SLO{dashboard: true}
	for _, name := range sloFields {
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if err := json.Unmarshal(raw, s.field(name)); err != nil {
			return SLO{}, decodeError(name, err)
		}
	}
	if err := s.validate(buckets); err != nil {
		return SLO{}, err
	}
	return s, nil
}

// field returns a pointer to the field called name.
func (s *SLO) field(name string) any {
	switch name {
	case "name":
		return &s.Name
	case "service":
		return &s.Service
	case "routes":
		return &s.Routes
	case "objective":
		return &s.Objective
	case "window":
		return &s.Window
	case "indicator":
		return &s.Indicator
	}
	return &s.Threshold
}

// decodeError names the field whose value did not decode: a value of the
// wrong JSON type gets what the field holds, a malformed duration the
// parser's reason.
func decodeError(name string, err error) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) || !strings.HasPrefix(fieldKinds[name], "a duration") {
		return fieldError(name, "must be %s", fieldKinds[name])
	}
	return fieldError(name, "must be %s: %v", fieldKinds[name], err)
}

// EncodeRecord returns the record the data file keeps of s.
func EncodeRecord(s SLO) ([]byte, error) {
	body, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("slo record %s: %w", s.Name, err)
	}
	return json.Marshal(record{Version: recordVersion, SLO: body})
}

// DecodeRecord decodes and checks an SLO the data file keeps, as
// DecodeJSON does one sent; a record of another version is ErrRecordVersion.
func DecodeRecord(b []byte, buckets []float64) (SLO, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return SLO{}, fmt.Errorf("slo record: %w", err)
	}
	if r.Version != recordVersion {
		return SLO{}, fmt.Errorf("%w: %d, this build reads %d", ErrRecordVersion, r.Version, recordVersion)
	}
	return DecodeJSON(r.SLO, buckets)
}
