package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	// demoTokenMargin is how long before its expiry a login is renewed.
	// It outlasts every client, so none is closed for an expired session.
	demoTokenMargin = 5 * time.Minute
	// demoCloseWait bounds the wait for the server's answer to a close frame.
	demoCloseWait = time.Second
)

// demoSubscribe is what each client sends first, as the dashboard does.
const demoSubscribe = `{"subscribe":["alerts"]}`

// demoSockets opens the demo's WebSocket clients and ends them when their
// time has come. Only the run loop calls its methods.
type demoSockets struct {
	url    string
	login  *demoLogin
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
func newDemoSockets(wsURL string, login *demoLogin, stats *demoStats) *demoSockets {
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
			err = fmt.Errorf("%w: %s", err, demoServerError(resp))
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

// demoLogin logs in as the demo's user and renews the login before it expires.
type demoLogin struct {
	client         *http.Client
	url            string
	user, password string
	jwt            string
	expires        time.Time
}

// token returns a login token valid for at least demoTokenMargin, or for
// as long as the server grants, logging in when needed.
func (l *demoLogin) token(ctx context.Context) (string, error) {
	if l.jwt != "" && time.Until(l.expires) > demoTokenMargin {
		return l.jwt, nil
	}
	if err := l.logIn(ctx); err != nil {
		return "", err
	}
	return l.jwt, nil
}

// logIn posts the user name and password to the login URL.
func (l *demoLogin) logIn(ctx context.Context) error {
	body, err := json.Marshal(map[string]string{"username": l.user, "password": l.password})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body)) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req) // #nosec G704 -- the URL is the operator's -target
	if err != nil {
		return fmt.Errorf("log in as %s: %w", l.user, err)
	}
	defer demoDrain(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("log in as %s: %s", l.user, demoServerError(resp))
	}
	var out struct {
		Data struct {
			Token   string    `json:"token"`
			Expires time.Time `json:"expires"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Data.Token == "" {
		return fmt.Errorf("log in as %s: the server's answer holds no token", l.user)
	}
	l.jwt, l.expires = out.Data.Token, out.Data.Expires
	return nil
}
