package collector

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// RequestEvent is one request another service reports:
//
//	{"service":"billing","route":"/invoices/:id","method":"GET","status":200,"duration_ms":12.5,"timestamp":1732700000000}
//
// timestamp is unix milliseconds (0 or absent: the time it arrives).
type RequestEvent struct {
	Service    string  `json:"service"`
	Route      string  `json:"route"`
	Method     string  `json:"method"`
	Status     int     `json:"status"`
	DurationMs float64 `json:"duration_ms"`
	Timestamp  int64   `json:"timestamp"`
}

// Limits of a request-event batch.
const (
	MaxEventsBytes = 1 << 20
	MaxEvents      = 10_000
)

// DecodeRequestEvents parses and vets a JSON array of request events. Any
// fault is an *InputError naming the event and field; a batch that decodes
// is entirely valid.
func DecodeRequestEvents(body []byte, w Window) ([]RequestEvent, error) {
	var raw []json.RawMessage
	if err := decodeJSON(body, &raw, "body"); err != nil {
		return nil, err
	}
	switch n := len(raw); {
	case n == 0:
		return nil, badInput("body", "must hold at least one event")
	case n > MaxEvents:
		return nil, badInput("body", "holds %d events, at most %d allowed", n, MaxEvents)
	}
	events := make([]RequestEvent, len(raw))
	for i, r := range raw {
		where := "events[" + strconv.Itoa(i) + "]"
		if err := decodeJSON(r, &events[i], where); err != nil {
			return nil, err
		}
		if err := events[i].check(where, w); err != nil {
			return nil, err
		}
	}
	return events, nil
}

func (e *RequestEvent) check(where string, w Window) error {
	if err := checkLabel(where+".service", e.Service); err != nil {
		return err
	}
	if err := checkLabel(where+".route", e.Route); err != nil {
		return err
	}
	if _, ok := methods[e.Method]; !ok {
		return badInput(where+".method", "must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE; got %q", e.Method)
	}
	if e.Status < 100 || e.Status > 599 {
		return badInput(where+".status", "must be between 100 and 599, got %d", e.Status)
	}
	if err := checkNumber(where+".duration_ms", e.DurationMs, 0, 24*3600*1000); err != nil {
		return err
	}
	var err error
	e.Timestamp, err = w.checkTime(where+".timestamp", e.Timestamp)
	return err
}

// RecordRequests feeds events that DecodeRequestEvents accepted into the
// request metrics, under each event's own service. Services, routes and
// status codes past their caps (MaxServices, MaxRoutesPerService,
// MaxCodesPerRoute) count as "<other>" or under their class ("5xx"), and
// methods are one of nine, so a route holds a bounded number of label
// sets whatever is reported. Label sets seen for the
// first time reserve room in the store for their series, which the next
// scrape appends; when there is none for all of them
// (store.ErrSeriesLimit) it records no event and returns the error, so the
// batch is refused whole rather than acknowledged and partly lost.
func (c *Collector) RecordRequests(events []RequestEvent) error {
	keys := make([]httpKey, len(events))
	for i, e := range events {
		service, route := c.routes.admit(e.Service, e.Route)
		code := c.codes.admit(routeKey{service, route}, e.Status)
		keys[i] = httpKey{service, route, e.Method, code}
	}
	if err := c.reserveRequests(keys); err != nil {
		return err
	}
	newest := map[string]int64{}
	for i, e := range events {
		c.http.record(keys[i], e.DurationMs/1000)
		newest[keys[i].service] = max(newest[keys[i].service], e.Timestamp)
	}
	now := c.opts.Now()
	for service, t := range newest {
		c.fresh.mark(requestsSource(service), time.UnixMilli(t), now)
	}
	return nil
}

func requestsSource(service string) string { return "requests:" + service }

// reserveRequests reserves the series of the keys not counted before.
func (c *Collector) reserveRequests(keys []httpKey) error {
	fresh := map[httpKey]struct{}{}
	for _, k := range keys {
		if _, ok := c.http.series.lookup(k); !ok {
			fresh[k] = struct{}{}
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	err := c.reserve(func(set *metrics.Set) {
		for k := range fresh {
			httpSeriesIn(set, k)
			freshMetric(set, requestsSource(k.service))
		}
	})
	if err != nil {
		return fmt.Errorf("%d new label sets (service, route, method, status) of the events need new series: %w", len(fresh), err)
	}
	return nil
}
