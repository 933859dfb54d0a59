// Package state keeps the records of users and tokens (store.RecordStore)
// in Redis, so that several AtroZ instances behind one load balancer share
// them: a user added, a token revoked or a login ended on one instance is
// taken in by every other at its next read of a credential, which costs
// one GET of the kind's revision.
package state

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"atroz/store"

	"github.com/redis/go-redis/v9"
)

// DefaultPrefix starts every key of the shared records.
const DefaultPrefix = "atroz:state:"

// timeout bounds one operation: a credential waits at most this long for
// a Redis that does not answer.
const timeout = 2 * time.Second

// Redis is a store.RecordStore in Redis: each kind's records in a hash
// (PREFIX records:KIND), and its revision, which every write increments,
// in a counter (PREFIX rev:KIND).
type Redis struct {
	c      *redis.Client
	prefix string
	update *redis.Script
}

// Open connects to the Redis at rawURL (redis://[user:password@]host:port/db,
// or rediss:// for TLS) and checks that it answers.
func Open(rawURL string) (*Redis, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) { // it quotes the whole URL, password included
			err = ue.Err
		}
		return nil, fmt.Errorf("STATE_REDIS_URL: %w", err)
	}
	opt.ReadTimeout, opt.WriteTimeout = timeout, timeout
	r := &Redis{c: redis.NewClient(opt), prefix: DefaultPrefix, update: redis.NewScript(updateScript)}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := r.c.Ping(ctx).Err(); err != nil {
		_ = r.c.Close()
		return nil, fmt.Errorf("STATE_REDIS_URL: redis at %s: %w", opt.Addr, err)
	}
	return r, nil
}

// Close releases the connections.
func (r *Redis) Close() error { return r.c.Close() }

func (r *Redis) records(kind store.RecordKind) string { return r.prefix + "records:" + kind.String() }
func (r *Redis) rev(kind store.RecordKind) string     { return r.prefix + "rev:" + kind.String() }

// Revision returns the kind's revision, 0 before its first write.
func (r *Redis) Revision(kind store.RecordKind) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	v, err := r.c.Get(ctx, r.rev(kind)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

// Records calls fn with every record of kind, in key order, until fn returns false.
func (r *Redis) Records(kind store.RecordKind, fn func(key string, value []byte) bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	all, err := r.c.HGetAll(ctx, r.records(kind)).Result()
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn(k, []byte(all[k])) {
			return nil
		}
	}
	return nil
}

// WriteRecordsAt stores put and removes del in one MULTI if the kind's
// revision is still rev (WATCHed), and returns the revision it made.
func (r *Redis) WriteRecordsAt(kind store.RecordKind, rev uint64, put map[string][]byte, del []string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var next *redis.IntCmd
	err := r.c.Watch(ctx, func(tx *redis.Tx) error {
		cur, err := tx.Get(ctx, r.rev(kind)).Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		if cur != rev {
			return store.ErrRecordConflict
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			if len(put) > 0 {
				kv := make([]any, 0, 2*len(put))
				for k, v := range put {
					kv = append(kv, k, v)
				}
				p.HSet(ctx, r.records(kind), kv...)
			}
			if len(del) > 0 {
				p.HDel(ctx, r.records(kind), del...)
			}
			next = p.Incr(ctx, r.rev(kind))
			return nil
		})
		return err
	}, r.rev(kind))
	if errors.Is(err, redis.TxFailedErr) {
		return 0, store.ErrRecordConflict
	}
	if err != nil {
		return 0, err
	}
	return uint64(next.Val()), nil // #nosec G115 -- INCR of a counter that starts at 0
}

// updateScript sets each field of ARGV (name, value pairs) that the hash
// KEYS[1] holds, and no other.
const updateScript = `
for i = 1, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[1], ARGV[i]) == 1 then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1])
  end
end
return 0`

// UpdateRecords replaces the records of put that exist, atomically,
// leaving the revision as it is.
func (r *Redis) UpdateRecords(kind store.RecordKind, put map[string][]byte) error {
	if len(put) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := make([]any, 0, 2*len(put))
	for k, v := range put {
		args = append(args, k, v)
	}
	return r.update.Run(ctx, r.c, []string{r.records(kind)}, args...).Err()
}

// Seed copies the records of kinds from src into Redis when Redis has
// never held any of them, so that the first instance pointed at an empty
// Redis brings its users and tokens along; it returns how many it copied.
// Two instances starting together copy once: the first to claim the
// marker key copies.
func (r *Redis) Seed(src store.RecordStore, kinds ...store.RecordKind) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	claimed, err := r.c.SetNX(ctx, r.prefix+"seeded", strconv.FormatInt(time.Now().Unix(), 10), 0).Result()
	if err != nil || !claimed {
		return 0, err
	}
	n, err := r.seed(src, kinds)
	if err != nil { // the next instance to start tries again
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_ = r.c.Del(ctx, r.prefix+"seeded").Err()
	}
	return n, err
}

// seed copies the records of kinds from src.
func (r *Redis) seed(src store.RecordStore, kinds []store.RecordKind) (int, error) {
	n := 0
	for _, kind := range kinds {
		put := map[string][]byte{}
		if err := src.Records(kind, func(k string, v []byte) bool { put[k] = append([]byte(nil), v...); return true }); err != nil {
			return n, err
		}
		if len(put) == 0 {
			continue
		}
		rev, err := r.Revision(kind)
		if err != nil {
			return n, err
		}
		if _, err := r.WriteRecordsAt(kind, rev, put, nil); err != nil {
			return n, fmt.Errorf("seed %s: %w", kind, err)
		}
		n += len(put)
	}
	return n, nil
}
