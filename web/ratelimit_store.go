package web

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/common"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	limredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

const (
	// rateKeyPrefix namespaces the counters in a shared Redis.
	rateKeyPrefix = "atroz_ratelimit"
	// overflowKey is the counter a full memory store charges new keys to.
	// Real keys are class:kind:name, so no principal can be called this.
	overflowKey = "overflow"
	// fullSweeps is how many times a window a full store may sweep, so that
	// room freed by expired counters is found soon after a flood ends.
	fullSweeps = 8
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

// memoryRateStore is limiter's in-memory counter cache holding at most max
// counters. A key that finds it full is charged to one shared overflow
// counter instead; no live counter is ever evicted, so a flood of new keys
// neither grows memory nor hands anyone a fresh count. Expired counters are
// swept by the request that finds a sweep due, every window, or eight times
// a window while the store is full. The library's own store sweeps from a
// goroutine that stops only when the garbage collector finalises the store;
// this one starts none, so it needs no closing.
type memoryRateStore struct {
	cache  *memory.CacheWrapper
	window time.Duration
	max    int64
	live   atomic.Int64 // counters in the cache, the overflow counter aside
	swept  atomic.Int64 // Unix nanoseconds of the last sweep
}

// newMemoryRateStore returns a store of at most max counters whose expired
// counters are dropped every window.
func newMemoryRateStore(window time.Duration, max int64) *memoryRateStore {
	s := &memoryRateStore{cache: memory.NewCache(0), window: window, max: max}
	s.swept.Store(time.Now().UnixNano())
	return s
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
	if _, ok := s.cache.Load(key); ok && key != overflowKey {
		s.live.Add(-1)
	}
	n, exp := s.cache.Reset(key, rate.Period)
	return common.GetContextFromState(time.Now(), rate, exp, n), nil
}

// Increment adds count to key's counter, or to the overflow counter when
// key has none and the store is full, and returns its state.
func (s *memoryRateStore) Increment(_ context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	now := time.Now()
	s.sweepIfDue(now, s.window)
	ctr, ok := s.cache.Load(key)
	if !ok {
		ctr = s.add(key, now)
	}
	n, exp := ctr.Increment(count, now.Add(rate.Period).UnixNano())
	return common.GetContextFromState(now, rate, time.Unix(0, exp), n), nil
}

// add returns key's new counter, or the overflow counter when the store
// already holds max counters.
func (s *memoryRateStore) add(key string, now time.Time) *memory.Counter {
	if !s.reserve() {
		s.sweepIfDue(now, s.window/fullSweeps)
		if !s.reserve() {
			key = overflowKey
		}
	}
	// A zero counter counts as expired: its first Increment starts a window.
	ctr, loaded := s.cache.LoadOrStore(key, new(memory.Counter))
	if loaded && key != overflowKey {
		s.live.Add(-1) // another request added it meanwhile
	}
	return ctr
}

// reserve takes room for one more counter, or reports that there is none.
func (s *memoryRateStore) reserve() bool {
	if s.live.Add(1) > s.max {
		s.live.Add(-1)
		return false
	}
	return true
}

// sweepIfDue drops expired counters when the last sweep is every ago. Of
// the requests that find it due, one sweeps; sync.Map's Range takes no
// global lock, so the others go on counting meanwhile.
func (s *memoryRateStore) sweepIfDue(now time.Time, every time.Duration) {
	last := s.swept.Load()
	if now.UnixNano()-last < int64(every) || !s.swept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	s.cache.Range(func(key string, ctr *memory.Counter) {
		if !ctr.Expired() {
			return
		}
		s.cache.Delete(key)
		if key != overflowKey {
			s.live.Add(-1)
		}
	})
}

// len is the number of counters the store holds, the overflow counter aside.
func (s *memoryRateStore) len() int64 { return s.live.Load() }
