//go:build reliability

package reliability

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowClients holds many connections open with headers sent a line at a
// time (slowloris) and with bodies sent a few bytes at a time. The server
// must close each at its configured timeout while other clients keep being
// served.
func TestSlowClients(t *testing.T) {
	const (
		headerTimeout = time.Second
		readTimeout   = 2 * time.Second
		lorises       = 200
		slowBodies    = 50
	)
	s := newSite(t, t.TempDir(), "HTTP_READ_HEADER_TIMEOUT="+headerTimeout.String(), "HTTP_READ_TIMEOUT="+readTimeout.String())
	srv := s.start(t)
	addr := strings.TrimPrefix(srv.url, "http://")

	results := make(chan slowResult, lorises+slowBodies)
	var wg sync.WaitGroup
	for range lorises {
		wg.Go(func() { results <- trickle(addr, "GET /health HTTP/1.1\r\nHost: atroz\r\n", "X-Slow: 1\r\n") })
	}
	for range slowBodies {
		head := "POST /api/v1/import/prometheus HTTP/1.1\r\nHost: atroz\r\nAuthorization: Bearer " + s.token + "\r\nContent-Length: 100000\r\n\r\n"
		wg.Go(func() { results <- trickle(addr, head, "slow_metric 1\n") })
	}
	healthy, served := healthDuring(t, srv, &wg)
	close(results)

	var loris, body []time.Duration
	for r := range results {
		switch {
		case r.err != nil:
			t.Errorf("slow client: %v", r.err)
		case strings.HasPrefix(r.kind, "GET"):
			loris = append(loris, r.closed)
		default:
			body = append(body, r.closed)
		}
	}
	slices.Sort(loris)
	slices.Sort(body)
	if len(loris) != lorises || len(body) != slowBodies {
		t.Fatalf("%d of %d slow-header and %d of %d slow-body connections were closed by the server", len(loris), lorises, len(body), slowBodies)
	}
	// The server's clock starts at accept, a moment before the client's.
	const slack = 100 * time.Millisecond
	if loris[0] < headerTimeout-slack || body[0] < readTimeout-slack {
		t.Errorf("closed too early: slow headers after %s (timeout %s), slow bodies after %s (timeout %s)", loris[0], headerTimeout, body[0], readTimeout)
	}
	// Each setting, not a neighbour, closed them: slow headers before the
	// read timeout could have, slow bodies long before the 30 s default.
	if last := loris[len(loris)-1]; last >= readTimeout {
		t.Errorf("a slow-header connection lasted %s: HTTP_READ_HEADER_TIMEOUT=%s was not applied", last, headerTimeout)
	}
	if last := body[len(body)-1]; last >= 5*readTimeout {
		t.Errorf("a slow-body connection lasted %s: HTTP_READ_TIMEOUT=%s was not applied", last, readTimeout)
	}
	if healthy != served {
		t.Errorf("%d of %d health checks during the attack succeeded", healthy, served)
	}
	t.Logf("%d slow-header connections closed after %s–%s (timeout %s); %d slow-body connections after %s–%s (timeout %s); %d of %d health checks meanwhile answered 200",
		lorises, loris[0].Round(time.Millisecond), loris[len(loris)-1].Round(time.Millisecond), headerTimeout,
		slowBodies, body[0].Round(time.Millisecond), body[len(body)-1].Round(time.Millisecond), readTimeout, healthy, served)
}

// slowResult is how long a slow client's connection lasted before the
// server closed it.
type slowResult struct {
	kind   string
	closed time.Duration
	err    error
}

// trickle sends head, then more every 200 ms, until the server closes the
// connection, and reports how long that took. A connection still open
// after 30 s is an error.
func trickle(addr, head, more string) slowResult {
	r := slowResult{kind: head}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		r.err = err
		return r
	}
	defer func() { _ = conn.Close() }()
	began := time.Now()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, conn) // returns when the server closes
		close(closed)
	}()
	if _, err := io.WriteString(conn, head); err != nil {
		r.err = err
		return r
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			r.closed = time.Since(began)
			return r
		case <-tick.C:
			_, _ = io.WriteString(conn, more) // fails once the server has closed
			if time.Since(began) > 30*time.Second {
				r.err = fmt.Errorf("%q: connection still open after 30s", head[:20])
				return r
			}
		}
	}
}

// healthDuring checks /health every 50 ms until wg is done and returns how
// many of the checks answered 200.
func healthDuring(t *testing.T, srv *server, wg *sync.WaitGroup) (healthy, served int) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		select {
		case <-done:
			return healthy, served
		case <-time.After(50 * time.Millisecond):
		}
		served++
		resp, err := httpClient.Get(srv.url + "/health")
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			healthy++
		}
	}
}
