package collector

import (
	"encoding/json"
	"strconv"
	"time"
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
// request metrics, under each event's own service.
func (c *Collector) RecordRequests(events []RequestEvent) {
	newest := map[string]int64{}
	for _, e := range events {
		service, route := c.routes.admit(e.Service, e.Route)
		c.http.record(httpKey{service, route, e.Method, e.Status}, e.DurationMs/1000)
		newest[service] = max(newest[service], e.Timestamp)
	}
	for service, t := range newest {
		c.fresh.mark("requests:"+service, time.UnixMilli(t))
	}
}
