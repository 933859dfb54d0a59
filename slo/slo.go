package slo

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// The indicators an SLO can measure.
const (
	// Availability is the share of requests not answered 5xx.
	Availability = "availability"
	// Latency is the share of requests answered within Threshold, a bound
	// of the request-duration histogram.
	Latency = "latency"
	// FrameRate is the share of beacon seconds drawn faster than 50 fps:
	// the frame-rate histogram's bound at 50 counts a second of exactly 50
	// with the slower ones.
	FrameRate = "frame_rate"
)

// DefaultWindow is the window of an SLO that names none.
const DefaultWindow = model.Duration(30 * 24 * time.Hour)

// minFPS is the frame rate at which a beacon second is good.
const minFPS = 50

// SLO is a service-level objective.
type SLO struct {
	// Name identifies the SLO in its rules' slo label and the API: letters,
	// digits, '-' and '_'.
	Name string `yaml:"name" json:"name"`
	// Service is the service label the SLO watches.
	Service string `yaml:"service" json:"service"`
	// Routes, when set, limit it to these routes (request indicators only).
	Routes []string `yaml:"routes,omitempty" json:"routes,omitempty"`
	// Objective is the good share promised, in percent: 99.9.
	Objective float64 `yaml:"objective" json:"objective"`
	// Window is the span over which the objective holds; 30 days if unset.
	Window model.Duration `yaml:"window,omitempty" json:"window"`
	// Indicator is Availability, Latency or FrameRate.
	Indicator string `yaml:"indicator" json:"indicator"`
	// Threshold is the latency under which a request is good (Latency
	// only): a bound of the request-duration histogram.
	Threshold model.Duration `yaml:"threshold,omitempty" json:"threshold,omitempty"`

	// perService makes a built-in SLO: one per service, over every service
	// but AtroZ's own.
	perService bool
	// dashboard marks an SLO created in the dashboard, kept in the data file.
	dashboard bool
}

// Where an SLO comes from, as Origin reports it.
const (
	// OriginFile is an SLO of SLO_FILE.
	OriginFile = "file"
	// OriginDefault is a built-in SLO (Defaults).
	OriginDefault = "default"
	// OriginDashboard is an SLO created in the dashboard and kept in the data file.
	OriginDashboard = "dashboard"
)

// Origin returns where the SLO comes from: OriginFile, OriginDefault or OriginDashboard.
func (s *SLO) Origin() string {
	switch {
	case s.perService:
		return OriginDefault
	case s.dashboard:
		return OriginDashboard
	}
	return OriginFile
}

// Budget returns the share of events the objective allows to be bad.
func (s *SLO) Budget() float64 {
	// Rounded to the objective's own precision: 100 - 99.9 is not 0.1 in
	// binary, and the alerts' thresholds are printed from it.
	b, _ := strconv.ParseFloat(strconv.FormatFloat((100-s.Objective)/100, 'g', 10, 64), 64)
	return b
}

// validate checks the SLO as written, naming the field at fault; buckets
// are the request-duration histogram's bounds in seconds.
func (s *SLO) validate(buckets []float64) error {
	if s.Window == 0 {
		s.Window = DefaultWindow
	}
	switch {
	case s.Name == "":
		return fieldError("name", "is required")
	case !validName(s.Name):
		return fieldError("name", "%q may hold only letters, digits, '-' and '_'", s.Name)
	case s.Service == "":
		return fieldError("service", "is required")
	case math.IsNaN(s.Objective) || s.Objective <= 0 || s.Objective >= 100:
		return fieldError("objective", "%g is not a percentage above 0 and below 100", s.Objective)
	case time.Duration(s.Window) < 24*time.Hour:
		return fieldError("window", "%s is shorter than a day: the slowest alert reads 3 days of a 30-day budget's", s.Window)
	case time.Duration(s.Window) > 400*24*time.Hour:
		return fieldError("window", "%s is longer than 400 days", s.Window)
	}
	switch s.Indicator {
	case Availability, FrameRate:
		if s.Threshold != 0 {
			return fieldError("threshold", "applies to the latency indicator only")
		}
	case Latency:
		return checkThreshold(time.Duration(s.Threshold), buckets)
	case "":
		return fieldError("indicator", "is required: %s, %s or %s", Availability, Latency, FrameRate)
	default:
		return fieldError("indicator", "%q is unknown: %s, %s or %s", s.Indicator, Availability, Latency, FrameRate)
	}
	if s.Indicator == FrameRate && len(s.Routes) > 0 {
		return fieldError("routes", "apply to request indicators; a frame rate is a page's")
	}
	return nil
}

// checkThreshold accepts a latency threshold only at a bucket bound: the
// histogram cannot tell how many requests fell between bounds.
func checkThreshold(t time.Duration, buckets []float64) error {
	if t <= 0 {
		return fieldError("threshold", "is required for the latency indicator: a bound of the request-duration histogram (%s)", formatBounds(buckets))
	}
	sec := t.Seconds()
	i, found := slices.BinarySearch(buckets, sec)
	if found {
		return nil
	}
	var near []string
	if i > 0 {
		near = append(near, formatSeconds(buckets[i-1]))
	}
	if i < len(buckets) {
		near = append(near, formatSeconds(buckets[i]))
	}
	return fieldError("threshold", "%s is not a bound of the request-duration histogram, which cannot count requests between bounds; the nearest are %s",
		t, strings.Join(near, " and "))
}

func formatBounds(buckets []float64) string {
	out := make([]string, len(buckets))
	for i, b := range buckets {
		out[i] = formatSeconds(b)
	}
	return strings.Join(out, ", ")
}

func formatSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).String()
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// FieldError is a problem with one field of an SLO.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
