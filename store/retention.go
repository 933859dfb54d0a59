package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// tierBucket pairs a tier's bucket with its retention.
type tierBucket struct {
	tier   Tier
	bucket []byte
	keepMs int64
}

func (db *DB) tierBuckets() []tierBucket {
	return []tierBucket{
		{TierRaw, bChunks, db.opts.RawRetention.Milliseconds()},
		{TierMinute, bRollup1m, db.opts.MinuteRetention.Milliseconds()},
		{TierHour, bRollup1h, db.opts.HourRetention.Milliseconds()},
	}
}

// Prune deletes every block (raw chunk or rollup block) whose newest sample
// is older than its tier's retention, then forgets series with no data left
// in any tier. It works in transactions of at most Options.PruneBatch
// deletions, so flushes interleave with it. It returns the blocks deleted.
func (db *DB) Prune() (int, error) {
	now := db.opts.Now().UnixMilli()
	list := db.idx.appendAll(nil)
	total := 0
	for _, tb := range db.tierBuckets() {
		n, err := db.pruneTier(list, tb.bucket, now-tb.keepMs)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", tb.tier, err)
		}
	}
	db.stats.pruned.Add(uint64(total))
	// Alert history is kept as long as the longest tier, within DATA_RETENTION_DAYS.
	for {
		n, err := db.pruneAlertEvents(now - db.longestRetention())
		if err != nil {
			return total, fmt.Errorf("prune alert history: %w", err)
		}
		if n < db.opts.PruneBatch {
			break
		}
	}
	return total, db.forgetExpired(list, now-db.longestRetention())
}

// pruneTier deletes expired blocks of every series, one bounded transaction at a time.
func (db *DB) pruneTier(list []*memSeries, bucket []byte, cutoff int64) (int, error) {
	total := 0
	for len(list) > 0 {
		var n int
		err := db.update(func(tx *bolt.Tx) error {
			var err error
			n, list, err = pruneSome(tx.Bucket(bucket), list, cutoff, db.opts.PruneBatch)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// pruneSome deletes expired blocks of the listed series until limit
// deletions, and returns the series it did not reach.
func pruneSome(b *bolt.Bucket, list []*memSeries, cutoff int64, limit int) (int, []*memSeries, error) {
	n := 0
	for len(list) > 0 && n < limit {
		c := b.Cursor()
		id := list[0].id
		for k, v := c.Seek(chunkKey(id, minInt64)); k != nil && n < limit; k, v = c.Seek(chunkKey(id, minInt64)) {
			kid, start, err := parseChunkKey(k)
			if err != nil || kid != id {
				break
			}
			maxT, _, err := parseBlockValue(start, v)
			if err != nil || maxT >= cutoff {
				break
			}
			if err := c.Delete(); err != nil {
				return n, list, err
			}
			n++
		}
		if n < limit {
			list = list[1:]
		}
	}
	return n, list, nil
}

func (db *DB) longestRetention() int64 {
	return max(db.opts.RawRetention, db.opts.MinuteRetention, db.opts.HourRetention).Milliseconds()
}

// forgetExpired removes series whose newest flushed sample is older than
// every tier's retention, whose head is empty and which have nothing left
// in the rollup tiers (a backfilled past may be all they hold). An append
// racing with the removal sees s.removed and creates the series anew. It
// holds flushMu, so no flush or import writes to a series it removes.
func (db *DB) forgetExpired(list []*memSeries, cutoff int64) error {
	db.flushMu.Lock()
	defer db.flushMu.Unlock()
	db.appendMu.RLock() // AppendAll never sees a series half removed
	var dead []*memSeries
	for _, s := range list {
		s.mu.Lock()
		if s.written && s.headN == 0 && len(s.closed) == 0 && s.walSeq == 0 && s.persistedMaxT < cutoff {
			dead = append(dead, s)
		}
		s.mu.Unlock()
	}
	dead, err := db.withoutRollups(dead, cutoff)
	if err != nil {
		dead = nil
	}
	for _, s := range dead {
		s.mu.Lock()
		s.removed = true
		s.mu.Unlock()
		db.idx.remove(s)
	}
	db.appendMu.RUnlock()
	if len(dead) == 0 || err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		for _, s := range dead {
			if err := deleteSeriesRecords(tx, s.id); err != nil {
				return err
			}
		}
		return nil
	})
}

// withoutRollups returns the series of list that hold no rollup block (the
// pruner has just deleted the expired ones) and no rollup state newer than
// cutoff.
func (db *DB) withoutRollups(list []*memSeries, cutoff int64) ([]*memSeries, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := list[:0]
	err := db.view(func(tx *bolt.Tx) error {
		for _, s := range list {
			held, err := holdsRollups(tx, s.id, cutoff)
			if err != nil {
				return err
			}
			if !held {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

func holdsRollups(tx *bolt.Tx, id uint64, cutoff int64) (bool, error) {
	for _, bucket := range [][]byte{bRollup1m, bRollup1h} {
		if k, _ := tx.Bucket(bucket).Cursor().Seek(chunkKey(id, minInt64)); k != nil && ownedBy(k, id) {
			return true, nil
		}
	}
	st, err := loadRollupState(tx.Bucket(bRollupHead), seriesKey(id))
	if err != nil {
		return false, err
	}
	return st.rawMaxT >= cutoff, nil
}

// Retention returns how long tier t keeps data.
func (db *DB) Retention(t Tier) time.Duration {
	switch t {
	case TierMinute:
		return db.opts.MinuteRetention
	case TierHour:
		return db.opts.HourRetention
	}
	return db.opts.RawRetention
}

// Oldest returns the oldest time (unix ms) tier t keeps by its retention,
// by the store's clock.
func (db *DB) Oldest(t Tier) int64 {
	return db.opts.Now().UnixMilli() - db.Retention(t).Milliseconds()
}

// Covering returns the finest tier whose retention still keeps time t (unix
// ms), or the hour tier when none does.
func (db *DB) Covering(t int64) Tier {
	for _, tier := range []Tier{TierRaw, TierMinute} {
		if t >= db.Oldest(tier) {
			return tier
		}
	}
	return TierHour
}
