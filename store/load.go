package store

import (
	"errors"
	"fmt"

	"atroz/migrations"

	bolt "go.etcd.io/bbolt"
)

// load brings the schema up to date, then rebuilds the in-memory state:
// the series, where each series' flushed data ends, and
// the heads from the WAL.
func (db *DB) load() error {
	if _, err := migrations.Upgrade(db.bolt); err != nil {
		if errors.Is(err, migrations.ErrNoVersion) {
			return fmt.Errorf("%w: %w", ErrNotStore, err)
		}
		return err
	}
	return db.view(func(tx *bolt.Tx) error {
		if err := db.loadSeries(tx); err != nil {
			return err
		}
		db.loadPersisted(tx)
		db.loadOutbox(tx)
		if err := db.loadHeads(tx); err != nil {
			return err
		}
		return db.replayWAL(tx)
	})
}

func (db *DB) loadSeries(tx *bolt.Tx) error {
	return tx.Bucket(bSeries).ForEach(func(k, v []byte) error {
		id, err := parseSeriesKey(k)
		if err != nil {
			return err
		}
		ls, err := decodeLabels(v)
		if err != nil {
			return fmt.Errorf("series %d: %w", id, err)
		}
		s := newMemSeries(id, ls, ls.hash())
		s.written = true
		db.idx.load(s)
		return nil
	})
}

// loadPersisted finds each series' newest flushed sample from its last
// chunk. It is the series' last sample too, unless the heads or the WAL
// hold newer: an append must come after it, or the sample would hide
// behind the chunk and, once its own chunk closed, overwrite one with the
// same start.
func (db *DB) loadPersisted(tx *bolt.Tx) {
	c := tx.Bucket(bChunks).Cursor()
	for _, s := range db.idx.appendAll(nil) {
		k, _ := c.Seek(chunkKey(s.id+1, minInt64))
		k, v := before(c, k)
		id, start, err := parseChunkKey(k)
		if err != nil || id != s.id {
			continue
		}
		maxT, payload, err := parseBlockValue(start, v)
		if err != nil {
			continue
		}
		s.persistedMaxT = maxT
		if last, err := lastRawSample(payload, maxT); err == nil && last.T == maxT {
			s.lastT, s.lastV = last.T, last.V
		}
	}
}

// loadHeads restores the open chunks the last checkpoint wrote, unless a
// chunk written since holds them already.
func (db *DB) loadHeads(tx *bolt.Tx) error {
	now := db.opts.Now().UnixMilli()
	return tx.Bucket(bHeads).ForEach(func(k, v []byte) error {
		id, err := parseSeriesKey(k)
		if err != nil {
			return err
		}
		s := db.idx.byID(id)
		if s == nil {
			return fmt.Errorf("%w: checkpoint of series %d, which does not exist", ErrCorrupt, id)
		}
		s.headSaved = true // even if stale: the next flush that checkpoints it, or writes its chunk, deletes it
		n, err := s.restoreHead(v, now)
		if err != nil {
			return fmt.Errorf("checkpoint of series %d: %w", id, err)
		}
		db.stats.headSamples.Add(int64(n))
		return nil
	})
}

// replayWAL appends the records' samples that no chunk holds yet to the heads.
func (db *DB) replayWAL(tx *bolt.Tx) error {
	db.walSeq = 1
	now := db.opts.Now().UnixMilli()
	return eachWALRecord(tx.Bucket(bWAL), func(seq uint64, rec []byte) error {
		db.walSeq = seq + 1
		db.stats.walBytes.Add(int64(len(rec)))
		err := decodeWALRecord(rec, func(e walEntry) error { return db.replayEntry(seq, e, now) })
		if err != nil {
			return fmt.Errorf("wal record %d: %w", seq, err)
		}
		return nil
	})
}

func (db *DB) replayEntry(seq uint64, e walEntry, now int64) error {
	s := db.idx.byID(e.id)
	if s == nil {
		return fmt.Errorf("%w: wal names series %d, which does not exist", ErrCorrupt, e.id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, smp := range e.samples {
		if smp.T <= s.persistedMaxT || smp.T <= s.lastT {
			continue
		}
		_ = s.append(smp.T, smp.V, now) // cannot fail: t is newer than the last sample
		db.stats.headSamples.Add(1)
	}
	if s.headN > 0 && s.walSeq == 0 {
		s.walSeq = seq
	}
	s.pending, s.cutPending = s.pending[:0], nil // replayed samples were forwarded before
	return nil
}
