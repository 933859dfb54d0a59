package otlp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"atroz/store"

	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/storage/remote/otlptranslator/prometheusremotewrite"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Result is a request translated: the batch for the store, and the data
// points kept and rejected, with why the first rejected ones were.
type Result struct {
	Batch    []store.SeriesSamples
	Samples  int // in Batch
	Kept     int // data points
	Rejected int // data points
	Message  string
}

// settings are Prometheus 3's defaults for OTLP (translation strategy
// UnderscoreEscapingWithSuffixes): names escaped to the classic character
// set with unit and type suffixes, no resource attribute promoted, and
// target_info written at least every half of PromQL's lookback delta.
var settings = prometheusremotewrite.Settings{
	AddMetricSuffixes:         true,
	PromoteResourceAttributes: prometheusremotewrite.NewPromoteResourceAttributes(config.OTLPConfig{}),
	LookbackDelta:             5 * time.Minute,
}

// converters are Prometheus' translators, which keep buffers between requests.
var converters = sync.Pool{New: func() any { return prometheusremotewrite.NewPrometheusConverter(nil) }}

// Translate vets md and turns what the store can keep into a batch (see
// the package doc). maxLabels is the store's limit of labels a series;
// a fault in md is a *FieldError.
func Translate(ctx context.Context, md pmetric.Metrics, maxLabels int) (Result, error) {
	v, err := vet(md, maxLabels)
	if err != nil {
		return Result{}, err
	}
	res := Result{Kept: v.kept, Rejected: v.rejected, Message: v.reason}
	if v.kept == 0 {
		return res, nil
	}
	app := newBatchAppender(md)
	conv := converters.Get().(*prometheusremotewrite.PrometheusConverter)
	conv.Reset(app)
	_, err = conv.FromMetrics(ctx, md, settings)
	conv.Reset(nil)
	converters.Put(conv)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return Result{}, fe
		}
		return Result{}, &FieldError{Field: "body", Reason: fmt.Sprintf("cannot be translated: %v", err)}
	}
	res.Batch, res.Samples = app.batch, app.samples
	return res, nil
}
