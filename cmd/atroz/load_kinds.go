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
	"time"
)

// loadKind builds the items of one kind of load and counts what the server
// stored of them.
type loadKind interface {
	// request builds item i, due at due.
	request(ctx context.Context, i int64, due time.Time) (*http.Request, error)
	// okStatus is the status of an accepted item.
	okStatus() int
	// perItem is how many stored things one accepted item makes: events
	// in a batch, samples in a push.
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
		return &importLoad{s: s, run: strconv.FormatInt(time.Now().UnixNano(), 36)}, nil
	case "query":
		return &queryLoad{s: s}, nil
	}
	return nil, fmt.Errorf("-kind: unknown kind %q", o.kind)
}

// loadPages are the pages beacons and request events are spread over.
const loadPages = 20

// beaconLoad sends frame-rate beacons from the server's own origin, which
// it admits without ALLOWED_ORIGINS.
type beaconLoad struct {
	s      *loadSession
	origin string
}

func (k *beaconLoad) request(ctx context.Context, i int64, due time.Time) (*http.Request, error) {
	body := fmt.Sprintf(`{"service":%q,"page":"/load/%d","fps":[60,59,58,61,60],"long_frames":%d,"duration_ms":5000,"ts":%d}`,
		k.s.o.service, i%loadPages, i%3, due.UnixMilli())
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/beacons", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	req.Header.Set("Origin", k.origin)
	return req, nil
}

func (k *beaconLoad) okStatus() int  { return http.StatusNoContent }
func (k *beaconLoad) perItem() int64 { return 1 }
func (k *beaconLoad) counted() bool  { return true }
func (k *beaconLoad) stored(ctx context.Context) (float64, error) {
	return k.s.scalar(ctx, fmt.Sprintf(`sum(frontend_beacons_total{service=%q})`, k.s.o.service))
}

// requestLoad sends batches of request events with the ingest token.
type requestLoad struct{ s *loadSession }

func (k *requestLoad) request(ctx context.Context, i int64, due time.Time) (*http.Request, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for j := range k.s.o.batch {
		if j > 0 {
			b.WriteByte(',')
		}
		n := int(i) + j
		fmt.Fprintf(&b, `{"service":%q,"route":"/load/%d","method":"GET","status":%d,"duration_ms":%d,"timestamp":%d}`,
			k.s.o.service, n%loadPages, 200+n%2*4, 1+n%250, due.UnixMilli())
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

func (k *requestLoad) okStatus() int  { return http.StatusOK }
func (k *requestLoad) perItem() int64 { return int64(k.s.o.batch) }
func (k *requestLoad) counted() bool  { return true }
func (k *requestLoad) stored(ctx context.Context) (float64, error) {
	return k.s.scalar(ctx, fmt.Sprintf(`sum(http_requests_total{service=%q})`, k.s.o.service))
}

// importLoad pushes Prometheus text: -batch series of one run, each with
// one sample at the item's due time. Items are spread over lanes, a label,
// so that a series gets a sample at most every lanes/rate seconds and
// items answered out of order do not collide.
type importLoad struct {
	s   *loadSession
	run string
}

// importLanes bounds the series of an import run to lanes × batch.
const importLanes = 100

func (k *importLoad) request(ctx context.Context, i int64, due time.Time) (*http.Request, error) {
	var b bytes.Buffer
	lane := i % min(importLanes, int64(k.s.o.rate))
	for j := range k.s.o.batch {
		fmt.Fprintf(&b, "atroz_load_import{run=%q,lane=\"%d\",series=\"%d\"} %d %d\n", k.run, lane, j, i, due.UnixMilli())
	}
	req, err := k.s.newRequest(ctx, http.MethodPost, "/api/v1/import/prometheus", &b)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	req.Header.Set("Authorization", "Bearer "+k.s.o.token)
	return req, nil
}

func (k *importLoad) okStatus() int  { return http.StatusOK }
func (k *importLoad) perItem() int64 { return int64(k.s.o.batch) }
func (k *importLoad) counted() bool  { return true }
func (k *importLoad) stored(ctx context.Context) (float64, error) {
	window := k.s.o.duration + k.s.o.verifyTimeout + time.Minute
	return k.s.scalar(ctx, fmt.Sprintf(`sum(count_over_time(atroz_load_import{run=%q}[%ds]))`, k.run, int(window.Seconds())))
}

// queryLoad sends instant queries with the login token.
type queryLoad struct{ s *loadSession }

func (k *queryLoad) request(ctx context.Context, _ int64, _ time.Time) (*http.Request, error) {
	return k.s.queryRequest(ctx, k.s.o.query)
}

func (k *queryLoad) okStatus() int  { return http.StatusOK }
func (k *queryLoad) perItem() int64 { return 1 }
func (k *queryLoad) counted() bool  { return false }
func (k *queryLoad) stored(context.Context) (float64, error) {
	return 0, errors.New("query load stores nothing")
}

// loadSession is the target, its client and the login token.
type loadSession struct {
	o      *loadOptions
	client *http.Client
	jwt    string
}

// newRequest returns a request for path on the target.
func (s *loadSession) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, method, s.o.target.String()+path, body)
}

// login exchanges -user and -password for a token.
func (s *loadSession) login(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"username": s.o.user, "password": s.o.password})
	req, err := s.newRequest(ctx, http.MethodPost, "/api/v1/auth/login", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	var out struct {
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if err := s.do(req, &out); err != nil {
		return fmt.Errorf("log in as %q: %w", s.o.user, err)
	}
	s.jwt = out.Data.Token
	return nil
}

// queryRequest returns an instant query of expr with the login token.
func (s *loadSession) queryRequest(ctx context.Context, expr string) (*http.Request, error) {
	req, err := s.newRequest(ctx, http.MethodGet, "/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.jwt)
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
		var e struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&e)
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out)
}

// drain reads what is left of a response so its connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
}
