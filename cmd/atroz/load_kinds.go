package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadKind builds the items of one kind of load and counts what the server
// stored of them.
type loadKind interface {
	// request builds the request of an item.
	request(ctx context.Context, it item) (*http.Request, error)
	// accepted reads an answer and returns how many stored things the
	// server took from it: 0 when it refused the item, else 1, the events
	// of a batch, or the samples of a push it stored.
	accepted(status int, body []byte) int64
	// perItem is how many stored things one item carries.
	perItem() int64
	// counted reports whether stored can count this kind's items.
	counted() bool
	// stored is the server's count of this kind's stored things.
	stored(ctx context.Context) (float64, error)
}

// newLoadKind returns the kind o names.
func newLoadKind(o *loadOptions, s *loadSession) (loadKind, error) {
	switch o.kind {
	case "beacons":
		return &beaconLoad{s: s, origin: o.target.Scheme + "://" + o.target.Host}, nil
	case "requests":
		return &requestLoad{s: s}, nil
	case "import":
		return &importLoad{s: s, run: strconv.FormatInt(time.Now().UnixNano(), 36), start: time.Now()}, nil
	case "remote-write":
		return newRemoteWriteLoad(o, s), nil
	case "query":
		return &queryLoad{s: s}, nil
	}
	return nil, fmt.Errorf("-kind: unknown kind %q", o.kind)
}

// loadPages are the pages beacons and request events are spread over.
const loadPages = 20

// beaconLoad sends frame-rate beacons from the server's own origin, which
// it admits without ALLOWED_ORIGINS, with the ingest token when given.
type beaconLoad struct {
	s      *loadSession
	origin string
}

func (k *beaconLoad) request(ctx context.Context, it item) (*http.Request, error) {
	body := fmt.Sprintf(`{"service":%q,"page":"/load/%d","fps":[60,59,58,61,60],"long_frames":%d,"duration_ms":5000,"ts":%d}`,
		k.s.o.service, it.i%loadPages, it.i%3, it.due.UnixMilli())
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/beacons", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", k.origin)
	if k.s.o.token != "" {
		// Charged to the token's budget, not to this address's, which
		// browsers and a running demo share.
		req.Header.Set("Authorization", "Bearer "+k.s.o.token)
	}
	return req, nil
}

func (k *beaconLoad) accepted(status int, _ []byte) int64 {
	return oneIf(status == http.StatusNoContent)
}
func (k *beaconLoad) perItem() int64 { return 1 }
func (k *beaconLoad) counted() bool  { return true }
func (k *beaconLoad) stored(ctx context.Context) (float64, error) {
	return k.s.scalar(ctx, fmt.Sprintf(`sum(frontend_beacons_total{service=%q})`, k.s.o.service))
}

// requestLoad sends batches of request events with the ingest token.
type requestLoad struct{ s *loadSession }

func (k *requestLoad) request(ctx context.Context, it item) (*http.Request, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for j := range k.s.o.batch {
		if j > 0 {
			b.WriteByte(',')
		}
		n := int(it.i) + j
		fmt.Fprintf(&b, `{"service":%q,"route":"/load/%d","method":"GET","status":%d,"duration_ms":%d,"timestamp":%d}`,
			k.s.o.service, n%loadPages, 200+n%2*4, 1+n%250, it.due.UnixMilli())
	}
	b.WriteByte(']')
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/ingest/requests", &b)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+k.s.o.token)
	return req, nil
}

// accepted reads {"data":{"accepted":N}}.
func (k *requestLoad) accepted(status int, body []byte) int64 {
	return answerCount(status, body, "accepted")
}

func (k *requestLoad) perItem() int64 { return int64(k.s.o.batch) }
func (k *requestLoad) counted() bool  { return true }
func (k *requestLoad) stored(ctx context.Context) (float64, error) {
	return k.s.scalar(ctx, fmt.Sprintf(`sum(http_requests_total{service=%q})`, k.s.o.service))
}

// importLoad pushes Prometheus text: -batch series of one run, each with
// one sample at the item's due time. Each request in flight has a lane of
// its own, a label, so a series never has two pushes in flight and its
// timestamps always increase, however the answers interleave.
type importLoad struct {
	s     *loadSession
	run   string
	start time.Time
	mu    sync.Mutex
	last  []int64 // per lane, the last timestamp pushed
}

// stamp returns the item's timestamp: its due time, or just after the
// lane's previous one when two fall in the same millisecond.
func (k *importLoad) stamp(it item) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	for len(k.last) <= it.lane {
		k.last = append(k.last, 0)
	}
	ts := max(it.due.UnixMilli(), k.last[it.lane]+1)
	k.last[it.lane] = ts
	return ts
}

func (k *importLoad) request(ctx context.Context, it item) (*http.Request, error) {
	var b bytes.Buffer
	ts := k.stamp(it)
	for j := range k.s.o.batch {
		fmt.Fprintf(&b, "atroz_load_import{run=%q,lane=\"%d\",series=\"%d\"} %d %d\n", k.run, it.lane, j, it.i, ts)
	}
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/import/prometheus", &b)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	req.Header.Set("Authorization", "Bearer "+k.s.o.token)
	return req, nil
}

// accepted reads {"data":{"samples":N}}: what the store took of the push.
func (k *importLoad) accepted(status int, body []byte) int64 {
	return answerCount(status, body, "samples")
}

func (k *importLoad) perItem() int64 { return int64(k.s.o.batch) }
func (k *importLoad) counted() bool  { return true }
func (k *importLoad) stored(ctx context.Context) (float64, error) {
	window := time.Since(k.start) + time.Minute
	return k.s.scalar(ctx, fmt.Sprintf(`sum(count_over_time(atroz_load_import{run=%q}[%ds]))`, k.run, int(window.Seconds())))
}

// queryLoad sends instant queries with the login token.
type queryLoad struct{ s *loadSession }

func (k *queryLoad) request(ctx context.Context, _ item) (*http.Request, error) {
	return k.s.queryRequest(ctx, k.s.o.query)
}

func (k *queryLoad) accepted(status int, _ []byte) int64 { return oneIf(status == http.StatusOK) }
func (k *queryLoad) perItem() int64                      { return 1 }
func (k *queryLoad) counted() bool                       { return false }
func (k *queryLoad) stored(context.Context) (float64, error) {
	return 0, errors.New("query load stores nothing")
}

// answerCount reads the count data.field of a 200 answer; 0 for any other.
func answerCount(status int, body []byte, field string) int64 {
	var out struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(out.Data[field]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// oneIf is 1 when ok, else 0.
func oneIf(ok bool) int64 {
	if ok {
		return 1
	}
	return 0
}

// loadSession is the target, its client and the login.
type loadSession struct {
	o      *loadOptions
	client *http.Client
	login  *apiLogin // nil without -user
}

// newRequest returns a request for path on the target.
func (s *loadSession) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, method, s.o.target.String()+path, body)
}

// queryRequest returns an instant query of expr with the login token.
func (s *loadSession) queryRequest(ctx context.Context, expr string) (*http.Request, error) {
	jwt, err := s.login.token(ctx)
	if err != nil {
		return nil, err
	}
	req, err := s.newRequest(ctx, http.MethodGet, "/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+jwt)
	return req, nil
}

// scalar runs an instant query whose answer is one number, or nothing (0).
func (s *loadSession) scalar(ctx context.Context, expr string) (float64, error) {
	req, err := s.queryRequest(ctx, expr)
	if err != nil {
		return 0, err
	}
	var out struct {
		Data struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := s.do(req, &out); err != nil {
		return 0, fmt.Errorf("query %s: %w", expr, err)
	}
	if len(out.Data.Result) == 0 {
		return 0, nil
	}
	v, _ := out.Data.Result[0].Value[1].(string)
	return strconv.ParseFloat(v, 64)
}

// do sends req and decodes a 200 answer into out; another status is an
// error quoting the server's message.
func (s *loadSession) do(req *http.Request, out any) error {
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return errors.New(serverError(resp))
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out)
}
