//go:build reliability

package reliability

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSIGTERMUnderLoad stops the server with SIGTERM while beacons and
// probe pushes arrive and WebSocket clients are connected. It must exit 0
// within SHUTDOWN_TIMEOUT (10 s; 5 s more for the process to end), close
// every WebSocket with 1001 going away, and have flushed every
// acknowledged push.
func TestSIGTERMUnderLoad(t *testing.T) {
	const sockets = 8 // under the 10 a client IP may hold
	s := newSite(t, t.TempDir(), "SHUTDOWN_TIMEOUT=10s")
	srv := s.start(t)
	codes := dialSockets(t, srv, sockets)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _, _ = s.load(ctx, srv, "-kind", "beacons", "-rate", "5000", "-duration", "1m", "-verify=false")
	})
	p := &prober{s: s, url: srv.url}
	wg.Go(func() { p.run(ctx) })
	p.awaitDurable(t, srv)
	s.awaitBeacons(t, srv)

	began := time.Now()
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-srv.done:
		srv.done <- err
	case <-time.After(15 * time.Second):
		t.Fatalf("serve still running 15s after SIGTERM with SHUTDOWN_TIMEOUT=10s:\n%s", srv.log)
	}
	took := time.Since(began)
	cancel()
	wg.Wait()
	if err != nil {
		t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, srv.log)
	}
	if !strings.Contains(srv.log.String(), `"clean":true`) {
		t.Errorf("log lacks a clean stop:\n%s", srv.log)
	}
	goingAway := 0
	for range sockets {
		if c := <-codes; c == websocket.CloseGoingAway {
			goingAway++
		} else {
			t.Errorf("a WebSocket ended with %d, want %d going away", c, websocket.CloseGoingAway)
		}
	}
	if out, err := atrozErr(s.env, "", "db", "check"); err != nil {
		t.Fatalf("atroz db check: %v\n%s", err, out)
	}
	durable, _, _ := checkProbes(t, s.dir, 0, p.acks, time.Now())
	t.Logf("SIGTERM under load: exit 0 after %s, %d of %d WebSockets closed with 1001, all %d acknowledged pushes stored",
		took.Round(time.Millisecond), goingAway, sockets, durable)
}

// dialSockets connects n WebSocket clients with the suite's login and
// returns the close code each gets when its connection ends (1006 for a
// connection dropped without a close frame).
func dialSockets(t *testing.T, srv *server, n int) <-chan int {
	t.Helper()
	header := http.Header{"Authorization": {"Bearer " + login(t, srv)}}
	codes := make(chan int, n)
	for range n {
		conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.url, "http")+"/ws", header)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			t.Fatalf("dial /ws: %v (%v)", err, resp)
		}
		go func() {
			defer func() { _ = conn.Close() }()
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					var ce *websocket.CloseError
					if errors.As(err, &ce) {
						codes <- ce.Code
					} else {
						codes <- websocket.CloseAbnormalClosure
					}
					return
				}
			}
		}()
	}
	return codes
}
