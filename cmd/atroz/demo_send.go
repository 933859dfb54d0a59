package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"atroz/collector"
)

// sendRequests posts the events in one batch per service, stamped now.
func (d *demo) sendRequests(ctx context.Context, events []collector.RequestEvent) error {
	now := time.Now().UnixMilli()
	for _, batch := range demoBatches(events) {
		for i := range batch {
			batch[i].Timestamp = now
		}
		ok, err := d.post(ctx, d.requests, batch)
		if err != nil {
			return err
		}
		if ok {
			d.stats.events.Add(int64(len(batch)))
			d.stats.batches.Add(1)
		}
	}
	return nil
}

// demoBatches splits events by service, in the order services first appear.
func demoBatches(events []collector.RequestEvent) [][]collector.RequestEvent {
	index := map[string]int{}
	var batches [][]collector.RequestEvent
	for _, e := range events {
		i, ok := index[e.Service]
		if !ok {
			i = len(batches)
			index[e.Service] = i
			batches = append(batches, nil)
		}
		batches[i] = append(batches[i], e)
	}
	return batches
}

// sendBeacons posts each beacon as a browser on the server's own origin
// would, stamped now.
func (d *demo) sendBeacons(ctx context.Context, beacons []collector.Beacon) error {
	now := time.Now().UnixMilli()
	for _, b := range beacons {
		b.TS = now
		ok, err := d.post(ctx, d.beacons, b)
		if err != nil {
			return err
		}
		if ok {
			d.stats.beacons.Add(1)
		}
	}
	return nil
}

// demoEndpoint is a URL the demo posts to: the headers it sends and the
// status that means taken.
type demoEndpoint struct {
	url    string
	header http.Header
	want   int
}

// demoEndpoints returns the request-event and beacon endpoints of o.target,
// both sending the ingest token.
func demoEndpoints(o *demoOptions) (requests, beacons demoEndpoint) {
	requests = demoEndpoint{
		url:    o.target.JoinPath("api/v1/ingest/requests").String(),
		header: http.Header{"Authorization": {"Bearer " + o.token}, "Content-Type": {"application/json"}},
		want:   http.StatusOK,
	}
	// With the ingest token, the demo's beacons count against its own rate
	// limit, not the one this address shares with browsers and atroz load.
	beacons = demoEndpoint{
		url:    o.target.JoinPath("api/v1/beacons").String(),
		header: http.Header{"Content-Type": {"text/plain;charset=UTF-8"}, "Origin": {o.target.Scheme + "://" + o.target.Host}, "Authorization": {"Bearer " + o.token}},
		want:   http.StatusNoContent,
	}
	return requests, beacons
}

// post sends v as JSON to e and reports whether the server took it.
// Nothing is sent while a 429 pauses sending; a 429 pauses it for the
// Retry-After asked. A refused ingest token is the one error that ends
// the demo; other failures are counted.
func (d *demo) post(ctx context.Context, e demoEndpoint, v any) (bool, error) {
	if ctx.Err() != nil || time.Now().Before(d.resume) {
		return false, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("encode for %s: %w", e.url, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body)) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return false, err
	}
	req.Header = e.header.Clone()
	resp, err := d.client.Do(req) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		if ctx.Err() == nil {
			d.stats.fail(fmt.Errorf("POST %s: %w", e.url, err))
		}
		return false, nil
	}
	defer drain(resp)
	return d.answered(resp, e)
}

// answered judges the server's answer to a POST to e.
func (d *demo) answered(resp *http.Response, e demoEndpoint) (bool, error) {
	switch resp.StatusCode {
	case e.want:
		return true, nil
	case http.StatusTooManyRequests:
		d.pause(resp.Header.Get("Retry-After"))
	case http.StatusUnauthorized:
		return false, fmt.Errorf(`POST %s: the server refused the ingest token (%s): create one with "atroz token create demo"`, e.url, serverError(resp))
	default:
		d.stats.fail(fmt.Errorf("POST %s: %s", e.url, serverError(resp)))
	}
	return false, nil
}

// pause stops sending for retryAfter seconds, or demoDefaultPause, and says so.
func (d *demo) pause(retryAfter string) {
	wait := demoDefaultPause
	if s, err := strconv.Atoi(retryAfter); err == nil && s > 0 {
		wait = time.Duration(s) * time.Second
	}
	d.resume = time.Now().Add(wait)
	d.stats.limited.Add(1)
	fmt.Fprintf(d.out, "demo: the server's rate limit answered 429; backing off for %s\n", wait)
}
