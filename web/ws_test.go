package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"

	"atroz/collector"
)

// wsWait bounds every wait in these tests; nothing here should take long.
const wsWait = 5 * time.Second

// wsClock is a clock the tests move by hand.
type wsClock struct{ ns atomic.Int64 }

func newWSClock() *wsClock {
	c := &wsClock{}
	c.ns.Store(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *wsClock) Now() time.Time               { return time.Unix(0, c.ns.Load()).UTC() }
func (c *wsClock) Add(d time.Duration)          { c.ns.Add(int64(d)) }
func (c *wsClock) In(d time.Duration) time.Time { return c.Now().Add(d) }

// wsRig is a hub mounted alone on a gin engine behind a real HTTP server,
// with its hooks reported on channels.
type wsRig struct {
	hub         *Hub
	srv         *httptest.Server
	url         string
	clock       *wsClock
	connects    chan struct{}
	disconnects chan string
	rejects     chan string
}

// newWSRig starts a rig; tweak, when not nil, adjusts the options. The
// bearer token "good" is a session valid for an hour, "expired" one that
// ended a minute ago.
func newWSRig(t testing.TB, tweak func(*WSOptions)) *wsRig {
	t.Helper()
	r := &wsRig{clock: newWSClock(), connects: make(chan struct{}, 512), disconnects: make(chan string, 512), rejects: make(chan string, 512)}
	o := WSOptions{
		Authenticate: r.authenticate,
		AllowOrigin:  func(o string) bool { return o == "https://dash.example.com" },
		OnConnect:    func() { r.connects <- struct{}{} },
		OnDisconnect: func(reason string, _ time.Duration) { r.disconnects <- reason },
		OnReject:     func(_ *gin.Context, why string) { r.rejects <- why },
		Now:          r.clock.Now,
	}
	if tweak != nil {
		tweak(&o)
	}
	r.hub = NewHub(o)
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.GET("/ws", r.hub.Handler())
	r.srv = httptest.NewServer(e)
	r.url = "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/ws"
	t.Cleanup(func() {
		if err := r.hub.Close(); err != nil {
			t.Errorf("close hub: %v", err)
		}
		r.srv.Close()
	})
	return r
}

func (r *wsRig) authenticate(req *http.Request) (WSSession, bool) {
	switch req.Header.Get("Authorization") {
	case "Bearer good":
		return WSSession{User: "ana", Role: "viewer", Expires: r.clock.In(time.Hour)}, true
	case "Bearer expired":
		return WSSession{User: "bo", Role: "viewer", Expires: r.clock.In(-time.Minute)}, true
	}
	return WSSession{}, false
}

// dial opens a connection with the good session and, when origin is not
// empty, that Origin. It returns the handshake's status code.
func (r *wsRig) dial(t testing.TB, token, origin string) (*wsClient, int) {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	if origin != "" {
		h.Set("Origin", origin)
	}
	d := websocket.Dialer{HandshakeTimeout: wsWait}
	conn, resp, err := d.Dial(r.url, h)
	if resp != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	return startWSClient(t, conn), resp.StatusCode
}

// mustDial opens a connection that must succeed, and waits for OnConnect.
func (r *wsRig) mustDial(t testing.TB) *wsClient {
	t.Helper()
	c, code := r.dial(t, "good", "")
	if code != http.StatusSwitchingProtocols {
		t.Fatalf("dial: status %d, want 101", code)
	}
	wsRecv(t, r.connects, "OnConnect")
	return c
}

// disconnected waits for the next OnDisconnect and returns its reason.
func (r *wsRig) disconnected(t testing.TB) string {
	t.Helper()
	return wsRecv(t, r.disconnects, "OnDisconnect")
}

// wsRecv waits for one value on ch.
func wsRecv[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(wsWait):
		t.Fatalf("no %s within %s", what, wsWait)
		panic("unreachable")
	}
}

// wsNone checks that nothing is waiting on ch.
func wsNone[T any](t testing.TB, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

// wsClient is a test client whose reads run in a goroutine, so it answers
// pings while the test waits.
type wsClient struct {
	conn *websocket.Conn
	msgs chan []byte
	done chan struct{}
	stop chan struct{}
	err  error // the read error that ended the client, set before done closes
}

func startWSClient(t testing.TB, conn *websocket.Conn) *wsClient {
	c := &wsClient{conn: conn, msgs: make(chan []byte, 64), done: make(chan struct{}), stop: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		close(c.stop)
		_ = c.conn.Close()
		<-c.done
	})
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, m, err := c.conn.ReadMessage()
		if err != nil {
			c.err = err
			return
		}
		select {
		case c.msgs <- m:
		case <-c.stop:
			return
		}
	}
}

// next returns the next message the client received.
func (c *wsClient) next(t testing.TB) string {
	t.Helper()
	return string(wsRecv(t, c.msgs, "message"))
}

// ended waits for the connection to end and returns the read error.
func (c *wsClient) ended(t testing.TB) error {
	t.Helper()
	select {
	case <-c.done:
		return c.err
	case <-time.After(wsWait):
		t.Fatalf("connection still open after %s", wsWait)
		return nil
	}
}

// closeCode waits for the connection to end and returns the close code the
// server sent, or -1 when it sent none.
func (c *wsClient) closeCode(t testing.TB) int {
	t.Helper()
	var ce *websocket.CloseError
	if err := c.ended(t); errors.As(err, &ce) {
		return ce.Code
	}
	return -1
}

func (c *wsClient) send(t testing.TB, msg string) {
	t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// subscribe sends a subscription and checks the acknowledgement.
func (c *wsClient) subscribe(t testing.TB, msg, wantAck string) {
	t.Helper()
	c.send(t, msg)
	if got := c.next(t); got != wantAck {
		t.Fatalf("after %s got %s, want %s", msg, got, wantAck)
	}
}

func TestWSUpgradeChecks(t *testing.T) {
	r := newWSRig(t, nil)
	for _, tc := range []struct {
		name, token, origin string
		want                int
		why                 string
	}{
		{"no session", "", "", http.StatusUnauthorized, WSRejectNoSession},
		{"unknown session", "forged", "", http.StatusUnauthorized, WSRejectNoSession},
		{"expired session", "expired", "", http.StatusUnauthorized, WSRejectNoSession},
		{"foreign origin", "good", "https://evil.example", http.StatusForbidden, WSRejectForeignOrigin},
		{"foreign origin without session", "", "https://evil.example", http.StatusForbidden, WSRejectForeignOrigin},
		{"null origin", "good", "null", http.StatusForbidden, WSRejectForeignOrigin},
		{"own host other scheme", "good", strings.Replace(r.srv.URL, "http", "https", 1), http.StatusForbidden, WSRejectForeignOrigin},
		{"no origin", "good", "", http.StatusSwitchingProtocols, ""},
		{"own origin", "good", r.srv.URL, http.StatusSwitchingProtocols, ""},
		{"allowed origin", "good", "https://dash.example.com", http.StatusSwitchingProtocols, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, code := r.dial(t, tc.token, tc.origin)
			if code != tc.want {
				t.Fatalf("status %d, want %d", code, tc.want)
			}
			if tc.why != "" {
				if got := wsRecv(t, r.rejects, "OnReject"); got != tc.why {
					t.Errorf("OnReject(%q), want %q", got, tc.why)
				}
				wsNone(t, r.connects, "OnConnect")
				if n := r.hub.Connections(); n != 0 {
					t.Errorf("%d connections after a refusal", n)
				}
				return
			}
			wsRecv(t, r.connects, "OnConnect")
			c.subscribe(t, `{"subscribe":["alerts"]}`, `{"subscribed":["alerts"]}`)
			_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wsWait))
			if got := r.disconnected(t); got != collector.DisconnectNormal {
				t.Errorf("disconnect reason %q, want normal", got)
			}
		})
	}
}

func TestWSNotAnUpgrade(t *testing.T) {
	r := newWSRig(t, nil)
	req, err := http.NewRequest(http.MethodGet, r.srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer good")
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body errorBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("decode error body: %v", err)
	}
	if resp.StatusCode != http.StatusBadRequest || body.ErrorType != ErrorBadData {
		t.Errorf("got %d %+v, want 400 bad_data", resp.StatusCode, body)
	}
}

func TestWSBroadcastTopics(t *testing.T) {
	r := newWSRig(t, nil)
	alerts, points, idle := r.mustDial(t), r.mustDial(t), r.mustDial(t)
	alerts.subscribe(t, `{"subscribe":["alerts"]}`, `{"subscribed":["alerts"]}`)
	points.subscribe(t, `{"subscribe":["points","alerts"]}`, `{"subscribed":["alerts","points"]}`)
	points.subscribe(t, `{"unsubscribe":["alerts"]}`, `{"subscribed":["points"]}`)

	if err := r.hub.Broadcast("alerts", map[string]any{"name": "HighLatency"}); err != nil {
		t.Fatal(err)
	}
	if err := r.hub.Broadcast("points", []float64{1, 2.5}); err != nil {
		t.Fatal(err)
	}
	if got, want := alerts.next(t), `{"topic":"alerts","data":{"name":"HighLatency"}}`; got != want {
		t.Errorf("alerts client got %s, want %s", got, want)
	}
	// Each connection's messages keep their order, so the first one the
	// points client sees shows it was not sent the alert.
	if got, want := points.next(t), `{"topic":"points","data":[1,2.5]}`; got != want {
		t.Errorf("points client got %s, want %s", got, want)
	}
	// The idle client's acknowledgement is the first thing it receives.
	idle.subscribe(t, `{"subscribe":[]}`, `{"subscribed":[]}`)
	if err := r.hub.Broadcast("points", func() {}); err == nil {
		t.Error("Broadcast of an unencodable payload succeeded")
	}
}

func TestWSClientMessages(t *testing.T) {
	r := newWSRig(t, nil)
	c := r.mustDial(t)
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	}
	manyJSON, _ := json.Marshal(map[string][]string{"subscribe": many})
	for _, ignored := range []string{
		`not json`,
		`{"hello":"world"}`,
		`{"subscribe":"alerts"}`,
		`[1,2,3]`,
		`null`,
		strings.Repeat(" ", DefaultWSMaxMessageBytes), // at the limit: kept open
	} {
		c.send(t, ignored)
	}
	c.subscribe(t, `{"subscribe":["", "`+strings.Repeat("t", 65)+`", "ok"]}`, `{"subscribed":["ok"]}`)
	c.send(t, string(manyJSON))
	var ack wsAck
	if err := json.Unmarshal([]byte(c.next(t)), &ack); err != nil || len(ack.Subscribed) != wsMaxTopics {
		t.Errorf("after 41 topics: %d subscribed (%v), want the cap %d", len(ack.Subscribed), err, wsMaxTopics)
	}
	wsNone(t, r.disconnects, "OnDisconnect")
}

func TestWSDisconnectReasons(t *testing.T) {
	r := newWSRig(t, nil)
	closeWith := func(code int) func(*wsClient) error {
		return func(c *wsClient) error {
			return c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(wsWait))
		}
	}
	for _, tc := range []struct {
		name     string
		end      func(*wsClient) error
		want     string
		wantCode int // the close code the client reads; 0: not checked
	}{
		{"normal close", closeWith(websocket.CloseNormalClosure), collector.DisconnectNormal, websocket.CloseNormalClosure},
		{"going away", closeWith(websocket.CloseGoingAway), collector.DisconnectNormal, websocket.CloseGoingAway},
		{"protocol error", closeWith(websocket.CloseProtocolError), collector.DisconnectError, 0},
		{"socket dropped", func(c *wsClient) error { return c.conn.NetConn().Close() }, collector.DisconnectError, 0},
		{"message too big", func(c *wsClient) error {
			return c.conn.WriteMessage(websocket.TextMessage, make([]byte, DefaultWSMaxMessageBytes+1))
		}, collector.DisconnectPolicy, websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := r.mustDial(t)
			if err := tc.end(c); err != nil {
				t.Fatal(err)
			}
			if got := r.disconnected(t); got != tc.want {
				t.Errorf("reason %q, want %q", got, tc.want)
			}
			if code := c.closeCode(t); tc.wantCode != 0 && code != tc.wantCode {
				t.Errorf("client read close code %d, want %d", code, tc.wantCode)
			}
		})
	}
	if n := r.hub.Connections(); n != 0 {
		t.Errorf("%d connections left", n)
	}
}

func TestWSPerIPCap(t *testing.T) {
	r := newWSRig(t, nil)
	clients := make([]*wsClient, DefaultWSMaxPerIP)
	for i := range clients {
		clients[i] = r.mustDial(t)
	}
	if _, code := r.dial(t, "good", ""); code != http.StatusTooManyRequests {
		t.Fatalf("connection %d: status %d, want 429", DefaultWSMaxPerIP+1, code)
	}
	if got := wsRecv(t, r.rejects, "OnReject"); got != WSRejectTooMany {
		t.Errorf("OnReject(%q), want too_many", got)
	}
	if n := r.hub.Connections(); n != DefaultWSMaxPerIP {
		t.Errorf("%d connections, want %d", n, DefaultWSMaxPerIP)
	}
	_ = clients[0].conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wsWait))
	r.disconnected(t)
	r.mustDial(t)
}

func TestWSPerIPCapConcurrent(t *testing.T) {
	const limit, tries = 5, 16
	r := newWSRig(t, func(o *WSOptions) { o.MaxPerIP = limit })
	codes := make(chan int, tries)
	var wg sync.WaitGroup
	for range tries {
		wg.Go(func() {
			_, code := r.dial(t, "good", "")
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for code := range codes {
		count[code]++
	}
	if count[http.StatusSwitchingProtocols] != limit || count[http.StatusTooManyRequests] != tries-limit {
		t.Errorf("statuses %v, want %d×101 and %d×429", count, limit, tries-limit)
	}
}

func TestWSSessionExpiry(t *testing.T) {
	r := newWSRig(t, func(o *WSOptions) { o.PingInterval = 20 * time.Millisecond })
	c := r.mustDial(t)
	c.subscribe(t, `{"subscribe":["alerts"]}`, `{"subscribed":["alerts"]}`)
	r.clock.Add(time.Hour)
	var ce *websocket.CloseError
	if err := c.ended(t); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation || ce.Text != "session expired" {
		t.Errorf("client read %v, want close 1008 session expired", err)
	}
	if got := r.disconnected(t); got != collector.DisconnectPolicy {
		t.Errorf("reason %q, want policy", got)
	}
}

func TestWSPingTimeout(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer bool
	}{
		{"answers pings", true},
		{"ignores pings", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newWSRig(t, func(o *WSOptions) { o.PingInterval = 25 * time.Millisecond })
			conn, resp, err := (&websocket.Dialer{}).Dial(r.url, http.Header{"Authorization": {"Bearer good"}})
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			pings := make(chan struct{}, 64)
			conn.SetPingHandler(func(data string) error {
				pings <- struct{}{}
				if !tc.answer {
					return nil
				}
				return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(wsWait))
			})
			c := startWSClient(t, conn)
			wsRecv(t, r.connects, "OnConnect")
			if !tc.answer {
				if got := r.disconnected(t); got != collector.DisconnectTimeout {
					t.Errorf("reason %q, want timeout", got)
				}
				c.ended(t)
				return
			}
			// Six pings span three pong deadlines.
			for range 6 {
				wsRecv(t, pings, "ping")
			}
			wsNone(t, r.disconnects, "OnDisconnect")
		})
	}
}

func TestWSSlowClientDropped(t *testing.T) {
	r := newWSRig(t, nil)
	conn, resp, err := (&websocket.Dialer{}).Dial(r.url, http.Header{"Authorization": {"Bearer good"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = conn.Close() })
	wsRecv(t, r.connects, "OnConnect")
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["points"]}`)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.ReadMessage(); err != nil { // the acknowledgement
		t.Fatal(err)
	}
	// The client reads nothing more: the socket buffers fill, then the
	// hub's buffer, and the client is dropped while Broadcast goes on.
	payload := strings.Repeat("x", 64<<10)
	deadline := time.Now().Add(wsWait)
	for r.hub.Connections() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("slow client still connected")
		}
		if err := r.hub.Broadcast("points", payload); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.disconnected(t); got != collector.DisconnectPolicy {
		t.Errorf("reason %q, want policy", got)
	}
}

func TestWSClose(t *testing.T) {
	r := newWSRig(t, nil)
	clients := []*wsClient{r.mustDial(t), r.mustDial(t), r.mustDial(t)}
	if err := r.hub.Close(); err != nil {
		t.Fatal(err)
	}
	for i, c := range clients {
		if code := c.closeCode(t); code != websocket.CloseGoingAway {
			t.Errorf("client %d: close code %d, want 1001", i, code)
		}
		if got := r.disconnected(t); got != collector.DisconnectNormal {
			t.Errorf("reason %q, want normal", got)
		}
	}
	if err := r.hub.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := r.hub.Broadcast("alerts", 1); !errors.Is(err, ErrHubClosed) {
		t.Errorf("Broadcast after Close: %v, want ErrHubClosed", err)
	}
	if _, code := r.dial(t, "good", ""); code != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: status %d, want 503", code)
	}
	if n := r.hub.Connections(); n != 0 {
		t.Errorf("%d connections after Close", n)
	}
}

func TestWSOptionsValidate(t *testing.T) {
	auth := func(*http.Request) (WSSession, bool) { return WSSession{}, false }
	f := func(o WSOptions, wantErr bool) {
		t.Helper()
		if err := o.Validate(); (err != nil) != wantErr {
			t.Errorf("Validate(%+v) = %v, want error %v", o, err, wantErr)
		}
	}
	f(WSOptions{Authenticate: auth}, false)
	f(WSOptions{}, true)
	f(WSOptions{Authenticate: auth, MaxPerIP: -1}, true)
	f(WSOptions{Authenticate: auth, MaxMessageBytes: -1}, true)
	f(WSOptions{Authenticate: auth, PingInterval: -time.Second}, true)
}

func TestWSNoAuthenticateRefusesAll(t *testing.T) {
	r := newWSRig(t, func(o *WSOptions) { o.Authenticate = nil })
	if _, code := r.dial(t, "good", ""); code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", code)
	}
}

func BenchmarkBroadcast100(b *testing.B) {
	const n = 100
	r := newWSRig(b, func(o *WSOptions) { o.MaxPerIP = n })
	got := make(chan struct{}, n)
	for range n {
		c := r.mustDial(b)
		c.subscribe(b, `{"subscribe":["points"]}`, `{"subscribed":["points"]}`)
		go func() {
			for {
				select {
				case <-c.msgs:
					got <- struct{}{}
				case <-c.done:
					return
				}
			}
		}()
	}
	payload := map[string]any{"series": "http_requests_total", "t": 1762000000000, "v": 42.5}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := r.hub.Broadcast("points", payload); err != nil {
			b.Fatal(err)
		}
		for range n {
			<-got
		}
	}
}
