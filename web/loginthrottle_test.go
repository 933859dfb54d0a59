package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"atroz/auth"
)

// throttleClock is a settable clock for a loginThrottle.
type throttleClock struct {
	mu sync.Mutex
	t  time.Time
}

func newThrottleClock() *throttleClock { return &throttleClock{t: time.Unix(1_700_000_000, 0)} }

func (c *throttleClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *throttleClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestLoginThrottleAccountAttack replays the attack: 60 wrong passwords for
// one account from three addresses, then the right one from a fourth.
func TestLoginThrottleAccountAttack(t *testing.T) {
	is := newIngestServer(t, Config{Development: true, MetricsOnMain: true})
	clock := newThrottleClock()
	is.s.auth.throttle.now = clock.now
	const right = "the right password"
	if err := is.s.access.AddUser("ops", auth.RoleAdmin, right); err != nil {
		t.Fatal(err)
	}
	try := func(ip, name, password string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"`+name+`","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = ip + ":4242"
		return serveRec(is.s, req)
	}
	throttled := func(w *httptest.ResponseRecorder, retry string) {
		t.Helper()
		var body errorBody
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil { // one JSON object: no 401 written after it
			t.Fatalf("body %q: %v", w.Body, err)
		}
		want := "too many failed logins for this account; retry in " + retry + " s"
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != retry || body.Error != want || body.ErrorType != ErrorRateLimited {
			t.Fatalf("want 429 after %s s, got %d Retry-After %q %+v", retry, w.Code, w.Header().Get("Retry-After"), body)
		}
	}
	attackers := []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"}
	for i := range 60 {
		w := try(attackers[i%3], "ops", "guess "+strconv.Itoa(i))
		if i < loginFreeFailures {
			if w.Code != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d %s", i+1, w.Code, w.Body)
			}
			continue
		}
		throttled(w, "1")
	}
	// The right password inside the wait is refused like a wrong one: it is not checked.
	user := "203.0.113.4"
	throttled(try(user, "ops", right), "1")
	clock.add(time.Second)
	if w := try(user, "ops", right); w.Code != http.StatusOK {
		t.Fatalf("right password after the wait: %d %s", w.Code, w.Body)
	}
	// The success cleared the count.
	if n := is.s.auth.throttle.tracked(); n != 0 {
		t.Fatalf("%d names tracked after the success", n)
	}
	// An unknown name is counted and refused the same way.
	for range loginFreeFailures {
		if w := try(user, "nobody", "x"); w.Code != http.StatusUnauthorized {
			t.Fatalf("unknown name: %d", w.Code)
		}
	}
	throttled(try(user, "nobody", "x"), "1")
	m := is.metrics(t)
	if !strings.Contains(m, "login_throttled_total 57\n") || !strings.Contains(m, "login_throttle_names 1\n") || !strings.Contains(m, `security_events_total{kind="auth_failure"}`) {
		t.Fatalf("metrics:\n%s", grepLines(m, "login_throttle")+"\n"+grepLines(m, "security_events"))
	}
	if !strings.Contains(is.logs.String(), "too many failed logins for this account") {
		t.Fatal("a throttled login is not logged as a security event")
	}
}

// TestLoginThrottleDelays checks the waits double from a second after the
// free failures, stop at the cap, and allow fewer than ASVS 2.2.1's 100
// failures an hour to a guesser who retries the moment each wait ends.
func TestLoginThrottleDelays(t *testing.T) {
	clock := newThrottleClock()
	th := newLoginThrottle(clock.now)
	var waits []time.Duration
	admitted, start := 0, clock.now()
	for clock.now().Sub(start) < time.Hour {
		if wait := th.admit("ops"); wait > 0 {
			waits = append(waits, wait)
			clock.add(wait)
			continue
		}
		admitted++
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60}
	for i, w := range want {
		if waits[i] != w*time.Second {
			t.Fatalf("wait %d: %s, want %s (all %v)", i+1, waits[i], w*time.Second, waits[:len(want)])
		}
	}
	for _, w := range waits {
		if w > loginMaxDelay {
			t.Fatalf("a wait of %s passes the cap", w)
		}
	}
	if admitted > 100 || admitted < 60 {
		t.Fatalf("%d attempts admitted in an hour", admitted)
	}
	// The real user, however long the guessing went on, waits at most the cap.
	if wait := th.admit("ops"); wait > loginMaxDelay {
		t.Fatalf("user waits %s", wait)
	}
	clock.add(loginMaxDelay)
	if wait := th.admit("ops"); wait != 0 {
		t.Fatalf("user still waits %s after the cap", wait)
	}
	th.succeeded("ops")
	if wait := th.admit("ops"); wait != 0 || th.tracked() != 1 {
		t.Fatalf("after a success: wait %s, %d tracked", wait, th.tracked())
	}
}

func TestLoginThrottleQuietPeriodForgets(t *testing.T) {
	clock := newThrottleClock()
	th := newLoginThrottle(clock.now)
	for range loginFreeFailures {
		th.admit("ops")
	}
	if th.admit("ops") == 0 {
		t.Fatal("not throttled after the free failures")
	}
	clock.add(loginQuiet)
	for i := range loginFreeFailures {
		if wait := th.admit("ops"); wait != 0 {
			t.Fatalf("attempt %d after a quiet period waits %s", i+1, wait)
		}
	}
}

// TestLoginThrottleFloodOfNames sends failures for many random names: the
// table stays bounded and a throttled account stays throttled.
func TestLoginThrottleFloodOfNames(t *testing.T) {
	clock := newThrottleClock()
	th := newLoginThrottle(clock.now)
	for range loginFreeFailures {
		th.admit("ops")
	}
	for i := range 5 * loginMaxNames {
		if wait := th.admit("random-" + strconv.Itoa(i)); wait != 0 {
			t.Fatalf("new name %d waits %s", i, wait)
		}
		if i%1000 == 0 {
			clock.add(time.Second) // let full-table sweeps run; nothing is quiet yet
		}
	}
	if n := th.tracked(); n != loginMaxNames {
		t.Fatalf("%d names tracked, bound %d", n, loginMaxNames)
	}
	// The account kept its count: its wait (long over) admits one attempt,
	// and the next waits two seconds, not the free failures of a new count.
	if wait := th.admit("ops"); wait != 0 {
		t.Fatalf("throttled account waits %s", wait)
	}
	if wait := th.admit("ops"); wait != 2*time.Second {
		t.Fatalf("the flood reset the throttled account: it waits %s", wait)
	}
}

// TestLoginThrottleOverflow fills a small table with throttled names: the
// names left over share one count, throttled as one account, that no
// success clears; quiet names make room again.
func TestLoginThrottleOverflow(t *testing.T) {
	clock := newThrottleClock()
	th := newLoginThrottle(clock.now)
	th.maxNames = 4
	for i := range th.maxNames {
		for range loginFreeFailures {
			th.admit("held-" + strconv.Itoa(i))
		}
	}
	for i := range loginFreeFailures {
		if wait := th.admit("other-" + strconv.Itoa(i)); wait != 0 {
			t.Fatalf("overflow attempt %d waits %s", i+1, wait)
		}
	}
	if th.tracked() != th.maxNames || th.overflowed.Load() != loginFreeFailures {
		t.Fatalf("%d tracked, %d on the overflow", th.tracked(), th.overflowed.Load())
	}
	th.succeeded("other-0")
	if wait := th.admit("target"); wait != time.Second {
		t.Fatalf("an untracked name on a throttled overflow waits %s", wait)
	}
	if wait := th.admit("held-0"); wait != time.Second {
		t.Fatalf("a tracked name waits %s", wait)
	}
	clock.add(loginQuiet)
	if wait := th.admit("target"); wait != 0 || th.tracked() != 1 {
		t.Fatalf("after a quiet period: wait %s, %d tracked", wait, th.tracked())
	}
}

// TestLoginThrottleParallelGuesses sends guesses for one name at once: no
// more than the free failures are admitted.
func TestLoginThrottleParallelGuesses(t *testing.T) {
	th := newLoginThrottle(newThrottleClock().now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for range 100 {
		wg.Go(func() {
			if th.admit("ops") == 0 {
				mu.Lock()
				admitted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if admitted != loginFreeFailures {
		t.Fatalf("%d of 100 parallel guesses admitted", admitted)
	}
}

func TestLoginThrottleNilAdmitsAll(t *testing.T) {
	var th *loginThrottle
	for range 2 * loginFreeFailures {
		if wait := th.admit("ops"); wait != 0 {
			t.Fatalf("nil throttle waits %s", wait)
		}
	}
	th.succeeded("ops")
}

// BenchmarkLoginThrottleFull measures a new name's failure on a full table
// and reports the heap each tracked name costs.
func BenchmarkLoginThrottleFull(b *testing.B) {
	b.ReportAllocs()
	clock := newThrottleClock()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	th := newLoginThrottle(clock.now)
	for i := range loginMaxNames {
		th.admit("user-" + strconv.Itoa(i))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perName := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / loginMaxNames
	names := make([]string, 1024)
	for i := range names {
		names[i] = "flood-" + strconv.Itoa(i)
	}
	b.ResetTimer()
	for i := range b.N {
		th.admit(names[i%len(names)])
	}
	b.ReportMetric(perName, "B/name") // after ResetTimer, which clears metrics
	runtime.KeepAlive(th)
}
