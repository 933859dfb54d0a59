package web

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

// newClockedStore returns a store of budget "test" whose clock moves only
// when the returned function advances it.
func newClockedStore(window time.Duration, maxCounters int64, log *slog.Logger) (*memoryRateStore, func(time.Duration)) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := newMemoryRateStore("test", window, maxCounters, log)
	var now atomic.Int64
	now.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	s.now = func() time.Time { return time.Unix(0, now.Load()) }
	s.swept.Store(now.Load())
	return s, func(d time.Duration) { now.Add(int64(d)) }
}

// storeGet is s.Get that fails the test on an error.
func storeGet(t *testing.T, s *memoryRateStore, key string, rate limiter.Rate) limiter.Context {
	t.Helper()
	lc, err := s.Get(t.Context(), key, rate)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return lc
}

// peekCount is the count of key's own counter.
func peekCount(t *testing.T, s *memoryRateStore, key string, rate limiter.Rate) int64 {
	t.Helper()
	lc, err := s.Peek(t.Context(), key, rate)
	if err != nil {
		t.Fatal(err)
	}
	return rate.Limit - lc.Remaining
}

func TestMemoryRateStoreSweep(t *testing.T) {
	s, advance := newClockedStore(time.Minute, 10, nil)
	short := limiter.Rate{Period: time.Second, Limit: 5}
	long := limiter.Rate{Period: time.Hour, Limit: 5}
	storeGet(t, s, "gone", short)
	advance(time.Minute) // past gone's window and the sweep interval
	if lc := storeGet(t, s, "kept", long); lc.Remaining != 4 || lc.Reached {
		t.Fatalf("Get = %+v", lc)
	}
	if _, ok := s.clients.load("gone"); ok {
		t.Error("expired counter not swept")
	}
	if _, ok := s.clients.load("kept"); !ok {
		t.Error("live counter swept")
	}
	if n := s.len(); n != 1 {
		t.Errorf("len = %d, want 1", n)
	}
}

// TestMemoryRateStoreFull: keys that are no addresses (users, tokens) have
// no prefix, so a full store charges them straight to the overflow
// counter at the budget's own limit.
func TestMemoryRateStoreFull(t *testing.T) {
	const window = time.Minute
	s, advance := newClockedStore(window, 2, nil)
	rate := limiter.Rate{Period: window, Limit: 3}
	get := func(key string) limiter.Context { t.Helper(); return storeGet(t, s, key, rate) }
	get("api:user:a")
	get("api:user:a")
	get("api:user:b")
	for i, want := range []int64{2, 1, 0} {
		if lc := get(fmt.Sprint("api:user:new", i)); lc.Remaining != want || lc.Reached {
			t.Errorf("newcomer %d: %+v, want %d remaining", i, lc, want)
		}
	}
	if lc := get("api:user:new9"); !lc.Reached {
		t.Errorf("fourth newcomer: %+v, want the shared overflow counter reached", lc)
	}
	if lc := get("api:user:a"); lc.Remaining != 0 || lc.Reached {
		t.Errorf("a after the flood: %+v, want its own count, 0 remaining", lc)
	}
	if n, p := s.len(), s.prefixes.live.Load(); n != 2 || p != 0 {
		t.Errorf("%d client and %d prefix counters, want 2 and 0", n, p)
	}
	// Once a and b expire, the next newcomer's sweep finds room for it.
	advance(window + window/fullSweeps + time.Second)
	if lc := get("api:user:later"); lc.Remaining != 2 {
		t.Errorf("newcomer after expiry: %+v, want a counter of its own", lc)
	}
	if _, ok := s.clients.load("api:user:later"); !ok || s.len() != 1 {
		t.Errorf("after the sweep: later stored %v, len %d; want it alone", ok, s.len())
	}
}

// TestMemoryRateStorePrefixes fills the client counters from one /48 with
// many /64s: its further /64s share the /48's counter at prefixShare times
// the limit, and clients of other prefixes still get theirs. Once the
// prefix counters are full too, the rest share the overflow counter at the
// budget's own limit. Memory never exceeds the bounds, and each store's
// filling is logged once a window.
func TestMemoryRateStorePrefixes(t *testing.T) {
	const (
		window      = time.Minute
		maxCounters = 100
		limit       = 20
	)
	var logs bytes.Buffer
	s, advance := newClockedStore(window, maxCounters, slog.New(slog.NewTextHandler(&logs, nil)))
	rate := limiter.Rate{Period: window, Limit: limit}
	get := func(key string) limiter.Context { t.Helper(); return storeGet(t, s, key, rate) }
	attacker := func(i int) string { return fmt.Sprintf("auth:ip:2001:db8:aaaa:%x::", i) }

	// The attacker's /48 fills the client counters, then its /48's.
	for i := range maxCounters {
		get(attacker(i))
	}
	for i := range limit * prefixShare {
		if lc := get(attacker(maxCounters + i)); lc.Reached || lc.Limit != limit*prefixShare {
			t.Fatalf("attacker newcomer %d: %+v, want the /48's counter of %d", i, lc, limit*prefixShare)
		}
	}
	if lc := get(attacker(1 << 15)); !lc.Reached {
		t.Fatalf("attacker past its /48's budget: %+v, want refused", lc)
	}
	if _, ok := s.prefixes.load("auth:net:2001:db8:aaaa::/48"); !ok {
		t.Error("no counter for the attacker's /48")
	}

	// Clients of other prefixes, IPv6 and IPv4, get their prefix's full
	// budget; 198.51.100.7 and .8 share their /24's.
	for _, c := range []struct {
		key string
		n   int
	}{
		{"auth:ip:2001:db8:bbbb:1::", limit * prefixShare},
		{"auth:ip:198.51.100.7", limit * prefixShare / 2},
		{"auth:ip:198.51.100.8", limit * prefixShare / 2},
	} {
		for i := range c.n {
			if lc := get(c.key); lc.Reached {
				t.Fatalf("%s request %d refused: %+v", c.key, i+1, lc)
			}
		}
	}
	if lc := get("auth:ip:198.51.100.9"); !lc.Reached {
		t.Errorf("third client of a spent /24: %+v, want refused", lc)
	}

	// Fill the prefix counters: the rest share the overflow counter.
	for i := s.prefixes.live.Load(); i < s.prefixes.max; i++ {
		get(fmt.Sprintf("auth:ip:10.%d.%d.1", i>>8, i&0xff))
	}
	for i := range limit {
		if lc := get(fmt.Sprintf("auth:ip:2001:db8:cccc:%x::", i)); lc.Reached || lc.Limit != limit {
			t.Fatalf("overflow request %d: %+v, want the overflow counter of %d", i+1, lc, limit)
		}
	}
	if lc := get("auth:ip:203.0.113.1"); !lc.Reached {
		t.Errorf("past the overflow counter's budget: %+v, want refused", lc)
	}
	if lc := get(attacker(0)); lc.Remaining != limit-2 {
		t.Errorf("a client counted before the flood: %+v, want its own counter", lc)
	}

	if n, p := s.len(), s.prefixes.live.Load(); n != maxCounters || p != maxCounters/prefixCountersDivisor {
		t.Errorf("%d client and %d prefix counters, want %d and %d", n, p, maxCounters, maxCounters/prefixCountersDivisor)
	}
	out := logs.String()
	if strings.Count(out, "rate limit counters full") != 1 || strings.Count(out, "rate limit prefix counters full") != 1 || !strings.Contains(out, "budget=test") {
		t.Errorf("log = %q, want each store's filling once", out)
	}
	advance(window + time.Second)
	get("auth:ip:2001:db8:dddd::")
	if n := strings.Count(logs.String(), "rate limit counters full"); n != 1 {
		// The sweep freed every counter: nothing is full any more.
		t.Errorf("after the window: %d logs of full counters, want 1", n)
	}
	if n, p := s.len(), s.prefixes.live.Load(); n != 1 || p != 0 {
		t.Errorf("after the window: %d client and %d prefix counters, want 1 and 0", n, p)
	}
}

func TestPrefixKey(t *testing.T) {
	f := func(key, want string) {
		t.Helper()
		got, ok := prefixKey(key)
		if got != want || ok != (want != "") {
			t.Errorf("prefixKey(%q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	f("auth:ip:2001:db8:1:2::", "auth:net:2001:db8:1::/48")
	f("ingest:ip:192.0.2.77", "ingest:net:192.0.2.0/24")
	f("api:ip:::ffff:192.0.2.77", "api:net:192.0.2.0/24")
	f("api:ip:not-an-address", "")
	f("api:user:ip:192.0.2.1", "") // a user named like an address
	f("api:token:grafana", "")
}

// TestMemoryRateStoreSweepRace steps a request and a sweep through the
// interleaving that lost counts: the request loads an expired counter, the
// sweep drops it, the request counts. The count must land on the key's
// live counter. A request that counts first keeps its counter.
func TestMemoryRateStoreSweepRace(t *testing.T) {
	const window = time.Minute
	s, advance := newClockedStore(window, 10, nil)
	rate := limiter.Rate{Period: window, Limit: 100}
	storeGet(t, s, "k", rate)
	advance(2 * window)
	now := s.now().UnixNano()

	loaded, _ := s.clients.load("k") // the request, before the sweep
	s.clients.sweep(now)
	if _, _, ok := loaded.add(1, now, int64(window)); ok {
		t.Fatal("a swept counter took a count")
	}
	storeGet(t, s, "k", rate) // what Increment does on finding it dropped
	if n := peekCount(t, s, "k", rate); n != 1 {
		t.Errorf("count after the sweep = %d, want 1", n)
	}

	advance(2 * window)
	now = s.now().UnixNano()
	loaded, _ = s.clients.load("k")
	if _, _, ok := loaded.add(1, now, int64(window)); !ok {
		t.Fatal("a live counter refused a count")
	}
	s.clients.sweep(now)
	if n := peekCount(t, s, "k", rate); n != 1 || s.len() != 1 {
		t.Errorf("count after counting first = %d (%d counters), want 1 on the kept counter", n, s.len())
	}
}

// TestMemoryRateStoreSweepConcurrent counts from several goroutines on
// expired counters while others sweep: every count lands (run with -race).
func TestMemoryRateStoreSweepConcurrent(t *testing.T) {
	const (
		window  = time.Minute
		workers = 4
		each    = 200
	)
	s, advance := newClockedStore(window, 10, nil)
	rate := limiter.Rate{Period: window, Limit: 1 << 30}
	for round := range 20 {
		advance(2 * window) // every counter is expired
		now := s.now().UnixNano()
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					storeGet(t, s, "k", rate)
				}
			})
		}
		wg.Go(func() {
			for range each {
				s.clients.sweep(now)
			}
		})
		wg.Wait()
		if n := peekCount(t, s, "k", rate); n != workers*each {
			t.Fatalf("round %d: count = %d, want %d", round, n, workers*each)
		}
	}
}

// TestRateLimitMemoryBounded floods the limiter with new IPv6 /64s of one
// /48 and garbage tokens: memory stays within the bounds, the flood gets no
// more than the client counters plus its /48's, no one counted before it
// gets a fresh budget or loses theirs, a client of another prefix gets its
// whole budget, and users keep theirs.
func TestRateLimitMemoryBounded(t *testing.T) {
	const maxCounters = 100
	rl := newTestLimiter(t, RateLimitOptions{APIPerMinute: 3, UserPerMinute: 5, MaxCounters: maxCounters})
	e := limitedEngine(t, rl, nil)
	spend(t, e, 3, "GET", apiPath, ipA)                    // ipA has spent its budget
	spend(t, e, 1, "GET", apiPath, ipB, as("user:ana")...) // ana has 4 left
	passed := 0
	for i := range 10_000 {
		peer := fmt.Sprintf("[2001:db8:0:%x::1]:1000", i)
		if hit(e, "GET", apiPath, peer).Code == http.StatusNoContent {
			passed++
		}
		hit(e, "GET", apiPath, "203.0.113.9:1000", "Authorization", fmt.Sprintf("Bearer atz_%d", i))
	}
	// 98 /64s got counters of their own (ipA and 203.0.113.9 hold two), the
	// rest shared their /48's.
	if want := maxCounters - 2 + 3*prefixShare; passed != want {
		t.Errorf("%d flood requests passed, want %d", passed, want)
	}
	for i, s := range rl.stores {
		if n, p := s.len(), s.prefixes.live.Load(); n > maxCounters || p > maxCounters/prefixCountersDivisor {
			t.Errorf("store %d holds %d client and %d prefix counters, more than %d and %d", i, n, p, maxCounters, maxCounters/prefixCountersDivisor)
		}
	}
	checkLimited(t, hit(e, "GET", apiPath, ipA), 3)                 // not reset by the flood
	spend(t, e, 3*prefixShare, "GET", apiPath, "[2001:db8:1::1]:1") // another /48
	spend(t, e, 3*prefixShare, "GET", apiPath, "192.0.2.200:1")     // ipA's /24, no counter of its own
	w := hit(e, "GET", apiPath, "192.0.2.201:1")
	checkLimited(t, w, 3*prefixShare)
	if want := "rate limit of 48 requests per minute exceeded for client 192.0.2.201's network prefix"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("body = %s, want %q", w.Body, want)
	}
	spend(t, e, 4, "GET", apiPath, ipA, as("user:ana")...) // nor taken from ana
	checkLimited(t, hit(e, "GET", apiPath, ipB, as("user:ana")...), 5)
	spend(t, e, 5, "GET", apiPath, "[2001:db8:0:ffff::1]:1", as("user:bob")...) // a user from the flood's /48
}
