package store

import (
	"fmt"
	"slices"

	"github.com/prometheus/prometheus/model/labels"
	bolt "go.etcd.io/bbolt"
)

// DeleteSeries removes every series the matchers select, with all their
// samples in every tier, and returns how many it removed. It checkpoints
// first, so no WAL record names a removed series. It is for erasure
// requests (atroz db purge); appends racing with it create new series.
func (db *DB) DeleteSeries(ms ...*labels.Matcher) (int, error) {
	if len(ms) == 0 {
		return 0, fmt.Errorf("delete series: at least one matcher is required")
	}
	db.appendMu.RLock() // AppendAll never sees a series half removed
	victims := db.idx.match(ms)
	for _, s := range victims {
		s.mu.Lock()
		s.removed = true
		s.mu.Unlock()
		db.idx.remove(s)
	}
	db.appendMu.RUnlock()
	if err := db.checkpointAll(); err != nil {
		return 0, fmt.Errorf("delete series: %w", err)
	}
	// One transaction, and so one fsync, per batch of series, not per series.
	for batch := range slices.Chunk(victims, purgeBatch) {
		err := db.update(func(tx *bolt.Tx) error {
			for _, s := range batch {
				if err := deleteSeriesData(tx, s.id); err != nil {
					return fmt.Errorf("%s: %w", s.lset, err)
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("delete series: %w", err)
		}
	}
	return len(victims), nil
}

// purgeBatch is how many series DeleteSeries removes in one transaction.
const purgeBatch = 256

// deleteSeriesData removes a series' blocks from every tier and its records.
func deleteSeriesData(tx *bolt.Tx, id uint64) error {
	for _, bucket := range [][]byte{bChunks, bRollup1m, bRollup1h} {
		c := tx.Bucket(bucket).Cursor()
		for k, _ := c.Seek(chunkKey(id, minInt64)); k != nil && ownedBy(k, id); k, _ = c.Seek(chunkKey(id, minInt64)) {
			if err := c.Delete(); err != nil {
				return err
			}
		}
	}
	return deleteSeriesRecords(tx, id)
}

// deleteSeriesRecords removes a series' labels, rollup state and
// checkpointed head.
func deleteSeriesRecords(tx *bolt.Tx, id uint64) error {
	for _, bucket := range [][]byte{bSeries, bRollupHead, bHeads} {
		if err := tx.Bucket(bucket).Delete(seriesKey(id)); err != nil {
			return err
		}
	}
	return nil
}
