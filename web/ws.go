package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/websocket"
	"github.com/olahol/melody"

	"atroz/collector"
)

// Default values for WSOptions fields left zero.
const (
	DefaultWSMaxPerIP        = 10
	DefaultWSMaxMessageBytes = 4096
	DefaultWSPingInterval    = 30 * time.Second
)

// Reasons a WebSocket upgrade is refused, passed to WSOptions.OnReject.
const (
	WSRejectNoSession     = "no_session"
	WSRejectForeignOrigin = "foreign_origin"
	WSRejectTooMany       = "too_many"
)

// ErrHubClosed is returned by Hub.Broadcast after Hub.Close.
var ErrHubClosed = errors.New("websocket hub closed")

const (
	// wsBufferedMessages is how many messages may wait for one connection;
	// a client that falls this far behind is disconnected.
	wsBufferedMessages = 256
	// wsWriteWait bounds one write to a client.
	wsWriteWait = 10 * time.Second
	// wsMaxTopics and wsMaxTopicBytes bound what one connection may
	// subscribe to, so subscriptions cannot grow the server's memory.
	wsMaxTopics     = 32
	wsMaxTopicBytes = 64
	// wsStateKey is the melody session key holding the connection's *wsConn.
	wsStateKey = "atroz.ws"
)

// WSSession is who a connection belongs to, as the server's auth decided.
type WSSession struct {
	User, Role string
	// Expires is when the connection is closed with 1008 "session expired";
	// zero means never.
	Expires time.Time
	// Valid reports whether the session still stands (its user not
	// removed, its role and password unchanged, no logout); Hub.Recheck
	// closes the connections whose session no longer does with 1008
	// "session ended". Nil means always.
	Valid func() bool
}

// WSOptions configures a Hub. Zero fields mean the documented default.
type WSOptions struct {
	// Authenticate checks the upgrade request's session (cookie or bearer);
	// ok false, or a session already expired, is answered 401 before
	// upgrading. Nil refuses every upgrade.
	Authenticate func(r *http.Request) (WSSession, bool)
	// AllowOrigin reports whether a browser Origin may connect. The server's
	// own origin (scheme://Host of the request) and an absent Origin
	// (non-browser clients) are always allowed; others get 403. Nil allows
	// no other origin.
	AllowOrigin func(origin string) bool
	// MaxPerIP bounds concurrent connections per client IP (gin's
	// ClientIP); one more gets 429. Default 10.
	MaxPerIP int
	// MaxMessageBytes bounds a client→server message; a larger one closes
	// the connection (1009, reason policy). Default 4096.
	MaxMessageBytes int64
	// PingInterval is how often the hub pings each client and checks
	// session expiry; a client that has not answered for 2×PingInterval is
	// dropped (reason timeout). Default 30s.
	PingInterval time.Duration
	// OnConnect is called for every accepted connection (the collector's
	// WebSocketConnected).
	OnConnect func()
	// OnDisconnect is called once for every connection that ended, with a
	// collector.Disconnect* reason and how long it lasted (the collector's
	// WebSocketDisconnected).
	OnDisconnect func(reason string, d time.Duration)
	// OnReject is called for every refused upgrade with a WSReject* reason,
	// for security events.
	OnReject func(c *gin.Context, why string)
	// Now is the clock for session expiry and connection durations.
	// Default time.Now.
	Now func() time.Time
	// Logger receives connection and refusal events. Default: discarded.
	Logger *slog.Logger
}

// Validate reports the first field that is out of range.
func (o WSOptions) Validate() error {
	switch {
	case o.Authenticate == nil:
		return errors.New("websocket options: Authenticate is required")
	case o.MaxPerIP < 0:
		return fmt.Errorf("websocket options: MaxPerIP must not be negative, got %d", o.MaxPerIP)
	case o.MaxMessageBytes < 0:
		return fmt.Errorf("websocket options: MaxMessageBytes must not be negative, got %d", o.MaxMessageBytes)
	case o.PingInterval < 0:
		return fmt.Errorf("websocket options: PingInterval must not be negative, got %s", o.PingInterval)
	}
	return nil
}

// withDefaults returns o with zero fields set to their defaults.
func (o WSOptions) withDefaults() WSOptions {
	if o.MaxPerIP <= 0 {
		o.MaxPerIP = DefaultWSMaxPerIP
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultWSMaxMessageBytes
	}
	if o.PingInterval <= 0 {
		o.PingInterval = DefaultWSPingInterval
	}
	if o.OnConnect == nil {
		o.OnConnect = func() {}
	}
	if o.OnDisconnect == nil {
		o.OnDisconnect = func(string, time.Duration) {}
	}
	if o.OnReject == nil {
		o.OnReject = func(*gin.Context, string) {}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Hub pushes live updates to authenticated browsers over WebSocket. Clients
// send {"subscribe":["alerts","points"]} (or "unsubscribe") and get back
// {"subscribed":[...]}, their whole topic set; Broadcast then sends them
// {"topic":...,"data":...} for those topics. Other messages are ignored.
//
// Broadcast never blocks: each connection has a buffer of 256 messages, and
// a client that lets it fill is disconnected at once, without a close frame,
// with reason policy.
type Hub struct {
	o     WSOptions
	m     *melody.Melody
	conns sync.WaitGroup // one per admitted request, done when its handler returns
	stop  chan struct{}
	swept chan struct{}

	mu     sync.Mutex
	perIP  map[string]int
	closed bool
}

// NewHub returns a Hub configured by o. It starts the expiry sweep; Close
// stops it.
func NewHub(o WSOptions) *Hub {
	h := &Hub{
		o:     o.withDefaults(),
		m:     melody.New(),
		stop:  make(chan struct{}),
		swept: make(chan struct{}),
		perIP: map[string]int{},
	}
	h.configure()
	go h.sweep()
	return h
}

// configure sets melody's limits and handlers from h.o.
func (h *Hub) configure() {
	cfg := h.m.Config
	cfg.PingPeriod = h.o.PingInterval
	cfg.PongWait = 2 * h.o.PingInterval
	cfg.WriteWait = min(wsWriteWait, cfg.PongWait)
	cfg.MaxMessageSize = h.o.MaxMessageBytes
	cfg.MessageBufferSize = wsBufferedMessages
	// melody's default accepts every origin; the handler refuses foreign
	// ones with a JSON 403 first, this is the same rule as a backstop.
	h.m.Upgrader.CheckOrigin = func(r *http.Request) bool {
		origin := r.Header.Get("Origin")
		return origin == "" || h.originAllowed(r, origin)
	}
	h.m.Upgrader.EnableCompression = false
	h.m.HandleConnect(h.connected)
	h.m.HandleDisconnect(h.disconnected)
	h.m.HandleError(h.failed)
	h.m.HandleMessage(h.received)
}

// Handler upgrades GET /ws requests that pass the origin, session and
// per-IP checks, and serves the connection until it ends.
func (h *Hub) Handler() gin.HandlerFunc {
	return func(c *gin.Context) {
		st, ok := h.admit(c)
		if !ok {
			return
		}
		defer h.conns.Done()
		defer st.release()
		err := h.m.HandleRequestWithKeys(c.Writer, c.Request, map[string]any{wsStateKey: st})
		if err != nil {
			h.upgradeFailed(c, err)
		}
	}
}

// admit runs the checks before the upgrade, answering the request when one
// fails. The origin comes first so a foreign page learns nothing about its
// visitor's session.
func (h *Hub) admit(c *gin.Context) (*wsConn, bool) {
	r := c.Request
	if origin := r.Header.Get("Origin"); origin != "" && !h.originAllowed(r, origin) {
		h.reject(c, http.StatusForbidden, ErrorForbidden, WSRejectForeignOrigin, fmt.Errorf("origin %q may not open a websocket", origin))
		return nil, false
	}
	sess, ok := h.authenticate(r)
	if !ok {
		h.reject(c, http.StatusUnauthorized, ErrorUnauthorized, WSRejectNoSession, errors.New("websocket needs a valid session"))
		return nil, false
	}
	if !websocket.IsWebSocketUpgrade(r) {
		abortWithError(c, http.StatusBadRequest, ErrorBadData, errors.New("not a websocket upgrade request"))
		return nil, false
	}
	return h.reserve(c, sess)
}

// authenticate returns the request's session when it has one that has not
// expired.
func (h *Hub) authenticate(r *http.Request) (WSSession, bool) {
	if h.o.Authenticate == nil {
		return WSSession{}, false
	}
	s, ok := h.o.Authenticate(r)
	if !ok || s.expired(h.o.Now()) {
		return WSSession{}, false
	}
	return s, true
}

// expired reports whether s has an expiry and now is past it.
func (s WSSession) expired(now time.Time) bool {
	return !s.Expires.IsZero() && !now.Before(s.Expires)
}

// reserve takes one of the client IP's connection slots, counted until the
// connection ends, and answers 429 when none is left.
func (h *Hub) reserve(c *gin.Context, sess WSSession) (*wsConn, bool) {
	ip := c.ClientIP()
	closed, full := h.take(ip)
	switch {
	case closed:
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, ErrHubClosed)
		return nil, false
	case full:
		h.reject(c, http.StatusTooManyRequests, ErrorRateLimited, WSRejectTooMany, fmt.Errorf("more than %d websockets from one address", h.o.MaxPerIP))
		return nil, false
	}
	st := &wsConn{session: sess, start: h.o.Now(), topics: map[string]struct{}{}}
	st.release = sync.OnceFunc(func() { h.give(ip) })
	return st, true
}

// take counts one more connection from ip unless the hub is closed or ip is
// at its cap. The WaitGroup is added under the same lock that Close sets
// closed with, so Close never waits on a group still growing.
func (h *Hub) take(ip string) (closed, full bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return true, false
	}
	if h.perIP[ip] >= h.o.MaxPerIP {
		return false, true
	}
	h.perIP[ip]++
	h.conns.Add(1)
	return false, false
}

// give returns one of ip's connection slots.
func (h *Hub) give(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.perIP[ip]--
	if h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
}

// reject answers a refused upgrade and reports it as a security event.
func (h *Hub) reject(c *gin.Context, code int, typ ErrorType, why string, err error) {
	abortWithError(c, code, typ, err)
	h.o.OnReject(c, why)
	h.o.Logger.LogAttrs(c.Request.Context(), slog.LevelWarn, "websocket refused",
		slog.String("event_type", "security"),
		slog.String("kind", why),
		slog.Int("status", code),
		slog.String("request_id", c.GetString(ctxRequestID)))
}

// upgradeFailed answers a request melody did not upgrade. The upgrader has
// already answered a malformed handshake itself.
func (h *Hub) upgradeFailed(c *gin.Context, err error) {
	if errors.Is(err, melody.ErrClosed) && !c.Writer.Written() {
		abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, ErrHubClosed)
		return
	}
	h.o.Logger.LogAttrs(c.Request.Context(), slog.LevelDebug, "websocket upgrade failed",
		slog.String("event_type", "websocket"),
		slog.String("request_id", c.GetString(ctxRequestID)),
		slog.Any("error", err))
}

// originAllowed reports whether a browser on origin may connect.
func (h *Hub) originAllowed(r *http.Request, origin string) bool {
	return wsSameOrigin(r, origin) || (h.o.AllowOrigin != nil && h.o.AllowOrigin(origin))
}

// wsSameOrigin reports whether origin is the scheme://Host r was sent to.
// X-Forwarded-Proto is believed for the scheme: a page cannot set it on a
// WebSocket handshake, and a non-browser client can send any Origin anyway.
func wsSameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// connected counts an upgraded connection. One that slipped in while Close
// ran is closed at once; melody's read and write loops start only after
// this returns, so its reason is set before any error can arrive.
func (h *Hub) connected(s *melody.Session) {
	st := wsConnOf(s)
	h.o.OnConnect()
	h.o.Logger.LogAttrs(s.Request.Context(), slog.LevelDebug, "websocket connected",
		slog.String("event_type", "websocket"), slog.String("user", st.session.User))
	if h.isClosed() && st.setReason(collector.DisconnectNormal) {
		_ = s.CloseWithMsg(wsGoingAway)
	}
}

// disconnected frees the connection's slot before reporting it, so a client
// told of the end may reconnect at once.
func (h *Hub) disconnected(s *melody.Session) {
	st := wsConnOf(s)
	st.release()
	reason, d := st.endReason(), h.o.Now().Sub(st.start)
	h.o.OnDisconnect(reason, d)
	h.o.Logger.LogAttrs(s.Request.Context(), slog.LevelDebug, "websocket disconnected",
		slog.String("event_type", "websocket"), slog.String("user", st.session.User),
		slog.String("reason", reason), slog.Duration("duration", d))
}

// failed records why a connection is ending. A full buffer drops the
// client by closing its socket: a close frame would queue behind the very
// messages it is not reading, and melody calls this with its hub locked.
func (h *Hub) failed(s *melody.Session, err error) {
	st := wsConnOf(s)
	switch {
	case errors.Is(err, melody.ErrWriteClosed):
		return
	case errors.Is(err, melody.ErrMessageBufferFull):
		if st.setReason(collector.DisconnectPolicy) {
			h.o.Logger.LogAttrs(s.Request.Context(), slog.LevelWarn, "websocket client too slow, dropped",
				slog.String("event_type", "websocket"), slog.String("user", st.session.User))
		}
		_ = s.WebsocketConnection().Close()
		return
	}
	st.setReason(wsEndReason(err))
}

// wsEndReason maps the error that ended a connection to a disconnect reason.
func wsEndReason(err error) string {
	var ce *websocket.CloseError
	var ne interface{ Timeout() bool }
	switch {
	case errors.As(err, &ce):
		switch ce.Code {
		case websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived:
			return collector.DisconnectNormal
		}
	case errors.Is(err, websocket.ErrReadLimit):
		return collector.DisconnectPolicy
	case errors.As(err, &ne) && ne.Timeout():
		return collector.DisconnectTimeout
	}
	return collector.DisconnectError
}

// wsRequest is the one message shape clients send.
type wsRequest struct {
	Subscribe   []string `json:"subscribe"`
	Unsubscribe []string `json:"unsubscribe"`
}

// wsAck answers a wsRequest with the connection's topics.
type wsAck struct {
	Subscribed []string `json:"subscribed"`
}

// wsEnvelope is a message Broadcast sends.
type wsEnvelope struct {
	Topic string `json:"topic"`
	Data  any    `json:"data"`
}

// received applies a subscription request and acknowledges it; anything
// else is ignored.
func (h *Hub) received(s *melody.Session, msg []byte) {
	var req wsRequest
	if json.Unmarshal(msg, &req) != nil || (req.Subscribe == nil && req.Unsubscribe == nil) {
		return
	}
	ack, err := json.Marshal(wsAck{Subscribed: wsConnOf(s).update(req)})
	if err == nil {
		_ = s.Write(ack)
	}
}

// Broadcast sends {"topic":topic,"data":payload} to every connection
// subscribed to topic. It does not wait for slow clients.
func (h *Hub) Broadcast(topic string, payload any) error {
	if h.isClosed() {
		return fmt.Errorf("broadcast %q: %w", topic, ErrHubClosed)
	}
	msg, err := json.Marshal(wsEnvelope{Topic: topic, Data: payload})
	if err != nil {
		return fmt.Errorf("broadcast %q: %w", topic, err)
	}
	err = h.m.BroadcastFilter(msg, func(s *melody.Session) bool { return wsConnOf(s).subscribed(topic) })
	if errors.Is(err, melody.ErrClosed) {
		return fmt.Errorf("broadcast %q: %w", topic, ErrHubClosed)
	}
	return err
}

// Connections returns the number of open connections.
func (h *Hub) Connections() int { return h.m.Len() }

// Watched reports whether any connection is subscribed to topic, so a
// publisher can skip work no one would receive.
func (h *Hub) Watched(topic string) bool {
	sessions, err := h.m.Sessions()
	if err != nil {
		return false
	}
	for _, sess := range sessions {
		if wsConnOf(sess).subscribed(topic) {
			return true
		}
	}
	return false
}

// wsGoingAway, wsExpired and wsEnded are the close frames the hub sends.
var (
	wsGoingAway = websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing")
	wsExpired   = websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "session expired")
	wsEnded     = websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "session ended")
)

// Recheck closes, with 1008 "session ended" and reason policy, every
// connection whose session is no longer valid. The server calls it after
// every change that may end sessions: a user removed, a role or password
// changed, a logout.
func (h *Hub) Recheck() {
	h.each(func(s *melody.Session, st *wsConn) {
		if st.session.Valid == nil || st.session.Valid() || !st.setReason(collector.DisconnectPolicy) {
			return
		}
		_ = s.CloseWithMsg(wsEnded)
		h.o.Logger.LogAttrs(s.Request.Context(), slog.LevelInfo, "websocket session ended",
			slog.String("event_type", "websocket"), slog.String("user", st.session.User))
	})
}

// Close closes every connection with 1001 going away, reason normal, and
// waits for their handlers to return. Later upgrades get 503. Calling it
// again does nothing.
func (h *Hub) Close() error {
	h.mu.Lock()
	was := h.closed
	h.closed = true
	h.mu.Unlock()
	if was {
		return nil
	}
	close(h.stop)
	<-h.swept
	h.each(func(s *melody.Session, st *wsConn) { st.setReason(collector.DisconnectNormal) })
	err := h.m.CloseWithMsg(wsGoingAway)
	h.conns.Wait()
	if err != nil {
		return fmt.Errorf("close websocket hub: %w", err)
	}
	return nil
}

// isClosed reports whether Close has been called.
func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}

// each calls fn for every open connection.
func (h *Hub) each(fn func(*melody.Session, *wsConn)) {
	sessions, err := h.m.Sessions()
	if err != nil {
		return
	}
	for _, s := range sessions {
		fn(s, wsConnOf(s))
	}
}

// sweep closes connections whose session expired, every PingInterval.
func (h *Hub) sweep() {
	defer close(h.swept)
	t := time.NewTicker(h.o.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.expire(h.o.Now())
		}
	}
}

// expire closes the connections whose session expired by now with 1008.
func (h *Hub) expire(now time.Time) {
	h.each(func(s *melody.Session, st *wsConn) {
		if !st.session.expired(now) || !st.setReason(collector.DisconnectPolicy) {
			return
		}
		_ = s.CloseWithMsg(wsExpired)
		h.o.Logger.LogAttrs(s.Request.Context(), slog.LevelInfo, "websocket session expired",
			slog.String("event_type", "websocket"), slog.String("user", st.session.User))
	})
}

// wsConn is the hub's state for one connection.
type wsConn struct {
	session WSSession
	start   time.Time
	release func() // frees the per-IP slot; safe to call more than once

	mu     sync.Mutex
	topics map[string]struct{}
	reason string
}

// wsConnOf returns s's state. Every session comes from Handler, which sets it.
func wsConnOf(s *melody.Session) *wsConn {
	st, _ := s.Get(wsStateKey)
	return st.(*wsConn)
}

// setReason records why the connection ends unless a reason was recorded
// first, and reports whether it did: the first cause wins over the errors
// that closing the socket then produces.
func (w *wsConn) setReason(reason string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reason != "" {
		return false
	}
	w.reason = reason
	return true
}

// endReason returns the recorded reason, or error when none was.
func (w *wsConn) endReason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reason == "" {
		return collector.DisconnectError
	}
	return w.reason
}

// subscribed reports whether the connection wants topic.
func (w *wsConn) subscribed(topic string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.topics[topic]
	return ok
}

// update applies req, ignoring empty or long topics and any past the cap,
// and returns the topics now subscribed, sorted.
func (w *wsConn) update(req wsRequest) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range req.Unsubscribe {
		delete(w.topics, t)
	}
	for _, t := range req.Subscribe {
		if t != "" && len(t) <= wsMaxTopicBytes && len(w.topics) < wsMaxTopics {
			w.topics[t] = struct{}{}
		}
	}
	topics := slices.AppendSeq(make([]string, 0, len(w.topics)), maps.Keys(w.topics))
	slices.Sort(topics)
	return topics
}
