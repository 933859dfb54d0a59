package collector

import (
	"slices"
	"strings"
)

// Def describes one metric the collector keeps: the one place its name,
// type, help text and label names are written down. The metadata API and
// the tests read Defs.
type Def struct {
	Name   string
	Type   string // counter, gauge or histogram
	Help   string
	Labels []string
}

// Defs lists every metric the collector defines (the Go runtime and process
// metrics written by VictoriaMetrics/metrics come on top).
var Defs = []Def{
	{"http_requests_total", "counter", "HTTP requests served by AtroZ or reported by other services.", []string{"service", "route", "method", "code"}},
	{"http_request_duration_seconds", "histogram", "Time from request to response, in seconds.", []string{"service", "route", "method"}},
	{"http_requests_in_flight", "gauge", "Requests AtroZ is serving now.", nil},
	{"frontend_fps", "histogram", "Frames per second measured in browsers, one observation per second.", []string{"service", "page"}},
	{"frontend_long_frames_total", "counter", "Browser frames that took 50 ms or more.", []string{"service", "page"}},
	{"frontend_beacons_total", "counter", "Beacons received from browsers.", []string{"service", "page"}},
	{"frontend_lcp_seconds", "histogram", "Largest Contentful Paint of page views, in seconds.", []string{"service", "page"}},
	{"frontend_inp_seconds", "histogram", "Interaction to Next Paint of page views with an interaction, in seconds.", []string{"service", "page"}},
	{"frontend_cls", "histogram", "Cumulative Layout Shift of page views.", []string{"service", "page"}},
	{"frontend_ttfb_seconds", "histogram", "Time to First Byte of page views, in seconds.", []string{"service", "page"}},
	{"system_cpu_usage_ratio", "gauge", "Share of the host's CPU time spent busy since the previous sample.", nil},
	{"system_memory_usage_ratio", "gauge", "Share of the host's memory in use.", nil},
	{"system_data_disk_free_bytes", "gauge", "Free bytes on the volume holding the data directory.", nil},
	{"store_file_bytes", "gauge", "Size of the store file.", nil},
	{"store_wal_bytes", "gauge", "Bytes in the store's write-ahead log.", nil},
	{"store_series", "gauge", "Series in the store.", nil},
	{"store_head_samples", "gauge", "Samples in memory not yet written in a chunk.", nil},
	{"store_samples_appended_total", "counter", "Samples the store accepted.", nil},
	{"store_samples_refused_total", "counter", "Samples the store refused, by reason.", []string{"reason"}},
	{"store_flush_duration_seconds", "gauge", "Duration of the last flush.", nil},
	{"store_flushes_total", "counter", "Flushes committed.", nil},
	{"store_flush_errors_total", "counter", "Flushes that failed (their data is written by the next).", nil},
	{"store_disk_full", "gauge", "1 while the data volume is full and new samples are refused, else 0.", nil},
	{"websocket_connections", "gauge", "Open WebSocket connections.", nil},
	{"websocket_connects_total", "counter", "WebSocket connections opened.", nil},
	{"websocket_disconnects_total", "counter", "WebSocket connections closed, by reason: normal, error, timeout or policy.", []string{"reason"}},
	{"websocket_connection_duration_seconds", "histogram", "How long WebSocket connections stayed open.", nil},
	{"cache_requests_total", "counter", "Cache lookups by cache and result (hit or miss).", []string{"cache", "result"}},
	{"data_last_sample_timestamp_seconds", "gauge", "Unix time of the newest data from each source; freshness is time() minus this.", []string{"source"}},
	{"ingest_rejected_total", "counter", "Ingest requests refused as bad input, by endpoint.", []string{"endpoint"}},
	{"ingest_unavailable_total", "counter", "Ingest requests refused because the store could not take them, by endpoint and reason: disk_full or closed.", []string{"endpoint", "reason"}},
}

// Histogram bucket bounds, chosen for what each one measures.
var (
	durationBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	fpsBuckets       = []float64{5, 10, 20, 30, 40, 50, 55, 58, 60, 90, 120, 144, 240}
	wsLifetimeBucket = []float64{1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}
)

// DurationBuckets returns the bounds, in seconds, of the request-duration
// histogram (http_request_duration_seconds): a latency SLO's threshold
// must be one of them.
func DurationBuckets() []float64 { return slices.Clone(durationBuckets) }

// name builds a metric name with labels in the Prometheus text format:
// name{k1="v1",k2="v2"}, label values escaped.
func name(metric string, kv ...string) string {
	if len(kv) == 0 {
		return metric
	}
	var b strings.Builder
	b.Grow(len(metric) + 16*len(kv))
	b.WriteString(metric)
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		escape(&b, kv[i+1])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// escape writes v with the three escapes the text format knows.
func escape(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}
