package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultLeaseTTL is how long a lease outlives its holder's last renewal:
// how long the instances may go without a leader after one dies.
const DefaultLeaseTTL = 15 * time.Second

// acquireScript renews the lease KEYS[1] for its holder ARGV[1], or takes
// it when free, for ARGV[2] ms; 1 when held afterwards.
const acquireScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0`

// releaseScript deletes the lease KEYS[1] if ARGV[1] holds it.
const releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

// Lease makes one of several instances the leader of a task: it holds a
// Redis key with an expiry, renewed every third of it. Held is true only
// until the expiry counted from before the last renewal was sent, which
// is no later than Redis' own, so two instances never both hold it while
// their clocks run at the same rate. A holder that dies is replaced once
// the key expires; one that closes hands over at once.
type Lease struct {
	r        *Redis
	key, id  string
	ttl      time.Duration
	log      *slog.Logger
	acquire  *redis.Script
	deadline atomic.Int64 // unix ns until which the lease is held
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// Lease starts competing for the lease name, renewing it while held,
// until Close. The first attempt is made before it returns.
func (r *Redis) Lease(name string, ttl time.Duration, log *slog.Logger) *Lease {
	var id [12]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails on supported platforms
	l := &Lease{r: r, key: r.prefix + "lease:" + name, id: hex.EncodeToString(id[:]), ttl: ttl, log: log,
		acquire: redis.NewScript(acquireScript), stop: make(chan struct{}), done: make(chan struct{})}
	l.try()
	go l.run()
	return l
}

// Held reports whether this instance holds the lease now.
func (l *Lease) Held() bool { return time.Now().UnixNano() < l.deadline.Load() }

// run renews or takes the lease every third of its TTL until Close.
func (l *Lease) run() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.try()
		}
	}
}

// try renews or takes the lease once.
func (l *Lease) try() {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
	defer cancel()
	was := l.Held()
	n, err := l.acquire.Run(ctx, l.r.c, []string{l.key}, l.id, l.ttl.Milliseconds()).Int()
	switch {
	case err != nil:
		l.log.Warn("lease not renewed", "event_type", "lease", "lease", l.key, "error", err)
		return // held until the deadline already set, no longer
	case n == 1:
		l.deadline.Store(start.Add(l.ttl).UnixNano())
		if !was {
			l.log.Info("lease taken", "event_type", "lease", "lease", l.key)
		}
	default:
		l.deadline.Store(0)
	}
}

// Close stops competing and hands the lease over if held.
func (l *Lease) Close() error {
	var err error
	l.once.Do(func() {
		close(l.stop)
		<-l.done
		if l.deadline.Swap(0) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err = redis.NewScript(releaseScript).Run(ctx, l.r.c, []string{l.key}, l.id).Err()
	})
	return err
}
