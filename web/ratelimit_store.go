package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"
	limredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

const (
	// rateKeyPrefix namespaces the counters in a shared Redis.
	rateKeyPrefix = "atroz_ratelimit"
	// fullSweeps is how many times a window a full store may sweep, so that
	// room freed by expired counters is found soon after a flood ends.
	fullSweeps = 8
	// prefixShare is how many clients' budgets a network prefix's shared
	// counter holds. It is no gift to an attacker: one who can fill the
	// client counters holds a /48 of 65,536 /64s, or 50,000 IPv4 addresses,
	// each with a full budget of its own until then. It lets a dozen or so
	// clients behind one /24 or /48, an office or a site, log in and send
	// beacons while a flood lasts. A client alone in its prefix gets at most
	// 16 times its budget, and only while the client counters are full.
	prefixShare = 16
	// prefixCountersDivisor sizes the prefix counters: a tenth of the client
	// counters, 5,000 by default, so filling them takes 5,000 /48s or /24s.
	prefixCountersDivisor = 10
	// ipv4PrefixBits and ipv6PrefixBits are the prefixes a client without a
	// counter of its own is counted by: a site's /24 or /48.
	ipv4PrefixBits = 24
	ipv6PrefixBits = 48
)

// newRedisRateStore connects to the Redis at redisURL and returns its store
// and the function that releases it.
func newRedisRateStore(redisURL string) (limiter.Store, func() error, error) {
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

// memoryRateStore holds a budget's counters in memory, bounded three-fold.
// Each key (class:kind:name) gets a counter of its own while there are
// fewer than max. A client address that finds them full is counted under
// its network prefix (class:net:<IPv4 /24 or IPv6 /48>), against
// prefixShare times the budget, while there are fewer than
// max/prefixCountersDivisor prefix counters; a key that finds those full
// too, or that is no address (a user's, a token's), is charged to one
// overflow counter at the budget itself. So a flood from one /48 fills the
// client counters and its own prefix's counter and nothing more: clients of
// other prefixes still get counters. No live counter is ever evicted, so a
// flood neither grows memory nor hands anyone a fresh count.
//
// A budget thus holds at most max + max/10 + 1 counters of about 200 bytes
// (BenchmarkMemoryRateStoreNewKey), 11 MB at the default 50,000.
//
// Expired counters are swept by the request that finds a sweep due, every
// window, or eight times a window while the store is full. The library's
// memory store sweeps from a goroutine that stops only when the garbage
// collector finalises it, and checks a counter's expiry apart from deleting
// it, so a request that loaded the counter in between counts on an orphan;
// this one starts no goroutine, and its counters are dropped under their own
// lock, so a request never counts on a dropped one.
type memoryRateStore struct {
	clients  counterMap
	prefixes counterMap
	overflow rateCounter
	window   time.Duration
	name     string
	log      *slog.Logger
	now      func() time.Time
	swept    atomic.Int64    // Unix nanoseconds of the last sweep
	logged   [2]atomic.Int64 // Unix nanoseconds of the last "full" log, clients and prefixes
}

// newMemoryRateStore returns the store of budget name with at most
// maxCounters client counters, whose expired counters are dropped every
// window, and which logs to log when full.
func newMemoryRateStore(name string, window time.Duration, maxCounters int64, log *slog.Logger) *memoryRateStore {
	s := &memoryRateStore{
		clients:  counterMap{max: maxCounters},
		prefixes: counterMap{max: max(1, maxCounters/prefixCountersDivisor)},
		window:   window, name: name, log: log, now: time.Now,
	}
	s.swept.Store(s.now().UnixNano())
	return s
}

// Get increments key's counter and returns its state.
func (s *memoryRateStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return s.Increment(ctx, key, 1, rate)
}

// Peek returns the state of key's own counter without counting; a key
// without one is at zero.
func (s *memoryRateStore) Peek(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	now := s.now()
	n, exp := int64(0), now.Add(rate.Period).UnixNano()
	if c, ok := s.clients.load(key); ok {
		n, exp = c.load(now.UnixNano(), exp)
	}
	return common.GetContextFromState(now, rate, time.Unix(0, exp), n), nil
}

// Reset drops key's own counter, so that it counts from zero.
func (s *memoryRateStore) Reset(_ context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	s.clients.drop(key)
	now := s.now()
	return common.GetContextFromState(now, rate, now.Add(rate.Period), 0), nil
}

// Increment adds count to the counter key is charged to and returns its
// state, at the limit of the counter: rate's, or prefixShare times it for a
// prefix's.
func (s *memoryRateStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	now := s.now()
	s.sweepIfDue(now, s.window)
	for {
		ctr, r := s.counter(ctx, key, rate, now)
		if n, exp, ok := ctr.add(count, now.UnixNano(), int64(r.Period)); ok {
			return common.GetContextFromState(now, r, time.Unix(0, exp), n), nil
		}
		// The sweep dropped the counter after we loaded it: take its successor.
	}
}

// counter returns the counter key is charged to and its rate.
func (s *memoryRateStore) counter(ctx context.Context, key string, rate limiter.Rate, now time.Time) (*rateCounter, limiter.Rate) {
	if c, ok := s.clients.load(key); ok {
		return c, rate
	}
	if c, ok := s.clients.loadOrAdd(key); ok {
		return c, rate
	}
	s.sweepIfDue(now, s.window/fullSweeps)
	if c, ok := s.clients.loadOrAdd(key); ok {
		return c, rate
	}
	s.logFull(ctx, now, 0, "rate limit counters full; new clients counted by network prefix")
	if wide, ok := prefixKey(key); ok {
		if c, ok := s.prefixes.loadOrAdd(wide); ok {
			rate.Limit *= prefixShare
			return c, rate
		}
		s.logFull(ctx, now, 1, "rate limit prefix counters full; new clients share one overflow counter")
	}
	return &s.overflow, rate
}

// logFull logs msg as counters i's filling, at most once a window.
func (s *memoryRateStore) logFull(ctx context.Context, now time.Time, i int, msg string) {
	last := s.logged[i].Load()
	if (last != 0 && now.UnixNano()-last < int64(s.window)) || !s.logged[i].CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.log.LogAttrs(ctx, slog.LevelWarn, msg, slog.String("event_type", "security"), slog.String("budget", s.name),
		slog.Int64("client_counters", s.clients.max), slog.Int64("prefix_counters", s.prefixes.max))
}

// sweepIfDue drops expired counters when the last sweep is every ago. Of
// the requests that find it due, one sweeps; sync.Map's Range takes no
// global lock, so the others go on counting meanwhile.
func (s *memoryRateStore) sweepIfDue(now time.Time, every time.Duration) {
	last := s.swept.Load()
	if now.UnixNano()-last < int64(every) || !s.swept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.clients.sweep(now.UnixNano())
	s.prefixes.sweep(now.UnixNano())
}

// len is the number of client counters the store holds.
func (s *memoryRateStore) len() int64 { return s.clients.live.Load() }

// prefixKey is the key of the network prefix of an address's key
// (class:ip:addr): class:net:prefix, by ipv4PrefixBits or ipv6PrefixBits.
// Keys of users and tokens, and addresses that do not parse, have none.
func prefixKey(key string) (string, bool) {
	class, addr, ok := strings.Cut(key, ":ip:")
	if !ok || strings.Contains(class, ":") {
		return "", false
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	bits := ipv4PrefixBits
	if a.Is6() {
		bits = ipv6PrefixBits
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return "", false
	}
	return class + ":net:" + p.String(), true
}

// counterMap is a map of at most max counters.
type counterMap struct {
	m    sync.Map // string → *rateCounter
	max  int64
	live atomic.Int64
}

// load returns key's counter.
func (m *counterMap) load(key string) (*rateCounter, bool) {
	v, ok := m.m.Load(key)
	if !ok {
		return nil, false
	}
	return v.(*rateCounter), true
}

// loadOrAdd returns key's counter, adding one when there is room, or
// reports that there is none.
func (m *counterMap) loadOrAdd(key string) (*rateCounter, bool) {
	if c, ok := m.load(key); ok {
		return c, true
	}
	if m.live.Add(1) > m.max {
		m.live.Add(-1)
		return nil, false
	}
	v, loaded := m.m.LoadOrStore(key, new(rateCounter))
	if loaded {
		m.live.Add(-1) // another request added it meanwhile
	}
	return v.(*rateCounter), true
}

// drop removes key's counter.
func (m *counterMap) drop(key string) {
	if v, ok := m.m.LoadAndDelete(key); ok {
		v.(*rateCounter).drop()
		m.live.Add(-1)
	}
}

// sweep removes the counters expired at now. A counter is marked dropped
// under its lock and removed only if it is still the key's, so a request
// that counted on it first keeps it, and one that loads it after counts on
// a new one.
func (m *counterMap) sweep(now int64) {
	m.m.Range(func(k, v any) bool {
		c := v.(*rateCounter)
		if c.dropIfExpired(now) && m.m.CompareAndDelete(k, c) {
			m.live.Add(-1)
		}
		return true
	})
}

// rateCounter counts requests over a window. It stands in for limiter's
// memory.Counter, whose lock is not exported, so that a sweep can find it
// expired and drop it in one step.
type rateCounter struct {
	mu      sync.Mutex
	n       int64
	exp     int64 // Unix nanoseconds the window ends; zero before the first count
	dropped bool
}

// add counts n at now, starting a window of period when the last one is
// over, and returns the count and the window's end; ok is false when the
// counter was dropped, and then nothing is counted.
func (c *rateCounter) add(n, now, period int64) (count, exp int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped {
		return 0, 0, false
	}
	if now > c.exp {
		c.n, c.exp = 0, now+period
	}
	c.n += n
	return c.n, c.exp, true
}

// load returns the count and the window's end at now, or zero and exp when
// the window is over.
func (c *rateCounter) load(now, exp int64) (int64, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped || now > c.exp {
		return 0, exp
	}
	return c.n, c.exp
}

// dropIfExpired marks the counter dropped when its window is over at now,
// and reports whether it did.
func (c *rateCounter) dropIfExpired(now int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dropped || now <= c.exp {
		return false
	}
	c.dropped = true
	return true
}

// drop marks the counter dropped.
func (c *rateCounter) drop() {
	c.mu.Lock()
	c.dropped = true
	c.mu.Unlock()
}
