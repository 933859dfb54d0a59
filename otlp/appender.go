package otlp

import (
	"errors"
	"strings"

	"atroz/store"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// batchAppender is the storage.AppenderV2 Prometheus' translator writes
// to: it gathers the samples into a batch for the store, a series' samples
// together, and writes the HTTP server duration a second time as AtroZ's
// request metrics.
type batchAppender struct {
	batch    []store.SeriesSamples
	index    map[uint64][]int  // label hash → indexes in batch
	services map[string]string // job → service.name
	samples  int
	scratch  store.Labels
}

var _ storage.AppenderV2 = (*batchAppender)(nil)

// errNativeHistogram is never returned with the settings Translate uses:
// classic histograms stay classic.
var errNativeHistogram = errors.New("native histograms are not supported")

func newBatchAppender(md pmetric.Metrics) *batchAppender {
	return &batchAppender{index: map[uint64][]int{}, services: servicesOf(md)}
}

// Append takes one float sample; st (the start time) is not kept.
func (a *batchAppender) Append(_ storage.SeriesRef, ls labels.Labels, _, t int64, v float64, h *histogram.Histogram, fh *histogram.FloatHistogram, opts storage.AOptions) (storage.SeriesRef, error) {
	if h != nil || fh != nil {
		return 0, errNativeHistogram
	}
	ref := a.addLabels(ls, t, v)
	if opts.MetricFamilyName == serverDuration {
		a.requests(ls, t, v)
	}
	return storage.SeriesRef(ref), nil
}

// Commit keeps the batch; the caller writes it.
func (a *batchAppender) Commit() error { return nil }

// Rollback drops the batch.
func (a *batchAppender) Rollback() error {
	a.batch, a.samples = nil, 0
	clear(a.index)
	return nil
}

// add appends a sample to the series of ls (hash h), copying ls when the
// series is new; it returns h.
func (a *batchAppender) add(ls store.Labels, h uint64, t int64, v float64) uint64 {
	for _, i := range a.index[h] {
		if sameLabels(a.batch[i].Labels, ls) {
			a.batch[i].Samples = append(a.batch[i].Samples, store.Sample{T: t, V: v})
			a.samples++
			return h
		}
	}
	a.index[h] = append(a.index[h], len(a.batch))
	a.batch = append(a.batch, store.SeriesSamples{Labels: append(store.Labels(nil), ls...), Samples: []store.Sample{{T: t, V: v}}})
	a.samples++
	return h
}

func sameLabels(a, b store.Labels) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// serverDuration is the HTTP server duration histogram of OpenTelemetry's
// semantic conventions (http.server.request.duration, in seconds), as
// Prometheus names it.
const serverDuration = "http_server_request_duration_seconds"

// requestLabels are the semantic conventions' attributes (as labels) that
// AtroZ's request metrics name otherwise.
var requestLabels = map[string]string{
	"http_route":                "route",
	"http_request_method":       "method",
	"http_response_status_code": "code",
}

// requests writes a sample of the HTTP server duration histogram again as
// AtroZ's request metrics: http_request_duration_seconds_{bucket,sum,count}
// and, from the count, http_requests_total, with service (the resource's
// service.name), route ("<unmatched>" without http.route), method and code
// in place of job and the attributes' own labels; every other label is
// kept, so two series of the histogram never share one of AtroZ's.
func (a *batchAppender) requests(ls labels.Labels, t int64, v float64) {
	suffix, ok := strings.CutPrefix(ls.Get(store.MetricName), serverDuration)
	if !ok || (suffix != "_bucket" && suffix != "_sum" && suffix != "_count") {
		return
	}
	b := labels.NewBuilder(ls)
	b.Set("route", "<unmatched>")
	ls.Range(func(l labels.Label) {
		if to, ok := requestLabels[l.Name]; ok {
			b.Del(l.Name)
			b.Set(to, l.Value)
		}
	})
	b.Del("job")
	b.Set("service", a.serviceOf(ls.Get("job")))
	b.Set(store.MetricName, "http_request_duration_seconds"+suffix)
	a.addLabels(b.Labels(), t, v)
	if suffix == "_count" {
		b.Set(store.MetricName, "http_requests_total")
		a.addLabels(b.Labels(), t, v)
	}
}

// addLabels appends a sample to the series of ls; it returns ls' hash.
func (a *batchAppender) addLabels(ls labels.Labels, t int64, v float64) uint64 {
	a.scratch = a.scratch[:0]
	ls.Range(func(l labels.Label) { a.scratch = append(a.scratch, store.Label{Name: l.Name, Value: l.Value}) })
	return a.add(a.scratch, ls.Hash(), t, v)
}

// serviceOf returns the service.name of the resource whose job is job.
func (a *batchAppender) serviceOf(job string) string {
	if s, ok := a.services[job]; ok {
		return s
	}
	if job == "" {
		return "unknown_service"
	}
	return job
}

// servicesOf maps each resource's job, as Prometheus builds it
// (service.namespace/service.name, or service.name), to its service.name.
func servicesOf(md pmetric.Metrics) map[string]string {
	out := map[string]string{}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		attrs := rms.At(i).Resource().Attributes()
		name, ok := attrs.Get("service.name")
		if !ok {
			continue
		}
		job := name.AsString()
		if ns, ok := attrs.Get("service.namespace"); ok && ns.AsString() != "" {
			job = ns.AsString() + "/" + job
		}
		out[job] = name.AsString()
	}
	return out
}
