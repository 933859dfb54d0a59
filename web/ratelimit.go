package web

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gin-gonic/gin"
	"github.com/ulule/limiter/v3"

	"atroz/auth"
)

// ErrorRateLimited is the error type of a 429 answer to a client over its
// rate limit.
const ErrorRateLimited ErrorType = "rate_limited"

// The rate limit classes a route may belong to.
const (
	// RateClassAPI is the dashboard and query API.
	RateClassAPI = "api"
	// RateClassAuth is login, refresh and logout: low, against password guessing.
	RateClassAuth = "auth"
	// RateClassIngest is beacons and ingest, which browsers and services
	// send in bursts.
	RateClassIngest = "ingest"
)

// Default requests per minute of each budget.
const (
	// DefaultRateLimitAPI is an anonymous client IP's on the API.
	DefaultRateLimitAPI = 100
	// DefaultRateLimitAuth is a client IP's on logins.
	DefaultRateLimitAuth = 20
	// DefaultRateLimitIngest is an anonymous client IP's on beacons and ingest.
	DefaultRateLimitIngest = 6000
	// DefaultRateLimitUser is a user's, or a token's, on the API: 100 a
	// second. One person switching the overview's range every second (18
	// calls each) is 1,080 a minute and a Grafana dashboard of 30 panels
	// refreshing every 5 s about 500 with its label lookups, so five such
	// people on one account, or a dozen viewers behind one Grafana token,
	// fit, while a runaway script is still stopped.
	DefaultRateLimitUser = 6000
	// DefaultRateLimitIngestToken is an ingest token's on beacons and
	// ingest: 20,000 a second, twice the reliability suite's 10,000
	// beacons a second plus its 20 batches.
	DefaultRateLimitIngestToken = 1_200_000
	// DefaultRateLimitMaxCounters is how many client counters each budget
	// keeps in memory at most, besides a tenth as many network-prefix
	// counters and one overflow counter: about 200 bytes each, key
	// included, so 11 MB a budget.
	DefaultRateLimitMaxCounters = 50_000
)

const (
	// ratePeriod is the default window every budget counts over.
	ratePeriod = time.Minute
	// storeFailureLogEvery is how often a failing Redis is logged at most.
	storeFailureLogEvery = time.Minute
	// storeRetryAfter is how long requests are counted in memory after
	// Redis failed, before it is asked again.
	storeRetryAfter = time.Second
	// ipv6ClientBits is the prefix an IPv6 client is counted by: one
	// subscriber usually holds a whole /64, and counting single addresses
	// would give them 2^64 buckets.
	ipv6ClientBits = 64
)

// RateLimitOptions configures a RateLimiter. Zero fields mean the default.
//
// Each request is charged to one budget, chosen by its route's class and
// its principal: an anonymous request is counted per client IP (per /64 for
// IPv6), a user or token per name. Logins are always counted per IP, and so
// are beacons and ingest but for tokens with the ingest scope. A request
// whose Authorization header was refused is charged to its IP's anonymous
// API budget whatever its route, so guessing tokens is as slow as the
// anonymous API allows.
type RateLimitOptions struct {
	// APIPerMinute is an anonymous client IP's API requests per minute.
	// Default 100.
	APIPerMinute int64
	// AuthPerMinute is a client IP's login, refresh and logout requests per
	// minute, whoever it is. Default 20.
	AuthPerMinute int64
	// IngestPerMinute is the beacons and ingest requests per minute of a
	// client IP without an ingest token, browsers' beacons above all.
	// Default 6000.
	IngestPerMinute int64
	// UserPerMinute is each user's, and each token's, API requests per
	// minute, wherever they come from. Default 6000, sized for dashboards
	// and Grafana.
	UserPerMinute int64
	// IngestTokenPerMinute is each ingest token's beacons and ingest
	// requests per minute, wherever they come from. Default 1,200,000,
	// sized for pipelines and load tests.
	IngestTokenPerMinute int64
	// Window is the period every budget counts over; a budget of n a minute
	// allows n×Window/1m (rounded up) per window. Default one minute;
	// between a second and a minute.
	Window time.Duration
	// MaxCounters bounds the memory store: each of the five budgets keeps at
	// most this many client counters, MaxCounters/10 network-prefix
	// counters and one overflow counter, about 200 bytes each. A client
	// address whose counter would be one more is counted under its /24
	// (IPv4) or /48 (IPv6), whose counter allows 16 times the budget for
	// the clients that share it; when the prefix counters are full too, and
	// for a user or token name, the request is charged to the budget's one
	// overflow counter at the budget itself. So a flood from one /48 fills
	// the client counters and that /48's counter, and clients of other
	// prefixes still get counters of their own. Room comes back as expired
	// counters are swept; no live counter is evicted, so a flood neither
	// grows memory nor resets anyone's count, and users and tokens, whose
	// budgets only valid credentials can enter, are not touched by it. A
	// full store is logged once a window. Default 50,000 (about 11 MB a
	// budget). Redis ignores it: there each principal active in the last
	// window holds one key, expiring with the window, and Redis' maxmemory
	// is the bound.
	MaxCounters int64
	// RedisURL (redis://, rediss:// or unix://) keeps the counters in Redis,
	// shared by every AtroZ behind the same load balancer. Empty keeps them
	// in this process's memory.
	RedisURL string
	// OnLimited, when set, is called for each request refused with 429.
	OnLimited func(c *gin.Context, class string)
	// Logger receives Redis failures, at most once a minute, and, once a
	// window, a memory store's filling up; nil discards them. A request
	// whose count Redis cannot give is counted in this process's memory
	// instead, in a store bounded like the one used without Redis, and
	// counted in rate_limit_store_fallbacks_total: while Redis is down each
	// replica enforces every budget on its own, so logins still meet their
	// limit and the API stays up.
	Logger *slog.Logger
}

// Validate reports the first option that is out of range.
func (o RateLimitOptions) Validate() error {
	for _, f := range []struct {
		name string
		n    int64
	}{
		{"APIPerMinute", o.APIPerMinute},
		{"AuthPerMinute", o.AuthPerMinute},
		{"IngestPerMinute", o.IngestPerMinute},
		{"UserPerMinute", o.UserPerMinute},
		{"IngestTokenPerMinute", o.IngestTokenPerMinute},
		{"MaxCounters", o.MaxCounters},
	} {
		if f.n < 0 {
			return fmt.Errorf("rate limit: %s must not be negative, got %d", f.name, f.n)
		}
	}
	if o.Window != 0 && (o.Window < time.Second || o.Window > time.Minute) {
		return fmt.Errorf("rate limit: Window must be between 1s and 1m, got %s", o.Window)
	}
	return nil
}

// budget is one limit and its counters.
type budget struct {
	lim *limiter.Limiter
	// fallback counts in memory when lim's Redis fails; nil without Redis.
	fallback *limiter.Limiter
	// perMinute is the limit as configured, for messages.
	perMinute int64
}

// classBudgets are the budgets a class charges each kind of principal to;
// nil charges that kind per client IP like an anonymous request.
type classBudgets struct {
	class       string
	anonymous   *budget
	user, token *budget
	// tokenNeeds is the scope a token needs to be charged to token; one
	// without it is counted per client IP. Zero admits every token.
	tokenNeeds auth.Scope
	// badCredentials is the anonymous API budget, charged for credentials
	// that identified no one; nil for logins, whose own budget is lower.
	badCredentials *budget
}

// RateLimiter counts requests per principal and class and refuses those
// over their budget.
type RateLimiter struct {
	classes   map[string]*classBudgets
	stores    []*memoryRateStore // one a budget: its own, or its fallback under Redis
	onLimited func(*gin.Context, string)
	log       *slog.Logger
	fallbacks atomic.Uint64 // requests counted in memory because Redis failed
	failLog   atomic.Int64  // Unix nanoseconds of the last Redis failure logged
	down      atomic.Int64  // Unix nanoseconds until which Redis is not asked again
	closeOnce sync.Once
	closeErr  error
	closeFn   func() error
}

// NewRateLimiter builds a RateLimiter from o, connecting to Redis when
// o.RedisURL is set. Close releases it.
func NewRateLimiter(o RateLimitOptions) (*RateLimiter, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &RateLimiter{onLimited: o.OnLimited, log: o.Logger, closeFn: func() error { return nil }}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	newBudget, err := r.budgetMaker(o)
	if err != nil {
		return nil, err
	}
	api := newBudget("api", cmp.Or(o.APIPerMinute, DefaultRateLimitAPI))
	user := newBudget("user", cmp.Or(o.UserPerMinute, DefaultRateLimitUser))
	r.classes = map[string]*classBudgets{
		RateClassAPI:  {class: RateClassAPI, anonymous: api, user: user, token: user, badCredentials: api},
		RateClassAuth: {class: RateClassAuth, anonymous: newBudget("auth", cmp.Or(o.AuthPerMinute, DefaultRateLimitAuth))},
		RateClassIngest: {class: RateClassIngest, anonymous: newBudget("ingest", cmp.Or(o.IngestPerMinute, DefaultRateLimitIngest)),
			token: newBudget("ingest_token", cmp.Or(o.IngestTokenPerMinute, DefaultRateLimitIngestToken)), tokenNeeds: auth.ScopeIngest, badCredentials: api},
	}
	return r, nil
}

// budgetMaker returns what makes the budget name of n a minute: over the
// Redis of o.RedisURL, shared by every budget, or over a memory store of its
// own.
func (r *RateLimiter) budgetMaker(o RateLimitOptions) (func(name string, perMinute int64) *budget, error) {
	window := cmp.Or(o.Window, ratePeriod)
	store := func(name string) limiter.Store {
		s := newMemoryRateStore(name, window, cmp.Or(o.MaxCounters, DefaultRateLimitMaxCounters), r.log)
		r.stores = append(r.stores, s)
		return s
	}
	newLimiters := func(name string, rate limiter.Rate) (*limiter.Limiter, *limiter.Limiter) {
		return limiter.New(store(name), rate), nil
	}
	if o.RedisURL != "" {
		s, closeFn, err := newRedisRateStore(o.RedisURL)
		if err != nil {
			return nil, err
		}
		r.closeFn = closeFn
		newLimiters = func(name string, rate limiter.Rate) (*limiter.Limiter, *limiter.Limiter) {
			return limiter.New(s, rate), limiter.New(store(name), rate)
		}
	}
	return func(name string, perMinute int64) *budget {
		lim, fallback := newLimiters(name, limiter.Rate{Period: window, Limit: perWindow(perMinute, window)})
		return &budget{lim: lim, fallback: fallback, perMinute: perMinute}
	}, nil
}

// perWindow is the limit per window of a budget of n a minute, at least 1.
func perWindow(n int64, window time.Duration) int64 {
	if window == time.Minute {
		return n
	}
	return max(1, int64(math.Ceil(float64(n)*window.Seconds()/60)))
}

// Close closes the Redis connections; the memory store needs no closing.
// It may be called more than once.
func (r *RateLimiter) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.closeFn() })
	return r.closeErr
}

// Middleware charges each request to the budget of class for its principal
// (see RateLimitOptions): a user's or token's by name, an anonymous one's
// by client IP (c.ClientIP(), so X-Forwarded-For counts only from trusted
// proxies). It sets RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset (seconds) on every answer and refuses a request over the
// limit with 429 and Retry-After. An unknown class answers 500, so a wiring
// mistake shows on the first request.
func (r *RateLimiter) Middleware(class string) gin.HandlerFunc {
	cb, ok := r.classes[class]
	if !ok {
		return func(c *gin.Context) {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("rate limit class %q is not configured", class))
		}
	}
	return func(c *gin.Context) {
		b, key, who := cb.charge(c)
		lc, err := r.count(c.Request.Context(), class, b, key)
		if err != nil {
			abortWithError(c, http.StatusServiceUnavailable, ErrorUnavailable, err)
			return
		}
		reset := strconv.FormatInt(secondsUntil(lc.Reset), 10)
		h := c.Writer.Header()
		h.Set("RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
		h.Set("RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
		h.Set("RateLimit-Reset", reset)
		if lc.Reached {
			r.refuse(c, class, b, lc, who, reset)
			return
		}
		c.Next()
	}
}

// count charges key to budget b and returns its state. When Redis fails,
// the request is counted by b's memory fallback instead, so that a Redis
// outage neither lets logins through unlimited nor takes the API down, and
// Redis is not asked again for storeRetryAfter, so that requests do not
// each wait out the client's retries meanwhile. The failure is logged at
// most once a minute; every fallback is counted.
func (r *RateLimiter) count(ctx context.Context, class string, b *budget, key string) (limiter.Context, error) {
	if b.fallback == nil {
		lc, err := b.lim.Get(ctx, key)
		if err != nil {
			return lc, fmt.Errorf("rate limit store: %w", err)
		}
		return lc, nil
	}
	if time.Now().UnixNano() >= r.down.Load() {
		lc, err := b.lim.Get(ctx, key)
		if err == nil {
			return lc, nil
		}
		r.storeFailed(ctx, class, err)
	}
	r.fallbacks.Add(1)
	return b.fallback.Get(ctx, key)
}

// storeFailed keeps Redis unasked for storeRetryAfter and logs err, at most
// once every storeFailureLogEvery.
func (r *RateLimiter) storeFailed(ctx context.Context, class string, err error) {
	now := time.Now().UnixNano()
	r.down.Store(now + int64(storeRetryAfter))
	if last := r.failLog.Load(); (last != 0 && now-last < int64(storeFailureLogEvery)) || !r.failLog.CompareAndSwap(last, now) {
		return
	}
	r.log.LogAttrs(ctx, slog.LevelWarn, "rate limit store failed; counting in memory", slog.String("event_type", "security"),
		slog.String("class", class), slog.String("error", err.Error()), slog.Uint64("fallbacks_total", r.fallbacks.Load()))
}

// Fallbacks returns how many requests were counted in memory because the
// Redis store failed.
func (r *RateLimiter) Fallbacks() uint64 { return r.fallbacks.Load() }

// WriteMetrics writes rate_limit_store_fallbacks_total in the Prometheus
// text format.
func (r *RateLimiter) WriteMetrics(w io.Writer) {
	metrics.WriteCounterUint64(w, "rate_limit_store_fallbacks_total", r.Fallbacks())
}

// charge returns the budget the request is charged to, its counter's key
// (class:kind:name, so a user named like an address never shares an
// address's counter) and who it counts, for the refusal's message.
func (cb *classBudgets) charge(c *gin.Context) (*budget, string, string) {
	p := principalOf(c)
	switch {
	case p.kind == principalUser && cb.user != nil:
		return cb.user, cb.class + ":user:" + p.name, "user " + p.name
	case p.kind == principalToken && cb.token != nil && (cb.tokenNeeds == 0 || p.has(cb.tokenNeeds)):
		return cb.token, cb.class + ":token:" + p.name, "token " + p.name
	}
	ip := rateKey(c.ClientIP())
	// Only a refused Authorization header counts as guessing: a stale
	// session cookie is a browser that has not logged in again yet.
	if p.refused != nil && cb.badCredentials != nil && c.GetHeader("Authorization") != "" {
		return cb.badCredentials, RateClassAPI + ":ip:" + ip, "client " + ip + " (credentials not accepted)"
	}
	return cb.anonymous, cb.class + ":ip:" + ip, "client " + ip
}

// refuse answers 429 to a request over its budget.
func (r *RateLimiter) refuse(c *gin.Context, class string, b *budget, lc limiter.Context, who, reset string) {
	c.Header("Retry-After", reset)
	if r.onLimited != nil {
		r.onLimited(c, class)
	}
	perMinute := b.perMinute
	if lc.Limit > b.lim.Rate.Limit { // a full store counted it by its network prefix
		perMinute *= prefixShare
		who += "'s network prefix"
	}
	abortWithError(c, http.StatusTooManyRequests, ErrorRateLimited,
		fmt.Errorf("rate limit of %d requests per minute exceeded for %s; retry after %s s", perMinute, who, reset))
}

// secondsUntil is the whole seconds until the Unix time reset, at least 1:
// the store rounds the window's end down to the second.
func secondsUntil(reset int64) int64 {
	return max(reset-time.Now().Unix(), 1)
}

// rateKey is the bucket of a client address: the address itself for IPv4,
// its /64 for IPv6.
func rateKey(ip string) string {
	if !strings.Contains(ip, ":") {
		return ip // IPv4, or not an address: the key is the text
	}
	parsed := net.ParseIP(ip)
	if parsed == nil || parsed.To4() != nil {
		return ip
	}
	return parsed.Mask(net.CIDRMask(ipv6ClientBits, 128)).String()
}

// orDefaultInt returns n, or def when n is zero.
func orDefaultInt(n, def int64) int64 {
	if n == 0 {
		return def
	}
	return n
}
