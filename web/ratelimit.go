package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	limredis "github.com/ulule/limiter/v3/drivers/store/redis"
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

// Default requests per minute per client for each class.
const (
	DefaultRateLimitAPI    = 100
	DefaultRateLimitAuth   = 20
	DefaultRateLimitIngest = 6000
)

const (
	// ratePeriod is the window every class counts over.
	ratePeriod = time.Minute
	// rateKeyPrefix namespaces the counters in a shared Redis.
	rateKeyPrefix = "atroz_ratelimit"
	// ipv6ClientBits is the prefix an IPv6 client is counted by: one
	// subscriber usually holds a whole /64, and counting single addresses
	// would give them 2^64 buckets.
	ipv6ClientBits = 64
)

// RateLimitOptions configures a RateLimiter. Zero fields mean the default.
type RateLimitOptions struct {
	// APIPerMinute is the api class's requests per minute per client. Default 100.
	APIPerMinute int64
	// AuthPerMinute is the auth class's requests per minute per client. Default 20.
	AuthPerMinute int64
	// IngestPerMinute is the ingest class's requests per minute per client.
	// Default 6000.
	IngestPerMinute int64
	// RedisURL (redis://, rediss:// or unix://) keeps the counters in Redis,
	// shared by every AtroZ behind the same load balancer. Empty keeps them
	// in this process's memory.
	RedisURL string
	// OnLimited, when set, is called for each request refused with 429.
	OnLimited func(c *gin.Context, class string)
	// Logger receives store failures; nil discards them. A request whose
	// count cannot be read is let through, so a Redis outage does not take
	// the API down with it.
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
	} {
		if f.n < 0 {
			return fmt.Errorf("rate limit: %s must not be negative, got %d", f.name, f.n)
		}
	}
	return nil
}

// RateLimiter counts requests per client IP and class and refuses those over
// the class's limit.
type RateLimiter struct {
	classes   map[string]*limiter.Limiter
	onLimited func(*gin.Context, string)
	log       *slog.Logger
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
	store, closeFn, err := newRateStore(o.RedisURL)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &RateLimiter{classes: map[string]*limiter.Limiter{}, onLimited: o.OnLimited, log: log, closeFn: closeFn}
	for class, n := range map[string]int64{
		RateClassAPI:    orDefaultInt(o.APIPerMinute, DefaultRateLimitAPI),
		RateClassAuth:   orDefaultInt(o.AuthPerMinute, DefaultRateLimitAuth),
		RateClassIngest: orDefaultInt(o.IngestPerMinute, DefaultRateLimitIngest),
	} {
		r.classes[class] = limiter.New(store, limiter.Rate{Period: ratePeriod, Limit: n})
	}
	return r, nil
}

// Close closes the Redis connections; the memory store needs no closing.
// It may be called more than once.
func (r *RateLimiter) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.closeFn() })
	return r.closeErr
}

// Middleware counts each request against class for its client IP
// (c.ClientIP(), so X-Forwarded-For counts only from trusted proxies). It sets
// RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset (seconds) on every
// answer and refuses a request over the limit with 429 and Retry-After. An
// unknown class answers 500, so a wiring mistake shows on the first request.
func (r *RateLimiter) Middleware(class string) gin.HandlerFunc {
	lim, ok := r.classes[class]
	if !ok {
		return func(c *gin.Context) {
			abortWithError(c, http.StatusInternalServerError, ErrorInternal, fmt.Errorf("rate limit class %q is not configured", class))
		}
	}
	return func(c *gin.Context) {
		lc, err := lim.Get(c.Request.Context(), class+":"+rateKey(c.ClientIP()))
		if err != nil {
			r.log.LogAttrs(c.Request.Context(), slog.LevelWarn, "rate limit store failed; request let through",
				slog.String("event_type", "security"), slog.String("class", class), slog.String("error", err.Error()))
			c.Next()
			return
		}
		reset := strconv.FormatInt(secondsUntil(lc.Reset), 10)
		h := c.Writer.Header()
		h.Set("RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
		h.Set("RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
		h.Set("RateLimit-Reset", reset)
		if lc.Reached {
			r.refuse(c, class, lc.Limit, reset)
			return
		}
		c.Next()
	}
}

// refuse answers 429 to a client over class's limit.
func (r *RateLimiter) refuse(c *gin.Context, class string, limit int64, reset string) {
	c.Header("Retry-After", reset)
	if r.onLimited != nil {
		r.onLimited(c, class)
	}
	abortWithError(c, http.StatusTooManyRequests, ErrorRateLimited,
		fmt.Errorf("rate limit of %d requests per minute exceeded; retry after %s s", limit, reset))
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

// newRateStore returns the Redis store when redisURL is set, the memory
// store otherwise, and the function that releases it.
func newRateStore(redisURL string) (limiter.Store, func() error, error) {
	if redisURL == "" {
		return newMemoryRateStore(ratePeriod), func() error { return nil }, nil
	}
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		// url.Error quotes the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("rate limit: RedisURL: %w", err)
	}
	client := redis.NewClient(opt)
	s, err := limredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: rateKeyPrefix})
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("rate limit: redis store at %s: %w", opt.Addr, err)
	}
	return s, client.Close, nil
}

// memoryRateStore is limiter's in-memory counter cache, swept of expired
// counters by the request that finds a sweep due. The library's own store
// sweeps from a goroutine that stops only when the garbage collector
// finalises the store; this one starts none, so it needs no closing.
type memoryRateStore struct {
	cache    *memory.CacheWrapper
	interval time.Duration
	next     atomic.Int64 // Unix nanoseconds of the next sweep
}

// newMemoryRateStore returns a store whose expired counters are dropped
// every interval.
func newMemoryRateStore(interval time.Duration) *memoryRateStore {
	s := &memoryRateStore{cache: memory.NewCache(0), interval: interval}
	s.next.Store(time.Now().Add(interval).UnixNano())
	return s
}

// sweepIfDue drops expired counters when a sweep is due. Of the requests
// that find it due, one sweeps; sync.Map's Range takes no global lock, so
// the others go on counting meanwhile.
func (s *memoryRateStore) sweepIfDue(now time.Time) {
	next := s.next.Load()
	if now.UnixNano() < next || !s.next.CompareAndSwap(next, now.Add(s.interval).UnixNano()) {
		return
	}
	s.cache.Clean()
}

// Get increments key's counter and returns its state.
func (s *memoryRateStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.Increment(ctx, key, 1, rate)
}

// Peek returns key's state without counting.
func (s *memoryRateStore) Peek(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	n, exp := s.cache.Get(key, rate.Period)
	return common.GetContextFromState(time.Now(), rate, exp, n), nil
}

// Reset sets key's counter to zero.
func (s *memoryRateStore) Reset(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	n, exp := s.cache.Reset(key, rate.Period)
	return common.GetContextFromState(time.Now(), rate, exp, n), nil
}

// Increment adds count to key's counter and returns its state.
func (s *memoryRateStore) Increment(_ context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	now := time.Now()
	s.sweepIfDue(now)
	n, exp := s.cache.Increment(key, count, rate.Period)
	return common.GetContextFromState(now, rate, exp, n), nil
}
