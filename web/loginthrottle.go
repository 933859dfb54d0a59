package web

import (
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/gin-gonic/gin"
)

// Bounds of the per-account login throttle (ASVS 2.2.1).
const (
	// loginFreeFailures is the failed logins a name may have before each
	// further attempt waits: enough for a user who mistypes a few times.
	loginFreeFailures = 5
	// loginBaseDelay is the first wait, doubled by each further failure up
	// to loginMaxDelay.
	loginBaseDelay = time.Second
	// loginMaxDelay caps the wait. It is what keeps an attacker from
	// locking the real user out for long: whatever was guessed before, the
	// user waits at most a minute. It also keeps guessing within ASVS
	// 2.2.1's 100 failures an hour per account: 5 free, 6 more within the
	// first 63 s, then one a minute, 70 in the first hour and 60 in each
	// after; 30 s would allow 120.
	loginMaxDelay = time.Minute
	// loginQuiet is how long after its last attempt a name's count is
	// forgotten.
	loginQuiet = 15 * time.Minute
	// loginMaxNames bounds the names tracked. Each is a map slot of a 64-bit
	// hash and its count, 44 bytes (BenchmarkLoginThrottleFull), so 440 KB
	// in all, whatever names are sent.
	loginMaxNames = 10_000
	// loginEvictSample is how many tracked names a full table looks at to
	// find one to drop for a new name.
	loginEvictSample = 8
)

// errLoginThrottled is returned by authenticate for a login refused because
// its user name must wait after its failed logins; the 429 is written by
// then.
var errLoginThrottled = errors.New("login throttled: too many failed logins for this account")

// loginThrottle counts the failed logins of each user name, from whatever
// address, and makes each attempt past loginFreeFailures wait a delay
// doubling from loginBaseDelay to loginMaxDelay after the last. An attempt
// inside the wait is refused without its password being checked, and is
// not counted, so it neither tests a guess nor lengthens the wait. Unknown
// names are counted like known ones, so a refusal does not tell which
// accounts exist.
//
// An attempt is counted as a failure when it is admitted, before its
// password is checked, and a success clears the name: so a burst of
// parallel guesses admits no more than the count allows.
//
// Names are kept as keyed 64-bit hashes, so each costs the same whatever
// its length; the key is random per process, so an attacker cannot choose
// names that share a count. At most maxNames are tracked. A new name that
// finds them full first drops the names quiet for loginQuiet (at most once
// a second), then the name with the fewest failures among loginEvictSample
// of them, if that one is still within its free failures. A flood of
// random names thus evicts its own names, never a throttled account's
// count: to push one out, every tracked name must be throttled. When they
// all are, the names without a count of their own share one overflow
// count, throttled as one account, so guessing at untracked names stays as
// slow as at one account; no success clears it, since anyone may succeed
// at their own account. That needs 50,000 failures kept up every
// quarter hour, and while it lasts a user without a count of their own may
// be told to wait, at most loginMaxDelay.
//
// The counts are per process; with several replicas each counts the
// attempts it serves. A nil *loginThrottle admits every attempt.
type loginThrottle struct {
	free          uint32
	base, maxWait time.Duration
	quiet         time.Duration
	maxNames      int
	now           func() time.Time
	seed          maphash.Seed

	mu        sync.Mutex
	names     map[uint64]loginCount
	overflow  loginCount
	lastSweep int64 // Unix nanoseconds

	refused    atomic.Uint64 // attempts answered 429
	overflowed atomic.Uint64 // attempts counted on the overflow count
}

// loginCount is one name's failed logins and when the last was admitted,
// in Unix nanoseconds.
type loginCount struct {
	failures uint32
	last     int64
}

// newLoginThrottle returns a throttle with the package's bounds, on the
// clock now.
func newLoginThrottle(now func() time.Time) *loginThrottle {
	return &loginThrottle{
		free: loginFreeFailures, base: loginBaseDelay, maxWait: loginMaxDelay, quiet: loginQuiet,
		maxNames: loginMaxNames, now: now, seed: maphash.MakeSeed(), names: map[uint64]loginCount{},
	}
}

// admit reports how long name's login attempt must wait; zero admits it,
// counting it as a failure until succeeded clears the name.
func (t *loginThrottle) admit(name string) time.Duration {
	if t == nil {
		return 0
	}
	key := maphash.String(t.seed, name)
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now().UnixNano()
	c, tracked := t.names[key]
	shared := !tracked && !t.room(now)
	if shared {
		c = t.overflow
	}
	if c.last != 0 && now-c.last >= int64(t.quiet) {
		c = loginCount{}
	}
	if wait := t.wait(c, now); wait > 0 {
		t.refused.Add(1)
		return wait
	}
	c.failures++
	c.last = now
	if shared {
		t.overflow = c
		t.overflowed.Add(1)
	} else {
		t.names[key] = c
	}
	return 0
}

// wait is how long after now c's next attempt must wait.
func (t *loginThrottle) wait(c loginCount, now int64) time.Duration {
	if c.failures < t.free {
		return 0
	}
	delay := t.maxWait
	if shift := c.failures - t.free; shift < 32 {
		delay = min(t.base<<shift, t.maxWait)
	}
	return max(0, time.Duration(c.last+int64(delay)-now))
}

// room reports whether the table has room for one more name, making it
// if it is full.
func (t *loginThrottle) room(now int64) bool {
	if len(t.names) < t.maxNames {
		return true
	}
	t.sweep(now)
	return len(t.names) < t.maxNames || t.evict()
}

// sweep drops the counts quiet for t.quiet, at most once a second so that a
// flood of new names does not scan the table each time.
func (t *loginThrottle) sweep(now int64) {
	if now-t.lastSweep < int64(time.Second) {
		return
	}
	t.lastSweep = now
	for k, c := range t.names {
		if now-c.last >= int64(t.quiet) {
			delete(t.names, k)
		}
	}
}

// evict drops the name with the fewest failures of loginEvictSample
// tracked names (map order is random), if it is within its free failures,
// and reports whether it dropped one.
func (t *loginThrottle) evict() bool {
	var victim uint64
	fewest, seen := t.free, 0
	for k, c := range t.names {
		if c.failures < fewest {
			victim, fewest = k, c.failures
		}
		if seen++; seen == loginEvictSample {
			break
		}
	}
	if fewest == t.free {
		return false
	}
	delete(t.names, victim)
	return true
}

// succeeded clears name's count after a successful login. The overflow
// count is left as it is.
func (t *loginThrottle) succeeded(name string) {
	if t == nil {
		return
	}
	key := maphash.String(t.seed, name)
	t.mu.Lock()
	delete(t.names, key)
	t.mu.Unlock()
}

// tracked is the number of names with a count of their own.
func (t *loginThrottle) tracked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.names)
}

// WriteMetrics writes login_throttled_total (attempts refused for their
// account's failures), login_throttle_overflow_total (attempts counted on
// the shared overflow count) and login_throttle_names (names tracked) in
// the Prometheus text format.
func (t *loginThrottle) WriteMetrics(w io.Writer) {
	metrics.WriteCounterUint64(w, "login_throttled_total", t.refused.Load())
	metrics.WriteCounterUint64(w, "login_throttle_overflow_total", t.overflowed.Load())
	metrics.WriteGaugeUint64(w, "login_throttle_names", uint64(t.tracked())) // #nosec G115 -- a map length is never negative
}

// refuseThrottled answers 429 with Retry-After to a login that must wait,
// and drops what is written after it: gin-jwt's LoginHandler answers
// every error of the authenticator 401, which would otherwise follow it.
func refuseThrottled(c *gin.Context, wait time.Duration) {
	secs := strconv.FormatInt(int64((wait+time.Second-1)/time.Second), 10)
	c.Header("Retry-After", secs)
	abortWithError(c, http.StatusTooManyRequests, ErrorRateLimited,
		fmt.Errorf("too many failed logins for this account; retry in %s s", secs))
	c.Writer = answeredWriter{c.Writer}
}

// answeredWriter is a response already written: later writes are dropped.
type answeredWriter struct{ gin.ResponseWriter }

// WriteHeader drops the status.
func (answeredWriter) WriteHeader(int) {}

// WriteHeaderNow does nothing: the header was written.
func (answeredWriter) WriteHeaderNow() {}

// Write drops b.
func (answeredWriter) Write(b []byte) (int, error) { return len(b), nil }

// WriteString drops s.
func (answeredWriter) WriteString(s string) (int, error) { return len(s), nil }
