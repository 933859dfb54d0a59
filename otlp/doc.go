// Package otlp takes OpenTelemetry metrics in, as an OTLP/HTTP exporter
// sends them (an SDK's, or the Collector's otlphttp): it decodes a request
// (protobuf or JSON, gzip or not), vets it, and translates it as
// Prometheus 3 does, with Prometheus' own translator, into a batch for the
// store. Metric and label names are normalised with unit and type
// suffixes; service.name and service.namespace become job,
// service.instance.id instance, the other resource attributes target_info;
// cumulative sums become counters (or gauges when not monotonic), gauges
// gauges, explicit-bucket histograms classic histograms, and summaries
// summaries.
//
// What the store cannot keep is rejected by data point and said in the
// answer's partial success: delta temporality (a counter's increments
// cannot be kept as the cumulative series queries expect without the
// state of every series, which a restart would lose) and exponential
// histograms (the store has no native histograms). Bad input (a value
// that is NaN or infinite, a data point with more attributes than a
// series may have labels) refuses the whole request, naming the field.
//
// The HTTP server duration of OpenTelemetry's semantic conventions
// (http.server.request.duration, in seconds, with http.route,
// http.request.method and http.response.status_code) is also written as
// AtroZ's own request metrics, http_request_duration_seconds and
// http_requests_total, under the resource's service.name, so an
// instrumented service shows on the overview and in the built-in alerts
// and SLOs beside the services that post request events.
package otlp
