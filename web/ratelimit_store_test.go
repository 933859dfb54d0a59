package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/ulule/limiter/v3"
)

func TestMemoryRateStoreSweep(t *testing.T) {
	s := newMemoryRateStore(time.Millisecond, 10)
	short := limiter.Rate{Period: time.Millisecond, Limit: 5}
	long := limiter.Rate{Period: time.Minute, Limit: 5}
	ctx := t.Context()
	if _, err := s.Get(ctx, "gone", short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // past the counter's window and the sweep interval
	lc, err := s.Get(ctx, "kept", long)
	if err != nil || lc.Remaining != 4 || lc.Reached {
		t.Fatalf("Get = %+v, %v", lc, err)
	}
	if _, ok := s.cache.Load("gone"); ok {
		t.Error("expired counter not swept")
	}
	if _, ok := s.cache.Load("kept"); !ok {
		t.Error("live counter swept")
	}
	if n := s.len(); n != 1 {
		t.Errorf("len = %d, want 1", n)
	}
}

func TestMemoryRateStoreFull(t *testing.T) {
	const window = 200 * time.Millisecond
	s := newMemoryRateStore(window, 2)
	rate := limiter.Rate{Period: window, Limit: 3}
	ctx := t.Context()
	get := func(key string) limiter.Context {
		t.Helper()
		lc, err := s.Get(ctx, key, rate)
		if err != nil {
			t.Fatal(err)
		}
		return lc
	}
	get("a")
	get("a")
	get("b")
	// Full: newcomers share the overflow counter; a and b keep theirs.
	for i, want := range []int64{2, 1, 0} {
		if lc := get(fmt.Sprint("new", i)); lc.Remaining != want || lc.Reached {
			t.Errorf("newcomer %d: %+v, want %d remaining", i, lc, want)
		}
	}
	if lc := get("new9"); !lc.Reached {
		t.Errorf("fourth newcomer: %+v, want the shared overflow counter reached", lc)
	}
	if lc := get("a"); lc.Remaining != 0 || lc.Reached {
		t.Errorf("a after the flood: %+v, want its own count, 0 remaining", lc)
	}
	if n := s.len(); n != 2 {
		t.Errorf("len = %d, want 2", n)
	}
	// Once a and b expire, the next newcomer's sweep finds room for it.
	time.Sleep(window + window/fullSweeps + 5*time.Millisecond)
	if lc := get("later"); lc.Remaining != 2 {
		t.Errorf("newcomer after expiry: %+v, want a counter of its own", lc)
	}
	if _, ok := s.cache.Load("later"); !ok || s.len() != 1 {
		t.Errorf("after the sweep: later stored %v, len %d; want it alone", ok, s.len())
	}
}

// TestRateLimitMemoryBounded floods the limiter with new IPv6 /64s and
// garbage tokens: memory stays within MaxCounters a budget, and no one
// counted before the flood gets a fresh budget or loses theirs.
func TestRateLimitMemoryBounded(t *testing.T) {
	const maxCounters = 100
	rl := newTestLimiter(t, RateLimitOptions{APIPerMinute: 3, UserPerMinute: 5, MaxCounters: maxCounters})
	e := limitedEngine(t, rl, nil)
	spend(t, e, 3, "GET", apiPath, ipA)                    // ipA has spent its budget
	spend(t, e, 1, "GET", apiPath, ipB, as("user:ana")...) // ana has 4 left
	passed := 0
	for i := range 10_000 {
		peer := fmt.Sprintf("[2001:db8:%x:%x::1]:1000", i>>16, i&0xffff)
		if hit(e, "GET", apiPath, peer).Code == http.StatusNoContent {
			passed++
		}
		hit(e, "GET", apiPath, "203.0.113.9:1000", "Authorization", fmt.Sprintf("Bearer atz_%d", i))
	}
	// 97 /64s got counters of their own (ipA and 203.0.113.9 hold two), 3
	// more passed on the shared overflow counter.
	if want := maxCounters - 2 + 3; passed != want {
		t.Errorf("%d flood requests passed, want %d", passed, want)
	}
	for i, s := range rl.stores {
		if n := s.len(); n > maxCounters {
			t.Errorf("store %d holds %d counters, more than %d", i, n, maxCounters)
		}
	}
	checkLimited(t, hit(e, "GET", apiPath, ipA), 3)        // not reset by the flood
	spend(t, e, 4, "GET", apiPath, ipA, as("user:ana")...) // nor taken from ana
	checkLimited(t, hit(e, "GET", apiPath, ipB, as("user:ana")...), 5)
}
