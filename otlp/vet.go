package otlp

import (
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// vetting is what vet found: the data points kept and rejected, and why
// the first rejected ones were.
type vetting struct {
	kept, rejected int
	reason         string
}

// reject counts n data points of metric m rejected for why.
func (v *vetting) reject(m pmetric.Metric, n int, why string) {
	if v.reason == "" {
		v.reason = fmt.Sprintf("metric %q: %s", m.Name(), why)
	}
	v.rejected += n
}

// Why the store cannot keep a metric.
const (
	whyDelta = "delta temporality is not supported: export cumulative temporality " +
		"(OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative, the SDKs' default)"
	whyExponential = "exponential histograms are not supported: the store keeps classic histograms; " +
		"use the explicit-bucket histogram aggregation (the SDKs' default)"
)

// vet checks every data point of md and removes the metrics the store
// cannot keep (delta temporality, exponential histograms), counting their
// data points as rejected. A value that is NaN or infinite, or a data
// point with more attributes than a series of maxLabels labels can hold
// beside its name, job and instance (and le or quantile), is a
// *FieldError naming it: the request is bad and nothing of it is kept.
func vet(md pmetric.Metrics, maxLabels int) (vetting, error) {
	var v vetting
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			var err error
			at := place{resource: i, scope: j, metric: -1}
			sms.At(j).Metrics().RemoveIf(func(m pmetric.Metric) bool {
				at.metric++
				if err != nil {
					return false
				}
				var keep bool
				keep, err = v.metric(m, at, maxLabels)
				return !keep
			})
			if err != nil {
				return v, err
			}
		}
	}
	return v, nil
}

// place is where a metric is in a request, for errors, which alone spell it out.
type place struct{ resource, scope, metric int }

// field names data point d of metric m, of kind, at p, and its field.
func (p place) field(m pmetric.Metric, kind string, d int, field string) string {
	return fmt.Sprintf("resourceMetrics[%d].scopeMetrics[%d].metrics[%d].%s (%q).dataPoints[%d]%s",
		p.resource, p.scope, p.metric, kind, m.Name(), d, field)
}

// metric vets one metric at path: whether the store can keep it, and the
// fault of its first bad data point.
func (v *vetting) metric(m pmetric.Metric, path place, maxLabels int) (bool, error) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return true, v.numbers(m, m.Gauge().DataPoints(), path, maxLabels)
	case pmetric.MetricTypeSum:
		if m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
			v.reject(m, m.Sum().DataPoints().Len(), whyDelta)
			return false, nil
		}
		return true, v.numbers(m, m.Sum().DataPoints(), path, maxLabels)
	case pmetric.MetricTypeHistogram:
		if m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta {
			v.reject(m, m.Histogram().DataPoints().Len(), whyDelta)
			return false, nil
		}
		return true, v.histograms(m, m.Histogram().DataPoints(), path, maxLabels)
	case pmetric.MetricTypeExponentialHistogram:
		v.reject(m, m.ExponentialHistogram().DataPoints().Len(), whyExponential)
		return false, nil
	case pmetric.MetricTypeSummary:
		return true, v.summaries(m, m.Summary().DataPoints(), path, maxLabels)
	}
	return false, &FieldError{Field: fmt.Sprintf("resourceMetrics[%d].scopeMetrics[%d].metrics[%d] (%q)", path.resource, path.scope, path.metric, m.Name()),
		Reason: "has no data: a metric must be a gauge, sum, histogram or summary"}
}

func (v *vetting) numbers(m pmetric.Metric, dps pmetric.NumberDataPointSlice, at place, maxLabels int) error {
	kind := "gauge"
	if m.Type() == pmetric.MetricTypeSum {
		kind = "sum"
	}
	for d := range dps.Len() {
		dp := dps.At(d)
		if err := checkAttributes(dp.Attributes().Len(), maxLabels, ""); err != nil {
			return err.at(at.field(m, kind, d, ".attributes"))
		}
		if dp.ValueType() == pmetric.NumberDataPointValueTypeDouble && !finite(dp.DoubleValue()) {
			return notFinite(at.field(m, kind, d, ".asDouble"), dp.DoubleValue())
		}
	}
	v.kept += dps.Len()
	return nil
}

func (v *vetting) histograms(m pmetric.Metric, dps pmetric.HistogramDataPointSlice, at place, maxLabels int) error {
	for d := range dps.Len() {
		dp := dps.At(d)
		if err := checkAttributes(dp.Attributes().Len(), maxLabels, "le"); err != nil {
			return err.at(at.field(m, "histogram", d, ".attributes"))
		}
		if dp.HasSum() && !finite(dp.Sum()) {
			return notFinite(at.field(m, "histogram", d, ".sum"), dp.Sum())
		}
		bounds := dp.ExplicitBounds()
		for b := range bounds.Len() {
			if !finite(bounds.At(b)) {
				return notFinite(at.field(m, "histogram", d, fmt.Sprintf(".explicitBounds[%d]", b)), bounds.At(b))
			}
		}
	}
	v.kept += dps.Len()
	return nil
}

func (v *vetting) summaries(m pmetric.Metric, dps pmetric.SummaryDataPointSlice, at place, maxLabels int) error {
	for d := range dps.Len() {
		dp := dps.At(d)
		if err := checkAttributes(dp.Attributes().Len(), maxLabels, "quantile"); err != nil {
			return err.at(at.field(m, "summary", d, ".attributes"))
		}
		if !finite(dp.Sum()) {
			return notFinite(at.field(m, "summary", d, ".sum"), dp.Sum())
		}
		qs := dp.QuantileValues()
		for q := range qs.Len() {
			if !finite(qs.At(q).Value()) {
				return notFinite(at.field(m, "summary", d, fmt.Sprintf(".quantileValues[%d].value", q)), qs.At(q).Value())
			}
		}
	}
	v.kept += dps.Len()
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func notFinite(field string, f float64) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf("is %g: values must be finite (a point with no value sets the no_recorded_value flag)", f)}
}

// checkAttributes refuses a data point with more attributes than its
// series can hold as labels beside its name, job, instance and extra; the
// error's field is for the caller to set.
func checkAttributes(n, maxLabels int, extra string) *FieldError {
	own := "its name, job and instance"
	limit := maxLabels - 3
	if extra != "" {
		own, limit = "its name, job, instance and "+extra, limit-1
	}
	if n > limit {
		return &FieldError{Reason: fmt.Sprintf("has %d attributes, at most %d allowed: a series has at most %d labels, %s among them", n, limit, maxLabels, own)}
	}
	return nil
}

// at sets the field of e and returns it.
func (e *FieldError) at(field string) *FieldError {
	e.Field = field
	return e
}
