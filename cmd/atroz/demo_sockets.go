package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// demoMaxSockets bounds the demo's open WebSocket clients, under the
	// server's default of 10 per address, leaving room for a browser on
	// the same machine.
	demoMaxSockets = 6
	// demoCloseWait bounds the wait for the server's answer to a close frame.
	demoCloseWait = time.Second
)

// demoSubscribe is what each client sends first, as the dashboard does.
const demoSubscribe = `{"subscribe":["alerts"]}`

// demoSockets opens the demo's WebSocket clients and ends them when their
// time has come. Only the run loop calls its methods.
type demoSockets struct {
	url    string
	login  *apiLogin
	stats  *demoStats
	dialer websocket.Dialer
	open   []*demoSocket
	wg     sync.WaitGroup // one per client goroutine
}

// demoSocket is one client as the run loop sees it.
type demoSocket struct {
	end  int64 // the tick it ends at
	drop bool  // end without a close frame; set before done is closed
	done chan struct{}
}

// newDemoSockets returns the clients of the hub at wsURL, logging in with login.
func newDemoSockets(wsURL string, login *apiLogin, stats *demoStats) *demoSockets {
	return &demoSockets{
		url:    wsURL,
		login:  login,
		stats:  stats,
		dialer: websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: demoRequestTimeout},
	}
}

// demoSocketURL returns the ws:// or wss:// URL of target's /ws.
func demoSocketURL(target *url.URL) string {
	u := target.JoinPath("ws")
	u.Scheme = "ws"
	if target.Scheme == "https" {
		u.Scheme = "wss"
	}
	return u.String()
}

// tick ends the clients due at tick n and opens those planned.
func (s *demoSockets) tick(ctx context.Context, n int64, plans []demoSocketPlan) {
	kept := s.open[:0]
	for _, c := range s.open {
		if c.end > n {
			kept = append(kept, c)
			continue
		}
		close(c.done)
	}
	clear(s.open[len(kept):])
	s.open = kept
	for _, p := range plans {
		s.start(ctx, n, p)
	}
}

// start opens a client planned at tick n, unless demoMaxSockets are open.
func (s *demoSockets) start(ctx context.Context, n int64, p demoSocketPlan) {
	if len(s.open) >= demoMaxSockets {
		return
	}
	token, err := s.login.token(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.stats.fail(err)
		}
		return
	}
	c := &demoSocket{end: n + p.lifetime, drop: p.drop, done: make(chan struct{})}
	s.open = append(s.open, c)
	s.wg.Add(1)
	go s.run(ctx, c, token)
}

// close ends every client with a close frame and waits for them all.
func (s *demoSockets) close() {
	for _, c := range s.open {
		c.drop = false
		close(c.done)
	}
	s.open = nil
	s.wg.Wait()
}

// run connects c, reads until c is done, then hangs up.
func (s *demoSockets) run(ctx context.Context, c *demoSocket, token string) {
	defer s.wg.Done()
	conn, resp, err := s.dialer.DialContext(ctx, s.url, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			err = fmt.Errorf("%w: %s", err, serverError(resp))
		}
		if ctx.Err() == nil {
			s.stats.fail(fmt.Errorf("GET /ws: %w", err))
		}
		return
	}
	s.stats.connects.Add(1)
	read := make(chan struct{})
	go demoRead(conn, read)
	_ = conn.WriteMessage(websocket.TextMessage, []byte(demoSubscribe))
	select {
	case <-c.done:
		s.hangUp(conn, c.drop, read)
	case <-read: // the server ended it
		_ = conn.Close()
	}
	<-read
}

// demoRead reads and discards conn's messages until it fails, then closes read.
func demoRead(conn *websocket.Conn, read chan<- struct{}) {
	defer close(read)
	conn.SetReadLimit(1 << 20)
	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			return
		}
	}
}

// hangUp ends conn: abruptly, closing the TCP connection without a close
// frame, when drop is set; otherwise with a close frame, waiting a moment
// for the server's.
func (s *demoSockets) hangUp(conn *websocket.Conn, drop bool, read <-chan struct{}) {
	if drop {
		s.stats.drops.Add(1)
		_ = conn.Close()
		return
	}
	s.stats.closes.Add(1)
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	if conn.WriteControl(websocket.CloseMessage, bye, time.Now().Add(demoCloseWait)) == nil {
		select {
		case <-read:
		case <-time.After(demoCloseWait):
		}
	}
	_ = conn.Close()
}
